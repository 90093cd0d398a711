package policy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/policy"
)

// three builds a Directory over three faulty memory backends: "ldap"
// (read-only), "local" and "extra", with overlapping users.
func three(t *testing.T, cfg policy.Config) (*policy.Directory, [3]*faulty) {
	t.Helper()
	ldap := newFaulty(newMemory(t, "ldap", true,
		mu("shared", "shared-ldap@x.example.org", "ldap-pw-1"),
		mu("anna", "anna@x.example.org", "anna-pw-1"),
		mu("zed", "zed@x.example.org", "zed-pw-1")))
	local := newFaulty(newMemory(t, "local", false,
		mu("SHARED", "shared-local@x.example.org", "local-pw-1"),
		mu("bert", "bert@x.example.org", "bert-pw-1"),
		mu("carl", "carl@x.example.org", "carl-pw-1")))
	extra := newFaulty(newMemory(t, "extra", false,
		mu("dora", "dora@x.example.org", "dora-pw-1"),
		mu("Bert", "bert-extra@x.example.org", "bert-pw-2")))
	cfg.Backends = []backend.CustomerUserBackend{ldap, local, extra}
	if cfg.Hasher == nil {
		h := minHasher
		cfg.Hasher = &h
	}
	d, err := policy.NewDirectory(cfg)
	require.NoError(t, err)
	return d, [3]*faulty{ldap, local, extra}
}

func logins(users []backend.CustomerUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login + "@" + u.Source
	}
	return out
}

func TestNewDirectoryRefusesBadConfig(t *testing.T) {
	m := newMemory(t, "m", false)
	for name, cfg := range map[string]policy.Config{
		"no backends":     {},
		"duplicate names": {Backends: []backend.CustomerUserBackend{m, m}},
		"nil backend":     {Backends: []backend.CustomerUserBackend{nil}},
		"negative lock":   {Backends: []backend.CustomerUserBackend{m}, MaxFailedLogins: -1},
		"bad policy":      {Backends: []backend.CustomerUserBackend{m}, PasswordPolicy: policy.PasswordPolicy{History: 99}},
	} {
		_, err := policy.NewDirectory(cfg)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, backend.ErrInvalidInput, name)
		assert.True(t, strings.HasPrefix(err.Error(), "customeruser directory: config:"), "%s: %v", name, err)
	}
	backends := []backend.CustomerUserBackend{m}
	d, err := policy.NewDirectory(policy.Config{Backends: backends})
	require.NoError(t, err)
	backends[0] = nil
	assert.Equal(t, []string{"m"}, d.Backends(), "the Directory keeps its own copy of the list")
}

func TestSearchMergesOrdersDeduplicatesAndLimits(t *testing.T) {
	d, _ := three(t, policy.Config{})
	res, err := d.Search(t.Context(), backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, []string{"anna@ldap", "bert@local", "carl@local", "dora@extra", "shared@ldap", "zed@ldap"}, logins(res),
		"merged in login order; the earlier backend wins a login (shared, Bert)")
	res, err = d.Search(t.Context(), backend.Query{Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, []string{"anna@ldap", "bert@local", "carl@local"}, logins(res), "one global limit")
	res, err = d.Search(t.Context(), backend.Query{Limit: 2, After: "carl"})
	require.NoError(t, err)
	assert.Equal(t, []string{"dora@extra", "shared@ldap"}, logins(res), "keyset paging across backends")
	_, err = d.Search(t.Context(), backend.Query{Limit: backend.MaxLimit + 1})
	assert.ErrorIs(t, err, backend.ErrInvalidInput)
}

func TestSearchAsksEachBackendForTheLimitOnly(t *testing.T) {
	var seen []int
	var mu sync.Mutex
	rec := func(b backend.CustomerUserBackend) backend.CustomerUserBackend {
		return limitSpy{b, func(n int) { mu.Lock(); seen = append(seen, n); mu.Unlock() }}
	}
	d, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{
		rec(newMemory(t, "a", false)), rec(newMemory(t, "b", false))}})
	require.NoError(t, err)
	_, err = d.Search(t.Context(), backend.Query{Limit: 7})
	require.NoError(t, err)
	assert.Equal(t, []int{7, 7}, seen)
}

type limitSpy struct {
	backend.CustomerUserBackend
	saw func(int)
}

