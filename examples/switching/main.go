// Command switching walks through the customer-user lifecycle on a backend
// chosen by flag: the in-memory backend by default (no server needed), or SQL
// (MySQL/MariaDB) or LDAP when their flags are given.
//
//	go run ./examples/switching                      # memory
//	go run ./examples/switching -backend sql -dsn 'user:pw@tcp(127.0.0.1:3306)/otrs?parseTime=true'
//	go run ./examples/switching -backend ldap -h     # the LDAP flags
//
// It adds one company (ACME) with two customer users, searches, authenticates,
// sets one user invalid-temporarily and shows that the login is then refused
// while the user is still found for ticket history.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

// opener builds the backend the walk-through uses and a function that
// releases it.
type opener func(ctx context.Context) (backend.CustomerUserBackend, func(), error)

// hasher hashes the memory backend's passwords: the library's default
// (bcrypt, cost 12); the example's test lowers the cost.
var hasher password.Hasher

// openers holds one opener per -backend value; sql.go and ldap.go add theirs.
var openers = map[string]opener{
	"memory": func(context.Context) (backend.CustomerUserBackend, func(), error) {
		// New copies the Hasher; nil would mean the same default.
		b, err := memorybackend.New(memorybackend.Config{Name: "memory", Hasher: &hasher})
		return b, func() {}, err
	},
}

func main() {
	names := make([]string, 0, len(openers))
	for n := range openers {
		names = append(names, n)
	}
	sort.Strings(names)
	which := flag.String("backend", "memory", "the backend to use: "+strings.Join(names, ", "))
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *which); err != nil {
		fmt.Fprintln(os.Stderr, "switching:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, which string) error {
	open, ok := openers[which]
	if !ok {
		return fmt.Errorf("unknown -backend %q", which)
	}
	b, closeFn, err := open(ctx)
	if err != nil {
		return fmt.Errorf("open %s backend: %w", which, err)
	}
	defer closeFn()
	fmt.Fprintf(w, "Backend %q (%s), read-only: %v\n\n", b.Name(), which, b.ReadOnly())

	fmt.Fprintln(w, "1. Add one company, ACME, with two customer users")
	for _, nu := range []struct {
		u  backend.CustomerUser
		pw string
	}{
		{backend.CustomerUser{Login: "hhuber", FirstName: "Hans", LastName: "Huber", Email: "hans.huber@acme.example.org",
			CustomerID: "ACME", City: "München"}, "correct horse battery"},
		{backend.CustomerUser{Login: "mmeier", FirstName: "Maria", LastName: "Meier", Email: "maria.meier@acme.example.org",
			CustomerID: "ACME", CustomerIDs: []string{"ACME-EU"}}, "staple-42"},
	} {
		added, err := b.Add(ctx, nu.u, nu.pw)
		switch {
		case errors.Is(err, backend.ErrDuplicateLogin):
			fmt.Fprintf(w, "   %s exists already (a second run against the same store); using it\n", nu.u.Login)
			if err := b.SetPassword(ctx, nu.u.Login, nu.pw); err != nil {
				return err
			}
			if _, err := b.Update(ctx, nu.u.Login, nu.u); err != nil {
				return err
			}
		case errors.Is(err, backend.ErrReadOnly):
			return fmt.Errorf("this walk-through adds users, but the %s backend is read-only: %w", which, err)
		case err != nil:
			return err
		default:
			fmt.Fprintf(w, "   added %-8s %-12s customer IDs %v\n", added.Login, added.FullName(), added.AllCustomerIDs())
		}
	}

	fmt.Fprintln(w, "\n2. Search")
	for _, q := range []backend.Query{{Search: "hans huber"}, {Search: "acme !hans"}, {CustomerID: "acme"}, {Email: "MARIA.MEIER@acme.example.org"}} {
		users, err := b.Search(ctx, q)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "   %-45s -> %s\n", describe(q), loginsOf(users))
	}

	fmt.Fprintln(w, "\n3. Authenticate")
	if u, err := b.Authenticate(ctx, "HHuber", "correct horse battery"); err == nil {
		fmt.Fprintf(w, "   HHuber with the right password: welcome, %s (source %s)\n", u.FullName(), u.Source)
	} else {
		return err
	}
	_, err = b.Authenticate(ctx, "hhuber", "wrong")
	fmt.Fprintf(w, "   hhuber with a wrong password:   %v\n", err)
	_, err = b.Authenticate(ctx, "nobody", "wrong")
	fmt.Fprintf(w, "   an unknown login:               %v\n", err)

	fmt.Fprintln(w, "\n4. Set hhuber invalid-temporarily (customer users are never deleted)")
	u, err := b.Get(ctx, "hhuber")
	if err != nil {
		return err
	}
	u.Valid = backend.InvalidTemporarily
	// u.ChangedAt, from the Get, makes this an optimistic update: it fails
	// with ErrConflict if someone changed hhuber since.
	if u, err = b.Update(ctx, "hhuber", u); err != nil {
		return err
	}
	_, err = b.Authenticate(ctx, "hhuber", "correct horse battery")
	fmt.Fprintf(w, "   login with the right password is refused: %v (ErrAccountInvalid: %v)\n", err, errors.Is(err, backend.ErrAccountInvalid))
	got, err := b.Get(ctx, "hhuber")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   still found for ticket history: %s, %s, state %s\n", got.Login, got.FullName(), got.Valid)
	for _, q := range []backend.Query{{CustomerID: "ACME"}, {CustomerID: "ACME", IncludeInvalid: true}} {
		users, err := b.Search(ctx, q)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "   %-45s -> %s\n", describe(q), loginsOf(users))
	}

	// Leave the store as a second run expects it (u is what the last Update
	// returned, so its ChangedAt is current).
	u.Valid = backend.Valid
	if _, err := b.Update(ctx, "hhuber", u); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDone: hhuber set valid again.")
	return nil
}

func describe(q backend.Query) string {
	var parts []string
	if q.Search != "" {
		parts = append(parts, fmt.Sprintf("Search=%q", q.Search))
	}
	if q.CustomerID != "" {
		parts = append(parts, fmt.Sprintf("CustomerID=%q", q.CustomerID))
	}
	if q.Email != "" {
		parts = append(parts, fmt.Sprintf("Email=%q", q.Email))
	}
	if q.IncludeInvalid {
		parts = append(parts, "IncludeInvalid")
	}
	return strings.Join(parts, " ")
}

func loginsOf(users []backend.CustomerUser) string {
	if len(users) == 0 {
		return "(none)"
	}
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login + " [" + u.Valid.String() + "]"
	}
	return strings.Join(out, ", ")
}
