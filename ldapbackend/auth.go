package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// blankPassword reports whether password is empty or white space only. Such
// a password is never sent: a simple bind with a DN and an empty password is
// an unauthenticated bind (RFC 4513 5.1.2) that some servers accept as
// anonymous, which must never count as a login.
func blankPassword(password string) bool { return strings.TrimSpace(password) == "" }

// Authenticate looks the user up on a service connection, then binds as the
// user's DN on a separate, fresh connection that is closed afterwards (never
// a pooled one). Every refusal gives ErrInvalidCredentials and takes as long
// as a wrong password: the backend measures its wrong-password binds (a
// backend.RefusalTimer) and pads every other refusal (an unknown or
// malformed login, an empty, white-space-only, NUL-holding or over-long
// password) to their median (see pad). Such passwords are never sent. A user who is not Valid gets a
// *backend.AccountInvalidError carrying the state (errors.Is
// backend.ErrAccountInvalid), only after the password was right. The
// context is honoured throughout, the padding included: a deadline that
// passes ends the call with an error wrapping ctx.Err().
func (b *Backend) Authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	u, err := b.authenticate(ctx, login, password)
	if err != nil {
		return backend.CustomerUser{}, b.opErr("authenticate", err)
	}
	return u, nil
}

func (b *Backend) authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	start := time.Now()
	// refuse answers a refusal that compared no password: it waits until
	// the call has taken as long as a wrong password.
	refuse := func() (backend.CustomerUser, error) {
		if err := b.pad(ctx, start); err != nil {
			return backend.CustomerUser{}, fmt.Errorf("%w (while refusing the login)", err)
		}
		return backend.CustomerUser{}, backend.ErrInvalidCredentials
	}
	// Refused before any network call that would carry the password.
	if blankPassword(password) || !backend.CheckLoginPassword(password) || !utf8.ValidString(password) {
		return refuse()
	}
	if _, err := backend.NormalizeLogin(login); err != nil {
		return refuse()
	}
	u, dn, err := b.lookupLogin(ctx, login)
	switch {
	case errors.Is(err, backend.ErrNotFound), errors.Is(err, errAmbiguous):
		return refuse()
	case err != nil:
		return backend.CustomerUser{}, err
	}
	if err := b.userBind(ctx, dn, password); err != nil {
		var rb *refusedBind
		if errors.As(err, &rb) {
			err = adBindRefusal(rb.diagnostic, u.Valid)
		}
		if err == backend.ErrInvalidCredentials {
			b.timer.Observe(time.Since(start))
		}
		return backend.CustomerUser{}, err
	}
	if u.Valid != backend.Valid {
		return backend.CustomerUser{}, &backend.AccountInvalidError{State: u.Valid}
	}
	return u, nil
}

// pad waits until the call started at start has taken as long as a wrong
// password: the median of the measured wrong-password calls
// (backend.RefusalTimer) or, before the first one, the cost of the last
// connection and bind (a user's bind is a fresh connection and a bind).
// Before the backend ever connected there is nothing to wait for, and no
// network call is made for a refusal.
func (b *Backend) pad(ctx context.Context, start time.Time) error {
	d := b.timer.Typical()
	if d == 0 {
		d = time.Duration(b.dialer.bindCost.Load())
	}
	return waitUntil(ctx, start.Add(d))
}

// timerSlack is how late a timer may fire: sleeps are rounded up to the
// next millisecond or so on Linux, which would make a padded refusal
// slower than the wrong password it imitates.
const timerSlack = 1500 * time.Microsecond

// waitUntil returns at deadline (or when ctx ends, with its error): it
// sleeps until timerSlack before it and yields the processor for the rest,
// so that it returns within microseconds of the deadline.
func waitUntil(ctx context.Context, deadline time.Time) error {
	if wait := time.Until(deadline) - timerSlack; wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return ctx.Err()
}

// userBind binds as dn on a connection of its own and closes it.
func (b *Backend) userBind(ctx context.Context, dn, password string) error {
	if blankPassword(password) { // defence in depth: never an unauthenticated bind
		return backend.ErrInvalidCredentials
	}
	// The bind is part of dialing, so that a server that accepts connections
	// but fails them makes the next URL take over.
	c, err := b.dialer.dial(ctx, func(c *ldap.Conn) error { return c.Bind(dn, password) })
	if err == nil {
		_ = c.Close()
		return nil
	}
	var be *bindError
	if !errors.As(err, &be) {
		return classify(ctx, unavailableUnlessCtx(ctx, err))
	}
	err = be.err
	switch {
	case err == nil:
		return nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return &refusedBind{diagnostic: diagnostic(err)}
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject,
		ldap.LDAPResultInappropriateAuthentication, ldap.LDAPResultUnwillingToPerform, ldap.ErrorEmptyPassword):
		return backend.ErrInvalidCredentials
	}
	return classify(ctx, err)
}

func unavailableUnlessCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return unavailable(err)
}

// refusedBind is a bind refused with invalidCredentials (49), with the
// server's diagnostic message, which carries Active Directory's reason
// (see adBindRefusal). It matches backend.ErrInvalidCredentials.
type refusedBind struct{ diagnostic string }

func (e *refusedBind) Error() string        { return backend.ErrInvalidCredentials.Error() }
func (e *refusedBind) Is(target error) bool { return target == backend.ErrInvalidCredentials }

// diagnostic is the server's message of an LDAP error ("" for others).
func diagnostic(err error) string {
	var le *ldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return le.Err.Error()
	}
	return ""
}

// lookupLogin finds the user logging in: with LoginByUPN, a login holding
// @ is looked up as a userPrincipalName first.
func (b *Backend) lookupLogin(ctx context.Context, login string) (backend.CustomerUser, string, error) {
	if b.cfg.LoginByUPN && strings.Contains(login, "@") {
		u, e, err := b.getEntryBy(ctx, "authenticate", attrUserPrincipal, login)
		if err == nil {
			return u, e.DN, nil
		}
		if !errors.Is(err, backend.ErrNotFound) {
			return backend.CustomerUser{}, "", err
		}
	}
	return b.get(ctx, "authenticate", login)
}