func (s limitSpy) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	s.saw(q.Limit)
	return s.CustomerUserBackend.Search(ctx, q)
}

func TestGetEarliestBackendWins(t *testing.T) {
	d, fs := three(t, policy.Config{})
	u, err := d.Get(t.Context(), "Shared")
	require.NoError(t, err)
	assert.Equal(t, "ldap", u.Source)
	u, err = d.Get(t.Context(), "bert")
	require.NoError(t, err)
	assert.Equal(t, "local", u.Source)
	assert.Equal(t, "bert@x.example.org", u.Email)
	_, err = d.Get(t.Context(), "nobody")
	assert.ErrorIs(t, err, backend.ErrNotFound)

	// A hanging later backend does not delay an answer from an earlier one.
	fs[2].set(hanging)
	start := time.Now()
	u, err = d.Get(t.Context(), "anna")
	require.NoError(t, err)
	assert.Equal(t, "ldap", u.Source)
	assert.Less(t, time.Since(start), time.Second, "answered without waiting for the hanging backend")
}

func TestGetDoesNotWaitForSlowLaterBackends(t *testing.T) {
	d, fs := three(t, policy.Config{HedgeAfter: time.Millisecond})
	fs[0].setDelay(30 * time.Millisecond) // slow first backend: the others are asked meanwhile
	fs[2].set(hanging)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	u, err := d.Get(ctx, "carl") // in "local"; "ldap" says not found after 30 ms
	require.NoError(t, err)
	assert.Equal(t, "local", u.Source)
	assert.NoError(t, ctx.Err(), "the hanging third backend was not waited for")
}

func TestPartialFailure(t *testing.T) {
	d, fs := three(t, policy.Config{})
	fs[2].set(failing)
	res, err := d.Search(t.Context(), backend.Query{})
	var merr *multierror.Error
	require.ErrorAs(t, err, &merr, "results come with a *multierror.Error")
	require.Len(t, merr.Errors, 1)
	assert.Contains(t, merr.Error(), `"extra"`, "names the failed backend")
	assert.ErrorIs(t, err, backend.ErrUnavailable)
	assert.Equal(t, []string{"anna@ldap", "bert@local", "carl@local", "shared@ldap", "zed@ldap"}, logins(res))

	closed, fs2 := three(t, policy.Config{FailClosed: true})
	fs2[1].set(failing)
	res, err = closed.Search(t.Context(), backend.Query{})
	assert.ErrorIs(t, err, backend.ErrUnavailable)
	assert.Empty(t, res, "FailClosed gives no results")

	// Only the failed backend could answer: Get fails closed, never ErrNotFound.
	_, err = d.Get(t.Context(), "dora")
	assert.ErrorIs(t, err, backend.ErrUnavailable)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
	_, err = d.Get(t.Context(), "nobody")
	assert.ErrorIs(t, err, backend.ErrUnavailable, "unknown while a backend is down: unavailable, not not-found")
	_, err = d.Authenticate(t.Context(), "dora", "dora-pw-1")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	assert.ErrorIs(t, err, backend.ErrUnavailable)

	// Found in a later backend while an earlier one is down: refused by default.
	fs[2].set(healthy)
	fs[0].set(failing)
	_, err = d.Get(t.Context(), "carl")
	assert.ErrorIs(t, err, backend.ErrUnavailable)
	_, err = d.Authenticate(t.Context(), "carl", "carl-pw-1")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	assert.ErrorIs(t, err, backend.ErrUnavailable)
	_, wrong := d.Authenticate(t.Context(), "carl", "wrong")
	assert.Equal(t, wrong.Error(), err.Error(), "a failed backend looks like a wrong password, except through errors.Is")

	degraded, fs3 := three(t, policy.Config{AllowDegradedLogin: true})
	fs3[0].set(failing)
	u, err := degraded.Authenticate(t.Context(), "carl", "carl-pw-1")
	require.NoError(t, err, "AllowDegradedLogin answers from the later backend")
	assert.Equal(t, "local", u.Source)
}

