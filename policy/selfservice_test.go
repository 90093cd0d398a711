package policy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/policy"
)

// recorder is an Observer that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []policy.Event
}

func (r *recorder) Observe(_ context.Context, e policy.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = e.Type.String() + ":" + e.Login
	}
	return out
}

func (r *recorder) reset() { r.mu.Lock(); r.events = nil; r.mu.Unlock() }

// testLockout is run with every preference store.
func testLockout(t *testing.T, prefs policy.PreferenceStore) {
	rec := &recorder{}
	d, _ := three(t, policy.Config{MaxFailedLogins: 3, Preferences: prefs, Observer: rec})
	ctx := t.Context()
	for i := 1; i <= 2; i++ {
		_, err := d.Authenticate(ctx, "carl", "wrong")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
		n, err := d.FailedLogins(ctx, "CARL")
		require.NoError(t, err)
		assert.Equal(t, i, n, "counted per login")
	}
	_, err := d.Authenticate(ctx, "carl", "carl-pw-1")
	require.NoError(t, err, "a success before the limit")
	n, err := d.FailedLogins(ctx, "carl")
	require.NoError(t, err)
	assert.Zero(t, n, "a success resets the count")
	p, err := d.Preferences(ctx, "carl")
	require.NoError(t, err)
	assert.Equal(t, "0", p[policy.KeyLoginFailed], "stored under OTRS's key")
	assert.NotEmpty(t, p[policy.KeyLastLogin])

	rec.reset()
	for range 3 {
		_, err = d.Authenticate(ctx, "carl", "wrong")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	}
	u, err := d.Get(ctx, "carl")
	require.NoError(t, err)
	assert.Equal(t, backend.InvalidTemporarily, u.Valid, "locked out after 3 failures")
	assert.Equal(t, []string{"login-failed:carl", "login-failed:carl", "login-failed:carl", "locked-out:carl"}, rec.types())
	_, err = d.Authenticate(ctx, "carl", "carl-pw-1")
	var ae *backend.AccountInvalidError
	require.ErrorAs(t, err, &ae, "the right password now says the account is locked")
	assert.Equal(t, backend.InvalidTemporarily, ae.State)
	_, err = d.Authenticate(ctx, "carl", "wrong")
	assert.NotErrorIs(t, err, backend.ErrAccountInvalid, "a wrong password does not reveal the lock")

	// An admin unlocks: the count starts again.
	require.NoError(t, d.SetValid(ctx, "carl", backend.Valid))
	n, err = d.FailedLogins(ctx, "carl")
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = d.Authenticate(ctx, "carl", "carl-pw-1")
	require.NoError(t, err)

	// Read-only backend: the user cannot be changed, logins are refused at the limit.
	for range 3 {
		_, err = d.Authenticate(ctx, "anna", "wrong")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	}
	_, err = d.Authenticate(ctx, "anna", "anna-pw-1")
	require.ErrorAs(t, err, &ae, "read-only: refused while at the limit, with the right password")
	assert.Equal(t, backend.InvalidTemporarily, ae.State)
	u, err = d.Get(ctx, "anna")
	require.NoError(t, err)
	assert.Equal(t, backend.Valid, u.Valid, "the read-only backend is not changed")
	n, err = d.FailedLogins(ctx, "anna")
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the count is kept")

	// Unknown logins are not counted.
	_, err = d.Authenticate(ctx, "nobody", "wrong")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	n, err = d.FailedLogins(ctx, "nobody")
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestLockoutMemoryPreferences(t *testing.T) { testLockout(t, policy.NewMemoryPreferences()) }

func TestLockoutDefaultsToMemoryPreferences(t *testing.T) {
	d, _ := three(t, policy.Config{MaxFailedLogins: 2})
	for range 2 {
		_, _ = d.Authenticate(t.Context(), "bert", "wrong")
	}
	u, err := d.Get(t.Context(), "bert")
	require.NoError(t, err)
	assert.Equal(t, backend.InvalidTemporarily, u.Valid, "lockout works with no store configured")
}

func TestRenameMovesPreferences(t *testing.T) {
	d, _ := three(t, policy.Config{MaxFailedLogins: 10})
	ctx := t.Context()
	require.NoError(t, d.SetPreference(ctx, "carl", "UserLanguage", "de"))
	_, _ = d.Authenticate(ctx, "carl", "wrong")
	token, err := d.RequestPasswordReset(ctx, "carl")
	require.NoError(t, err)
	u, err := d.Get(ctx, "carl")
	require.NoError(t, err)
	u.Login = "karl"
	_, err = d.Update(ctx, "carl", u)
	require.NoError(t, err)
	p, err := d.Preferences(ctx, "karl")
	require.NoError(t, err)
	assert.Equal(t, "de", p["UserLanguage"])
	assert.Equal(t, "1", p[policy.KeyLoginFailed], "the failed-login count moved")
	old, err := d.Preferences(ctx, "carl")
	assert.ErrorIs(t, err, backend.ErrNotFound, "the old login is gone")
	assert.Empty(t, old)
	require.NoError(t, d.ResetPassword(ctx, token, "Moved-Token-1"), "the token moved with the user")
	_, err = d.Authenticate(ctx, "karl", "Moved-Token-1")
	require.NoError(t, err)
}

func TestPasswordReset(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	prefs := policy.NewMemoryPreferences()
	rec := &recorder{}
	d, _ := three(t, policy.Config{Preferences: prefs, Now: clock, ResetTokenTTL: time.Hour, Observer: rec,
		PasswordPolicy: policy.PasswordPolicy{MinLength: 8, RequireDigit: true}})
	ctx := t.Context()

	token, err := d.RequestPasswordReset(ctx, "bert")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(token), 43, "at least 256 bits, URL-safe")
	all, err := prefs.Preferences(ctx, "bert")
	require.NoError(t, err)
	for k, v := range all {
		assert.NotContains(t, v, token, "the token itself is not stored (%s)", k)
	}
	visible, err := d.Preferences(ctx, "bert")
	require.NoError(t, err)
	assert.NotContains(t, visible, policy.KeyResetToken, "Preferences hides the token hash")

	assert.ErrorIs(t, d.ResetPassword(ctx, token[:len(token)-1]+"A", "Reset-pw-1"), policy.ErrInvalidToken, "wrong token")
	err = d.ResetPassword(ctx, token, "short")
	assert.ErrorIs(t, err, backend.ErrInvalidInput, "the policy applies")
	rec.reset()
	require.NoError(t, d.ResetPassword(ctx, token, "Reset-pw-1"), "a refused password left the token usable")
	assert.Equal(t, []string{"password-changed:bert"}, rec.types())
	_, err = d.Authenticate(ctx, "bert", "Reset-pw-1")
	require.NoError(t, err)
	assert.ErrorIs(t, d.ResetPassword(ctx, token, "Reset-pw-2"), policy.ErrInvalidToken, "single use")

	// Expiry, with the injected clock.
	token, err = d.RequestPasswordReset(ctx, "bert")
	require.NoError(t, err)
	advance(time.Hour + time.Second)
	assert.ErrorIs(t, d.ResetPassword(ctx, token, "Reset-pw-3"), policy.ErrInvalidToken, "expired")

	// A second request replaces the first token.
	t1, err := d.RequestPasswordReset(ctx, "bert")
	require.NoError(t, err)
	t2, err := d.RequestPasswordReset(ctx, "bert")
	require.NoError(t, err)
	assert.ErrorIs(t, d.ResetPassword(ctx, t1, "Reset-pw-4"), policy.ErrInvalidToken)

	// Concurrent use of one token: exactly one wins.
	var wg sync.WaitGroup
	var okCount int
	var okMu sync.Mutex
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.ResetPassword(ctx, t2, "Concurrent-pw-"+strings.Repeat("x", i%3)+"1") == nil {
				okMu.Lock()
				okCount++
				okMu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, okCount, "one token, one reset")

	// Unknown, invalid and read-only users get no token.
	_, err = d.RequestPasswordReset(ctx, "nobody")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	_, err = d.RequestPasswordReset(ctx, "anna")
	assert.ErrorIs(t, err, backend.ErrReadOnly)
	require.NoError(t, d.SetValid(ctx, "carl", backend.Invalid))
	_, err = d.RequestPasswordReset(ctx, "carl")
	assert.ErrorIs(t, err, backend.ErrAccountInvalid)
}

