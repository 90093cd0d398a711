// Command combined walks through policy.Directory over two backends: a
// read-only one standing for the company LDAP and a writable one for local
// customers. It shows a merged search, a duplicate refused across backends,
// deletion refused, lockout after three wrong passwords, a password reset
// and a degraded search while one backend is down. It needs no server:
//
//	go run ./examples/combined
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/hashicorp/go-multierror"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
)

// hasher is the bcrypt setting of the walk-through (tests lower the cost).
var hasher = password.Hasher{}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "combined:", err)
		os.Exit(1)
	}
}

// switchable is a backend that can be taken down, standing for a directory
// server that stops answering.
type switchable struct {
	backend.CustomerUserBackend
	down atomic.Bool
}

func (s *switchable) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	if s.down.Load() {
		return nil, backend.OpError(s.Name(), "search", backend.ErrUnavailable)
	}
	return s.CustomerUserBackend.Search(ctx, q)
}

func (s *switchable) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	if s.down.Load() {
		return backend.CustomerUser{}, backend.OpError(s.Name(), "get", backend.ErrUnavailable)
	}
	return s.CustomerUserBackend.Get(ctx, login)
}

func customer(login, first, last, email, company string) backend.CustomerUser {
	return backend.CustomerUser{Login: login, FirstName: first, LastName: last, Email: email, CustomerID: company}
}

func run(ctx context.Context, out io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	h := hasher
	company, err := memorybackend.New(memorybackend.Config{Name: "company-ldap", ReadOnly: true, Hasher: &h,
		Users: []memorybackend.User{
			{CustomerUser: customer("hhuber", "Hans", "Huber", "hans.huber@acme.example.org", "ACME"), Password: "Huber-Secret-1"},
			{CustomerUser: customer("mmeier", "Maria", "Meier", "maria.meier@acme.example.org", "ACME"), Password: "Meier-Secret-1"},
		}})
	if err != nil {
		return err
	}
	local, err := memorybackend.New(memorybackend.Config{Name: "local", Hasher: &h})
	if err != nil {
		return err
	}
	ldap := &switchable{CustomerUserBackend: company}
	dir, err := policy.NewDirectory(policy.Config{
		Backends:        []backend.CustomerUserBackend{ldap, local},
		MaxFailedLogins: 3,
		PasswordPolicy:  policy.PasswordPolicy{MinLength: 10, MinLower: 2, MinUpper: 2, RequireDigit: true},
		Hasher:          &h,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observer: policy.ObserverFunc(func(_ context.Context, e policy.Event) {
			say("  event: %s %s (%s)", e.Type, e.Login, e.Backend)
		}),
	})
	if err != nil {
		return err
	}

	say("1. A local customer is added to the first writable backend:")
	if _, err := dir.Add(ctx, customer("jdoe", "Jane", "Doe", "jane@doe.example.com", "DOE"), "Jane-Doe-pw-1"); err != nil {
		return err
	}
	say("2. Search merges both backends, in login order:")
	users, err := dir.Search(ctx, backend.Query{})
	if err != nil {
		return err
	}
	for _, u := range users {
		say("  %-8s %-14s from %s", u.Login, u.FullName(), u.Source)
	}

	say("3. A duplicate is refused across backends:")
	_, err = dir.Add(ctx, customer("HHuber", "Another", "Hans", "other@example.com", "X"), "Another-Pw-12")
	say("  add HHuber: %v (duplicate login: %t)", err, errors.Is(err, backend.ErrDuplicateLogin))
	_, err = dir.Add(ctx, customer("maria2", "Maria", "Zwei", "MARIA.MEIER@acme.example.org", "X"), "Another-Pw-12")
	say("  add maria2 with Maria's address: duplicate email: %t", errors.Is(err, backend.ErrDuplicateEmail))

	say("4. Deletion is refused; deactivation is the way:")
	err = dir.Delete(ctx, "jdoe")
	say("  delete jdoe: deletion forbidden: %t", errors.Is(err, backend.ErrDeletionForbidden))

	say("5. Three wrong passwords lock jdoe out:")
	for i := 1; i <= 3; i++ {
		_, err := dir.Authenticate(ctx, "jdoe", "guess")
		say("  wrong password %d: %v", i, err)
	}
	_, err = dir.Authenticate(ctx, "jdoe", "Jane-Doe-pw-1")
	var locked *backend.AccountInvalidError
	if errors.As(err, &locked) {
		say("  right password now: account %s", locked.State)
	}

	say("6. A password reset (the token would be mailed):")
	if err := dir.SetValid(ctx, "jdoe", backend.Valid); err != nil { // an admin unlocks first
		return err
	}
	token, err := dir.RequestPasswordReset(ctx, "jdoe")
	if err != nil {
		return err
	}
	err = dir.ResetPassword(ctx, token, "weak")
	say("  reset to \"weak\": %v", err)
	if err := dir.ResetPassword(ctx, token, "Brand-New-pw-2"); err != nil {
		return err
	}
	_, err = dir.Authenticate(ctx, "jdoe", "Brand-New-pw-2")
	say("  login with the new password: %v", errOK(err))
	say("  the token again: %v", dir.ResetPassword(ctx, token, "Other-New-pw-3"))

	say("7. The company directory goes down:")
	ldap.down.Store(true)
	users, err = dir.Search(ctx, backend.Query{})
	var merr *multierror.Error
	if errors.As(err, &merr) {
		say("  WARNING: results are incomplete: %v", merr)
	}
	for _, u := range users {
		say("  %-8s from %s", u.Login, u.Source)
	}
	_, err = dir.Authenticate(ctx, "hhuber", "Huber-Secret-1")
	say("  hhuber logs in: %v (unavailable: %t)", err, errors.Is(err, backend.ErrUnavailable))
	return nil
}

func errOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
