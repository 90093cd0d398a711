package policy

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// Preference keys the Directory owns. KeyLoginFailed and KeyLastLogin are
// the keys Znuny and OTOBO use, so a Znuny on the same customer_preferences
// table shares the count.
const (
	KeyLoginFailed      = "UserLoginFailed"
	KeyLastLogin        = "UserLastLogin"
	KeyResetToken       = "UserPasswordResetToken"        // hex SHA-256 of the token, never the token
	KeyResetExpires     = "UserPasswordResetTokenExpires" // Unix seconds
	KeyResetUses        = "UserPasswordResetTokenUses"    // 0 until used: single use across instances
	KeyPasswordHistory  = "UserPasswordHistory"           // + "1".."N": bcrypt hashes of the last passwords
	keyPrefixInternal   = "UserPassword"
	internalKeyReserved = "reserved for the Directory"
)

// refusedLogin is the error of every refused login: one message whatever the
// reason, with the reason reachable through errors.Is (a failed backend
// wraps backend.ErrUnavailable too).
type refusedLogin struct {
	msg   string
	cause error
}

func (e *refusedLogin) Error() string { return e.msg }
func (e *refusedLogin) Unwrap() []error {
	if e.cause == nil {
		return []error{backend.ErrInvalidCredentials}
	}
	return []error{backend.ErrInvalidCredentials, e.cause}
}

// Authenticate finds the one backend holding the login and checks the
// password there only. An empty password is refused before any backend is
// asked. An unknown login costs one dummy verification, not one per backend,
// and every refusal takes as long as a wrong password (backend.RefusalTimer).
// Unknown login, wrong password and a failed backend give the same message
// (backend.ErrInvalidCredentials; a failed backend also matches
// backend.ErrUnavailable through errors.Is).
//
// Failed logins of a known user are counted in the preference store under
// KeyLoginFailed; at Config.MaxFailedLogins the user is set
// invalid-temporarily (EventLockedOut). On a read-only backend the user
// cannot be changed: logins are refused while the count is at the limit
// (with the right password: an *backend.AccountInvalidError saying
// invalid-temporarily; with a wrong one: ErrInvalidCredentials). A success
// resets the count to 0 and stores KeyLastLogin.
func (d *Directory) Authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	return d.authenticate(ctx, "authenticate", login, password, true)
}

func (d *Directory) authenticate(ctx context.Context, op, login, password string, emitSuccess bool) (backend.CustomerUser, error) {
	start := time.Now()
	refuse := func(cause error) (backend.CustomerUser, error) {
		if err := ctx.Err(); err != nil {
			return backend.CustomerUser{}, d.opErr(op, err)
		}
		if err := d.refusal.Pad(ctx, start); err != nil {
			return backend.CustomerUser{}, d.opErr(op, err)
		}
		return backend.CustomerUser{}, &refusedLogin{msg: d.opErr(op, backend.ErrInvalidCredentials).Error(), cause: cause}
	}
	dummy := func(cause error) (backend.CustomerUser, error) {
		if err := d.cfg.Hasher.DummyContext(ctx, password); err != nil {
			return backend.CustomerUser{}, d.opErr(op, err)
		}
		return refuse(cause)
	}
	if !backend.CheckLoginPassword(password) {
		return dummy(nil)
	}
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return dummy(nil)
	}
	f, err := d.lookup(ctx, op, l)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return backend.CustomerUser{}, d.opErr(op, ctx.Err())
	case errors.Is(err, backend.ErrNotFound), errors.Is(err, backend.ErrInvalidInput):
		return dummy(nil)
	default:
		return dummy(err)
	}
	b := d.backends[f.index]
	lockedReadOnly := false
	if d.cfg.MaxFailedLogins > 0 && b.ReadOnly() {
		n, err := d.cfg.Preferences.Increment(ctx, f.user.Login, KeyLoginFailed, 0)
		if err != nil {
			d.log.WarnContext(ctx, "customeruser: could not read the failed-login count", "op", op, "login", f.user.Login, "error", err)
		}
		lockedReadOnly = n >= d.cfg.MaxFailedLogins
	}
	u, err := b.Authenticate(ctx, f.user.Login, password)
	switch {
	case err == nil:
		if lockedReadOnly {
			return backend.CustomerUser{}, d.opErr(op, &backend.AccountInvalidError{State: backend.InvalidTemporarily})
		}
		d.loginSucceeded(ctx, u, b.Name(), emitSuccess)
		return u, nil
	case errors.Is(err, backend.ErrAccountInvalid):
		return backend.CustomerUser{}, d.opErr(op, err)
	case errors.Is(err, backend.ErrInvalidCredentials):
		if ctx.Err() == nil {
			d.refusal.Observe(time.Since(start))
		}
		d.loginFailed(ctx, f, b)
		return refuse(nil)
	case ctx.Err() != nil:
		return backend.CustomerUser{}, d.opErr(op, ctx.Err())
	default:
		return refuse(err)
	}
}

func (d *Directory) loginSucceeded(ctx context.Context, u backend.CustomerUser, backendName string, emit bool) {
	prefs := d.cfg.Preferences
	if err := prefs.SetPreference(ctx, u.Login, KeyLoginFailed, "0"); err != nil {
		d.log.WarnContext(ctx, "customeruser: could not reset the failed-login count", "op", "authenticate", "login", u.Login, "error", err)
	}
	if err := prefs.SetPreference(ctx, u.Login, KeyLastLogin, strconv.FormatInt(d.cfg.Now().Unix(), 10)); err != nil {
		d.log.WarnContext(ctx, "customeruser: could not store the last login", "op", "authenticate", "login", u.Login, "error", err)
	}
	if emit {
		d.emit(ctx, Event{Type: EventLoginSucceeded, Login: u.Login, Backend: backendName})
	}
}

// loginFailed counts a wrong password and locks the user out at the limit.
func (d *Directory) loginFailed(ctx context.Context, f found, b backend.CustomerUserBackend) {
	n, err := d.cfg.Preferences.Increment(ctx, f.user.Login, KeyLoginFailed, 1)
	if err != nil {
		d.log.WarnContext(ctx, "customeruser: could not count a failed login", "op", "authenticate", "login", f.user.Login, "error", err)
		return
	}
	d.emit(ctx, Event{Type: EventLoginFailed, Login: f.user.Login, Backend: b.Name(), Count: n})
	if d.cfg.MaxFailedLogins == 0 || n < d.cfg.MaxFailedLogins || b.ReadOnly() || f.user.Valid != backend.Valid {
		return
	}
	u := f.user
	u.Valid = backend.InvalidTemporarily
	u.ChangedAt = time.Time{} // lock out even if the record changed meanwhile
	if _, err := b.Update(ctx, f.user.Login, u); err != nil {
		d.log.ErrorContext(ctx, "customeruser: could not lock out a user after too many failed logins", "op", "authenticate",
			"login", f.user.Login, "error", err)
		return
	}
	d.log.WarnContext(ctx, "customeruser: user locked out after too many failed logins", "op", "authenticate",
		"login", f.user.Login, "failed", n)
	d.emit(ctx, Event{Type: EventLockedOut, Login: f.user.Login, Backend: b.Name(), Valid: backend.InvalidTemporarily, Count: n})
}

// FailedLogins gives the user's count of failed logins in a row.
func (d *Directory) FailedLogins(ctx context.Context, login string) (int, error) {
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return 0, d.opErr("failed-logins", err)
	}
	n, err := d.cfg.Preferences.Increment(ctx, l, KeyLoginFailed, 0)
	if err != nil {
		return 0, d.opErr("failed-logins", err)
	}
	return n, nil
}
