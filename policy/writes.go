package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/helpdeskkit/customeruser/backend"
)

func asValidation(err error, target **backend.ValidationError) bool { return errors.As(err, target) }

func uniqueSorted(keys []string) []string {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Add checks the user and password, checks that no backend holds the login
// or the email (a backend that cannot be asked makes Add fail with
// ErrUnavailable: no duplicates by accident), and adds the user to the first
// writable backend. With an empty login, the backend's auto-login creation
// (if it has one) makes the login; its uniqueness is then the backend's.
func (d *Directory) Add(ctx context.Context, u backend.CustomerUser, password string) (backend.CustomerUser, error) {
	for _, b := range d.backends {
		if !b.ReadOnly() {
			return d.AddTo(ctx, b.Name(), u, password)
		}
	}
	return backend.CustomerUser{}, d.opErr("add", backend.ErrReadOnly)
}

// AddTo is Add to the backend of that name.
func (d *Directory) AddTo(ctx context.Context, backendName string, u backend.CustomerUser, password string) (backend.CustomerUser, error) {
	i, ok := d.byName[backendName]
	if !ok {
		return backend.CustomerUser{}, d.opErr("add", &backend.ValidationError{Field: "Backend", Reason: fmt.Sprintf("no backend named %q", backendName)})
	}
	b := d.backends[i]
	if b.ReadOnly() {
		return backend.CustomerUser{}, d.opErr("add", backend.ErrReadOnly)
	}
	nu, err := backend.NormalizeUser(u, false)
	var errs backend.ValidationErrors
	if err != nil && !errors.As(err, &errs) {
		return backend.CustomerUser{}, d.opErr("add", err)
	}
	if password != "" {
		if perr := d.cfg.PasswordPolicy.Violations(nu.Login, password); perr != nil {
			var pe backend.ValidationErrors
			errors.As(perr, &pe)
			errs = append(errs, pe...)
		}
	}
	if len(errs) > 0 {
		return backend.CustomerUser{}, d.opErr("add", errs)
	}
	keys := []string{"email:" + backend.IdentityKey(nu.Email)}
	if nu.Login != "" {
		keys = append(keys, "login:"+backend.IdentityKey(nu.Login))
	}
	unlock := d.locks.lock(keys...)
	defer unlock()
	if err := d.checkFree(ctx, nu.Login, nu.Email, ""); err != nil {
		return backend.CustomerUser{}, d.opErr("add", err)
	}
	added, err := b.Add(ctx, nu, password)
	if err != nil {
		return backend.CustomerUser{}, d.opErr("add", err)
	}
	if password != "" {
		d.recordPassword(ctx, added.Login, password)
	}
	d.emit(ctx, Event{Type: EventAdded, Login: added.Login, Backend: b.Name(), Valid: added.Valid})
	return added, nil
}

// checkFree asks every backend at once whether login or email (either may be
// "") is taken by a user other than the one whose login is self. Any backend
// that cannot answer makes it fail with ErrUnavailable.
func (d *Directory) checkFree(ctx context.Context, login, email, self string) error {
	selfKey := backend.IdentityKey(self)
	type answer struct {
		loginTaken, emailTaken bool
		err                    error
	}
	answers := make([]answer, len(d.backends))
	var wg sync.WaitGroup
	for i, b := range d.backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &answers[i]
			if login != "" {
				u, err := b.Get(ctx, login)
				switch {
				case err == nil:
					a.loginTaken = backend.IdentityKey(u.Login) != selfKey
				case !errors.Is(err, backend.ErrNotFound):
					a.err = err
					return
				}
			}
			if email != "" && !d.cfg.AllowDuplicateEmail {
				users, err := b.Search(ctx, backend.Query{Email: email, IncludeInvalid: true, Limit: 2})
				if err != nil {
					a.err = err
					return
				}
				for _, u := range users {
					if self == "" || backend.IdentityKey(u.Login) != selfKey {
						a.emailTaken = true
					}
				}
			}
		}()
	}
	wg.Wait()
	var fails failures
	for i, a := range answers {
		switch {
		case a.err != nil && errors.Is(a.err, backend.ErrInvalidInput):
			return a.err
		case a.err != nil:
			fails.add(d.backends[i].Name(), a.err)
		case a.loginTaken:
			return fmt.Errorf("%w (in backend %q)", backend.ErrDuplicateLogin, d.backends[i].Name())
		case a.emailTaken:
			return fmt.Errorf("%w (in backend %q)", backend.ErrDuplicateEmail, d.backends[i].Name())
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if fails.merr != nil {
		return unavailable(&fails)
	}
	return nil
}

// holder finds the backend holding login for a write; it refuses read-only ones.
func (d *Directory) holder(ctx context.Context, op, login string) (found, error) {
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return found{index: -1}, err
	}
	f, err := d.lookup(ctx, op, l)
	if err != nil {
		return f, err
	}
	if d.backends[f.index].ReadOnly() {
		return f, backend.ErrReadOnly
	}
	return f, nil
}