func TestPasswordPolicyAndChangePassword(t *testing.T) {
	rec := &recorder{}
	d, _ := three(t, policy.Config{Observer: rec, MaxFailedLogins: 5, PasswordPolicy: policy.PasswordPolicy{
		MinLength: 10, MinLower: 2, MinUpper: 2, RequireDigit: true, History: 2}})
	ctx := t.Context()
	err := d.SetPassword(ctx, "carl", "carl")
	var all backend.ValidationErrors
	require.ErrorAs(t, err, &all)
	reasons := strings.Join(func() []string {
		var r []string
		for _, e := range all {
			assert.Equal(t, backend.FieldPassword, e.Field)
			r = append(r, e.Reason)
		}
		return r
	}(), "|")
	for _, want := range []string{"shorter than 10", "2 upper-case", "digit", "login"} {
		assert.Contains(t, reasons, want, "every violation is reported")
	}
	require.ErrorAs(t, d.SetPassword(ctx, "carl", "XYZ1"), &all)
	assert.Equal(t, "shorter than 10 characters", all[0].Reason)
	assert.Equal(t, "needs at least 2 lower-case letters", all[1].Reason)
	assert.Len(t, all, 2)
	_, err = d.Add(ctx, person("pol", "pol@x.example.org"), "weak")
	require.ErrorAs(t, err, &all, "Add applies the policy")
	_, err = d.Get(ctx, "pol")
	assert.ErrorIs(t, err, backend.ErrNotFound, "nothing stored")

	require.NoError(t, d.SetPassword(ctx, "carl", "GoodPassword1"))
	require.NoError(t, d.SetPassword(ctx, "carl", "BetterPassword2"))
	err = d.SetPassword(ctx, "carl", "GoodPassword1")
	require.ErrorAs(t, err, &all, "one of the last 2")
	assert.Contains(t, all[0].Reason, "last 2")

	// ChangePassword needs the old one; a wrong one counts as a failed login.
	rec.reset()
	err = d.ChangePassword(ctx, "carl", "wrong", "NewPassword33")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	n, err := d.FailedLogins(ctx, "carl")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	err = d.ChangePassword(ctx, "carl", "BetterPassword2", "weak")
	assert.ErrorIs(t, err, backend.ErrInvalidInput)
	require.NoError(t, d.ChangePassword(ctx, "carl", "BetterPassword2", "NewPassword33"))
	_, err = d.Authenticate(ctx, "carl", "NewPassword33")
	require.NoError(t, err)
	assert.Equal(t, []string{"login-failed:carl", "password-changed:carl", "login-succeeded:carl"}, rec.types())
	for _, e := range rec.events {
		assert.NotContains(t, e.Login+e.OldLogin+e.Backend, "Password", "events carry no password")
	}
}

func TestEventsInOrder(t *testing.T) {
	rec := &recorder{}
	d, _ := three(t, policy.Config{Observer: rec})
	ctx := t.Context()
	_, err := d.Add(ctx, person("ev", "ev@x.example.org"), "Ev-password-1")
	require.NoError(t, err)
	u, err := d.Get(ctx, "ev")
	require.NoError(t, err)
	u.Login, u.Valid = "ev2", backend.InvalidTemporarily
	_, err = d.Update(ctx, "ev", u)
	require.NoError(t, err)
	require.NoError(t, d.SetValid(ctx, "ev2", backend.Valid))
	require.NoError(t, d.SetPassword(ctx, "ev2", "Ev-password-2"))
	_, err = d.Authenticate(ctx, "ev2", "Ev-password-2")
	require.NoError(t, err)
	assert.Equal(t, []string{"added:ev", "renamed:ev2", "valid-changed:ev2", "updated:ev2", "valid-changed:ev2",
		"updated:ev2", "password-changed:ev2", "login-succeeded:ev2"}, rec.types())
	assert.Equal(t, "ev", rec.events[1].OldLogin)
	for _, e := range rec.events {
		assert.Equal(t, "local", e.Backend)
		assert.False(t, e.Time.IsZero())
	}
}