func TestWritesAcrossBackends(t *testing.T) {
	d, fs := three(t, policy.Config{})
	// Add checks every backend and writes to the first writable one.
	_, err := d.Add(t.Context(), person("ANNA", "new@x.example.org"), "")
	assert.ErrorIs(t, err, backend.ErrDuplicateLogin, "anna is in the read-only ldap backend")
	_, err = d.Add(t.Context(), person("newbie", "DORA@x.example.org"), "")
	assert.ErrorIs(t, err, backend.ErrDuplicateEmail, "dora's address is in the third backend")
	added, err := d.Add(t.Context(), person("newbie", "newbie@x.example.org"), "Newbie-pw-1")
	require.NoError(t, err)
	assert.Equal(t, "local", added.Source)
	added, err = d.AddTo(t.Context(), "extra", person("other", "other@x.example.org"), "")
	require.NoError(t, err)
	assert.Equal(t, "extra", added.Source)
	_, err = d.AddTo(t.Context(), "ldap", person("x", "x@x.example.org"), "")
	assert.ErrorIs(t, err, backend.ErrReadOnly)
	_, err = d.AddTo(t.Context(), "nope", person("x", "x@x.example.org"), "")
	assert.ErrorIs(t, err, backend.ErrInvalidInput)

	// A failed backend makes Add fail: no duplicate by accident.
	fs[2].set(failing)
	_, err = d.Add(t.Context(), person("dora", "dora2@x.example.org"), "")
	assert.ErrorIs(t, err, backend.ErrUnavailable)
	fs[2].set(healthy)

	// Rename and email change that collide with another backend are refused.
	u, err := d.Get(t.Context(), "other")
	require.NoError(t, err)
	u.Login = "Carl"
	_, err = d.Update(t.Context(), "other", u)
	assert.ErrorIs(t, err, backend.ErrDuplicateLogin, "carl is in another backend")
	u.Login, u.Email = "other", "ANNA@x.example.org"
	_, err = d.Update(t.Context(), "other", u)
	assert.ErrorIs(t, err, backend.ErrDuplicateEmail)
	u.Email = "other@x.example.org"
	u.Login = "other2"
	renamed, err := d.Update(t.Context(), "other", u)
	require.NoError(t, err)
	assert.Equal(t, "other2", renamed.Login)
	assert.Equal(t, "extra", renamed.Source, "the update went to the backend holding the user")

	// Writes to a user of the read-only backend are refused.
	a, err := d.Get(t.Context(), "anna")
	require.NoError(t, err)
	_, err = d.Update(t.Context(), "anna", a)
	assert.ErrorIs(t, err, backend.ErrReadOnly)
	assert.ErrorIs(t, d.SetPassword(t.Context(), "anna", "Whatever-1"), backend.ErrReadOnly)
}

func TestNoDeletion(t *testing.T) {
	d, _ := three(t, policy.Config{})
	err := d.Delete(t.Context(), "bert")
	require.ErrorIs(t, err, backend.ErrDeletionForbidden)
	assert.Contains(t, err.Error(), "invalid")
	require.NoError(t, d.SetValid(t.Context(), "bert", backend.Invalid))
	u, err := d.Get(t.Context(), "bert")
	require.NoError(t, err, "invalid users are still readable")
	assert.Equal(t, backend.Invalid, u.Valid)
	res, err := d.Search(t.Context(), backend.Query{Login: "bert"})
	require.NoError(t, err)
	assert.Equal(t, []string{"Bert@extra"}, logins(res),
		"left out of Search; the later backend's valid Bert shows (documented: shadowing is decided among matches)")
	res, err = d.Search(t.Context(), backend.Query{Login: "bert", IncludeInvalid: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"bert@local"}, logins(res), "unless IncludeInvalid (the extra backend's Bert stays shadowed)")
	assert.ErrorIs(t, d.SetValid(t.Context(), "bert", backend.ValidState(9)), backend.ErrInvalidInput)
}

func TestEmptyPasswordRefusedBeforeAnyBackend(t *testing.T) {
	d, fs := three(t, policy.Config{})
	before := fs[0].calls.Load() + fs[1].calls.Load() + fs[2].calls.Load()
	_, err := d.Authenticate(t.Context(), "bert", "")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	assert.Equal(t, before, fs[0].calls.Load()+fs[1].calls.Load()+fs[2].calls.Load(), "no backend asked")
}