// Update replaces the record of the user with this login in the backend
// that holds it (see backend.CustomerUserBackend.Update: a zero Valid keeps
// the state, a set ChangedAt is an optimistic check). A rename, or an email
// change, that would collide with a user in any backend is refused.
// Renaming moves the user's preferences, failed-login count and tokens.
func (d *Directory) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	f, err := d.holder(ctx, "update", login)
	if err != nil {
		return backend.CustomerUser{}, d.opErr("update", err)
	}
	b := d.backends[f.index]
	old := f.user
	newLogin := old.Login
	if l, lerr := backend.NormalizeLogin(u.Login); lerr == nil {
		newLogin = l
	}
	renamed := backend.IdentityKey(newLogin) != backend.IdentityKey(old.Login)
	emailChanged := backend.IdentityKey(u.Email) != backend.IdentityKey(old.Email)
	if renamed || emailChanged {
		var keys []string
		checkLogin, checkEmail := "", ""
		if renamed {
			keys = append(keys, "login:"+backend.IdentityKey(newLogin))
			checkLogin = newLogin
		}
		if emailChanged && u.Email != "" {
			keys = append(keys, "email:"+backend.IdentityKey(u.Email))
			checkEmail = u.Email
		}
		unlock := d.locks.lock(keys...)
		defer unlock()
		if err := d.checkFree(ctx, checkLogin, checkEmail, old.Login); err != nil {
			return backend.CustomerUser{}, d.opErr("update", err)
		}
	}
	updated, err := b.Update(ctx, old.Login, u)
	if err != nil {
		return backend.CustomerUser{}, d.opErr("update", err)
	}
	var moveErr error
	if !backend.SameIdentity(updated.Login, old.Login) {
		if err := d.cfg.Preferences.Rename(ctx, old.Login, updated.Login); err != nil {
			moveErr = d.opErr("update", fmt.Errorf("user renamed, but moving the preferences failed: %w", err))
			d.log.ErrorContext(ctx, "customeruser: preferences not moved after a rename", "op", "update",
				"login", updated.Login, "old_login", old.Login, "error", err)
		}
		if err := d.renameMemberships(ctx, old.Login, updated.Login); err != nil {
			moveErr = errors.Join(moveErr, d.opErr("update", fmt.Errorf("user renamed, but moving the group memberships failed: %w", err)))
			d.log.ErrorContext(ctx, "customeruser: group memberships not moved after a rename", "op", "update",
				"login", updated.Login, "old_login", old.Login, "error", err)
		}
		d.emit(ctx, Event{Type: EventRenamed, Login: updated.Login, OldLogin: old.Login, Backend: b.Name()})
	}
	if updated.Valid != old.Valid {
		d.validChanged(ctx, updated, b.Name())
	}
	d.emit(ctx, Event{Type: EventUpdated, Login: updated.Login, Backend: b.Name(), Valid: updated.Valid})
	return updated, moveErr
}

// validChanged reports a new valid state; back to Valid also clears the
// failed-login count (an admin unlocking a user).
func (d *Directory) validChanged(ctx context.Context, u backend.CustomerUser, backendName string) {
	if u.Valid == backend.Valid {
		if err := d.cfg.Preferences.SetPreference(ctx, u.Login, KeyLoginFailed, "0"); err != nil {
			d.log.WarnContext(ctx, "customeruser: could not reset the failed-login count", "op", "set-valid",
				"login", u.Login, "error", err)
		}
	}
	d.emit(ctx, Event{Type: EventValidChanged, Login: u.Login, Backend: backendName, Valid: u.Valid})
}

// SetValid sets the user's valid state: backend.Invalid or
// backend.InvalidTemporarily to deactivate (customer users are never
// deleted), backend.Valid to reactivate (which also clears the failed-login
// count).
func (d *Directory) SetValid(ctx context.Context, login string, state backend.ValidState) error {
	if !state.IsKnown() {
		return d.opErr("set-valid", &backend.ValidationError{Field: backend.FieldValid, Reason: "unknown valid state (want valid, invalid or invalid-temporarily)"})
	}
	f, err := d.holder(ctx, "set-valid", login)
	if err != nil {
		return d.opErr("set-valid", err)
	}
	if f.user.Valid == state {
		return nil
	}
	u := f.user
	u.Valid = state
	b := d.backends[f.index]
	updated, err := b.Update(ctx, f.user.Login, u)
	if err != nil {
		return d.opErr("set-valid", err)
	}
	d.validChanged(ctx, updated, b.Name())
	d.emit(ctx, Event{Type: EventUpdated, Login: updated.Login, Backend: b.Name(), Valid: updated.Valid})
	return nil
}

// Delete never deletes: it returns backend.ErrDeletionForbidden. Customer
// users stay for the history of their tickets; use SetValid with
// backend.Invalid or backend.InvalidTemporarily.
func (d *Directory) Delete(ctx context.Context, login string) error {
	return d.opErr("delete", fmt.Errorf("%w (use SetValid with invalid or invalid-temporarily)", backend.ErrDeletionForbidden))
}

// SetPassword checks the password against the policy (every violation at
// once) and sets it in the backend that holds the user.
func (d *Directory) SetPassword(ctx context.Context, login, password string) error {
	f, err := d.holder(ctx, "set-password", login)
	if err != nil {
		return d.opErr("set-password", err)
	}
	return d.setPassword(ctx, "set-password", f, password)
}

func (d *Directory) setPassword(ctx context.Context, op string, f found, password string) error {
	if err := d.checkPasswordPolicy(ctx, f.user.Login, password); err != nil {
		return d.opErr(op, err)
	}
	b := d.backends[f.index]
	if err := b.SetPassword(ctx, f.user.Login, password); err != nil {
		return d.opErr(op, err)
	}
	d.recordPassword(ctx, f.user.Login, password)
	d.emit(ctx, Event{Type: EventPasswordChanged, Login: f.user.Login, Backend: b.Name()})
	return nil
}
