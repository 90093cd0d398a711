package ldapbackend

import (
	"context"
	"errors"
	"strings"
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
// a pooled one). Unknown logins and wrong passwords both give
// ErrInvalidCredentials; for an unknown login a bind with a DN that does not
// exist is made anyway, so both take about the same time. A user who is not
// Valid gets ErrAccountInvalid, only after the password was right.
func (b *Backend) Authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	u, err := b.authenticate(ctx, login, password)
	if err != nil {
		return backend.CustomerUser{}, b.opErr("authenticate", err)
	}
	return u, nil
}

func (b *Backend) authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	// Refused before any network call.
	if blankPassword(password) || len(password) > backend.MaxPasswordBytes ||
		!utf8.ValidString(password) || strings.IndexByte(password, 0) >= 0 {
		return backend.CustomerUser{}, backend.ErrInvalidCredentials
	}
	if _, err := backend.NormalizeLogin(login); err != nil {
		return backend.CustomerUser{}, backend.ErrInvalidCredentials
	}
	u, dn, err := b.get(ctx, login)
	switch {
	case errors.Is(err, backend.ErrNotFound), errors.Is(err, errAmbiguous):
		// Same work as a wrong password: a fresh connection and a failing bind.
		dn = "cn=customeruser-no-such-user," + b.cfg.BaseDN
		if berr := b.userBind(ctx, dn, password); berr != nil && !errors.Is(berr, backend.ErrInvalidCredentials) {
			return backend.CustomerUser{}, berr
		}
		return backend.CustomerUser{}, backend.ErrInvalidCredentials
	case err != nil:
		return backend.CustomerUser{}, err
	}
	if err := b.userBind(ctx, dn, password); err != nil {
		return backend.CustomerUser{}, err
	}
	if u.Valid != backend.Valid {
		return backend.CustomerUser{}, backend.ErrAccountInvalid
	}
	return u, nil
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
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultNoSuchObject,
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