func TestAuthenticateAsksOnlyTheHolder(t *testing.T) {
	d, fs := three(t, policy.Config{})
	_, err := d.Authenticate(t.Context(), "carl", "carl-pw-1")
	require.NoError(t, err)
	for i, f := range fs {
		f.mu.Lock()
		for _, op := range f.seen {
			if op == "authenticate" {
				assert.Equal(t, 1, i, "only the holder checks the password")
			}
		}
		f.mu.Unlock()
	}
	_, err = d.Authenticate(t.Context(), "bert", "bert-pw-2")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials, "the shadowed Bert's password does not open the earlier one")

	// An unknown login: every backend is asked whether it holds it, none
	// checks a password (the Directory spends one dummy verification itself).
	for _, f := range fs {
		f.mu.Lock()
		f.seen = nil
		f.mu.Unlock()
	}
	_, err = d.Authenticate(t.Context(), "nobody", "some password")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	for _, f := range fs {
		f.mu.Lock()
		assert.Equal(t, []string{"get"}, f.seen, "%s: looked up, never asked to verify", f.Name())
		f.mu.Unlock()
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	d, _ := three(t, policy.Config{})
	before, err := d.Search(t.Context(), backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	huge := strings.Repeat("x", 1<<20)
	for _, login := range []string{"", " ", "a\x00b", "\xff", huge, "ad\u202emin"} {
		_, err := d.Get(t.Context(), login)
		assert.ErrorIs(t, err, backend.ErrInvalidInput, "Get %.10q", login)
		assert.ErrorIs(t, d.SetValid(t.Context(), login, backend.Invalid), backend.ErrInvalidInput)
		assert.ErrorIs(t, d.SetPreference(t.Context(), login, "Lang", "de"), backend.ErrInvalidInput)
		_, err = d.Preferences(t.Context(), login)
		assert.ErrorIs(t, err, backend.ErrInvalidInput)
		_, err = d.RequestPasswordReset(t.Context(), login)
		assert.ErrorIs(t, err, backend.ErrInvalidInput)
		assert.ErrorIs(t, d.SetPassword(t.Context(), login, "Good-Pass-1"), backend.ErrInvalidInput)
		_, err = d.Authenticate(t.Context(), login, "pw")
		assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	}
	for _, key := range []string{"", "UserEmail", "ValidID", policy.KeyLoginFailed, policy.KeyResetToken, "k\x00", huge} {
		err := d.SetPreference(t.Context(), "bert", key, "v")
		var ve *backend.ValidationError
		require.ErrorAs(t, err, &ve, "key %.10q", key)
		assert.Equal(t, "Key", ve.Field)
	}
	for _, v := range []string{"a\x00", "\xff", huge} {
		assert.ErrorIs(t, d.SetPreference(t.Context(), "bert", "Lang", v), backend.ErrInvalidInput)
	}
	assert.ErrorIs(t, d.ResetPassword(t.Context(), huge, "Good-Pass-1"), policy.ErrInvalidToken)
	assert.ErrorIs(t, d.ResetPassword(t.Context(), "", "Good-Pass-1"), policy.ErrInvalidToken)
	after, err := d.Search(t.Context(), backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	assert.Equal(t, before, after)
	prefs, err := d.Preferences(t.Context(), "bert")
	require.NoError(t, err)
	assert.Empty(t, prefs)
}

func TestConcurrentUse(t *testing.T) {
	d, _ := three(t, policy.Config{MaxFailedLogins: 1000})
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := t.Context()
			switch i % 5 {
			case 0:
				_, _ = d.Search(ctx, backend.Query{Search: "person"})
			case 1:
				_, _ = d.Authenticate(ctx, "carl", "carl-pw-1")
			case 2:
				_, _ = d.Authenticate(ctx, "carl", "wrong")
			case 3:
				_, _ = d.Add(ctx, person(strings.Repeat("c", 1+i/5), "c"+strings.Repeat("c", i)+"@x.example.org"), "")
			case 4:
				_ = d.SetPreference(ctx, "bert", "Key"+strings.Repeat("k", i%7), "v")
			}
		}()
	}
	wg.Wait()
	n, err := d.FailedLogins(t.Context(), "carl")
	require.NoError(t, err)
	assert.LessOrEqual(t, n, 20)
	_, err = d.Authenticate(t.Context(), "carl", "carl-pw-1")
	require.NoError(t, err)
}

func TestDirectoryPrintsNoSecrets(t *testing.T) {
	d, _ := three(t, policy.Config{})
	for _, s := range []string{d.String(), d.GoString()} {
		assert.NotContains(t, s, "pw-1")
		assert.Contains(t, s, "ldap")
	}
}
