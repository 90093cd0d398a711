package backendtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func (s *suite) contractCases() []testCase {
	return []testCase{
		{"Search/KeysetPaging", s.testKeysetPaging},
		{"Search/LimitBounded", s.testLimitBounded},
		{"Update/ZeroValidKeepsState", s.testUpdateZeroValid},
		{"Update/StaleChangedAtConflicts", s.testUpdateConflict},
		{"Add/EveryInvalidFieldAtOnce", s.testEveryInvalidField},
		{"Authenticate/AccountInvalidCarriesState", s.testAccountInvalidState},
		{"Password/Over72BytesRefused", s.testPasswordOver72},
		{"Authenticate/RefusalsTakeTheTimeOfAWrongPassword", s.testRefusalTiming},
		{"Concurrency/UniqueLoginAndEmail", s.testUniqueUnderConcurrency},
	}
}

func (s *suite) testKeysetPaging(t *testing.T) {
	h := s.open(t, searchSeeds())
	all, err := h.Backend.Search(ctx(t), backend.Query{IncludeInvalid: true, Limit: backend.MaxLimit})
	require.NoError(t, err)
	require.Len(t, all, len(searchSeeds()))
	for _, size := range []int{1, 2, 3, 5, len(all), len(all) + 1} {
		paged := allPages(t, h.Backend, backend.Query{IncludeInvalid: true}, size)
		assert.Equal(t, logins(all), logins(paged), "pages of %d give every user once, in order", size)
	}
	// Paging combines with the other criteria.
	valid := allPages(t, h.Backend, backend.Query{}, 2)
	assert.Equal(t, validFixtureLoginsPlus("mmeier", "mkovacs"), logins(valid))
	acme := allPages(t, h.Backend, backend.Query{CustomerID: "ACME"}, 1)
	assert.Equal(t, []string{"hans.meier", "hhuber"}, logins(acme))
	hans := allPages(t, h.Backend, backend.Query{Search: "hans"}, 1)
	assert.Equal(t, []string{"hans.meier", "hhuber"}, logins(hans))

	// The cursor is compared by the identity rule and need not exist.
	for after, want := range map[string][]string{
		"HHUBER":     loginsAfter(all, "hhuber"),
		"hh":         loginsAfter(all, "hh"),
		"zzzzzz":     loginsAfter(all, "zzzzzz"), // カス sorts after the Latin logins
		"\U0010FFFD": nil,
		"\u212Aa":    loginsAfter(all, "ka"),
		"hans.mei":   loginsAfter(all, "hans.mei"),
	} {
		res, err := h.Backend.Search(ctx(t), backend.Query{IncludeInvalid: true, After: after})
		require.NoError(t, err)
		assert.Equal(t, want, nilIfEmpty(logins(res)), "After %q", after)
	}
	for _, bad := range []string{"bad\xffutf8", strings.Repeat("a", backend.MaxQueryBytes+1)} {
		_, err := h.Backend.Search(ctx(t), backend.Query{After: bad})
		ve := requireValidation(t, err, "After %.20q", bad)
		assert.Equal(t, backend.FieldAfter, ve.Field)
	}
}

func validFixtureLoginsPlus(extra ...string) []string {
	out := append(validFixtureLogins(), extra...)
	sortLogins(out)
	return out
}

func loginsAfter(all []backend.CustomerUser, after string) []string {
	var out []string
	for _, u := range all {
		if backend.AfterLogin(u.Login, after) {
			out = append(out, u.Login)
		}
	}
	return nilIfEmpty(out)
}

func (s *suite) testLimitBounded(t *testing.T) {
	h := s.open(t, fixture())
	for _, limit := range []int{backend.MaxLimit + 1, 1<<31 - 1, 1<<62 + 5} {
		_, err := h.Backend.Search(ctx(t), backend.Query{Limit: limit})
		ve := requireValidation(t, err, "Limit %d", limit)
		assert.Equal(t, backend.FieldLimit, ve.Field)
	}
	res, err := h.Backend.Search(ctx(t), backend.Query{Limit: backend.MaxLimit})
	require.NoError(t, err, "MaxLimit itself is allowed")
	assert.Equal(t, validFixtureLogins(), logins(res))
	res, err = h.Backend.Search(ctx(t), backend.Query{Limit: 1, IncludeInvalid: true})
	require.NoError(t, err, "the backend still answers after refused limits")
	assert.Len(t, res, 1)
}

func (s *suite) testUpdateZeroValid(t *testing.T) {
	h := s.writable(t, fixture())
	for login, state := range map[string]backend.ValidState{"aschmidt": backend.Invalid, "ttemp": backend.InvalidTemporarily, "hhuber": backend.Valid} {
		u, err := h.Backend.Get(ctx(t), login)
		require.NoError(t, err)
		u.Valid = 0
		u.City = "Zero Valid"
		got, err := h.Backend.Update(ctx(t), login, u)
		require.NoError(t, err, login)
		assert.Equal(t, state, got.Valid, "%s: a zero Valid keeps the stored state", login)
		got, err = h.Backend.Get(ctx(t), login)
		require.NoError(t, err)
		assert.Equal(t, state, got.Valid, "%s: as stored", login)
		assert.Equal(t, "Zero Valid", got.City, "%s: the rest is updated", login)
	}
	_, err := h.Backend.Authenticate(ctx(t), "aschmidt", pwAnna)
	requireKind(t, err, backend.ErrAccountInvalid, "the deactivated user stays deactivated")
}

func (s *suite) testUpdateConflict(t *testing.T) {
	h := s.writable(t, fixture())
	first, err := h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	require.False(t, first.ChangedAt.IsZero(), "Get gives ChangedAt")

	// Admin A saves first: A read the current record, so the check passes.
	a := first
	a.City = "Saved by A"
	savedA, err := h.Backend.Update(ctx(t), "mmuster", a)
	require.NoError(t, err, "an update with the ChangedAt that was read")
	assert.True(t, savedA.ChangedAt.After(first.ChangedAt), "every write moves ChangedAt forward (%v, then %v)", first.ChangedAt, savedA.ChangedAt)

	// Admin B read the same old record, at once after: refused, nothing written.
	b := first
	b.City = "Saved by B"
	_, err = h.Backend.Update(ctx(t), "mmuster", b)
	requireKind(t, err, backend.ErrConflict, "a stale ChangedAt")
	got, err := h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	assert.Equal(t, "Saved by A", got.City, "the conflict wrote nothing")
	assert.True(t, got.ChangedAt.Equal(savedA.ChangedAt), "Get gives the ChangedAt that Update returned")

	// B re-reads and saves: fine. Then at once again with what it got back.
	got.City = "Saved by B"
	savedB, err := h.Backend.Update(ctx(t), "mmuster", got)
	require.NoError(t, err)
	savedB.Phone = "+1 555"
	_, err = h.Backend.Update(ctx(t), "mmuster", savedB)
	require.NoError(t, err, "the ChangedAt Update returned is current")
	_, err = h.Backend.Update(ctx(t), "mmuster", savedA)
	requireKind(t, err, backend.ErrConflict, "two writes in one clock tick still differ")

	// Other writes move it too: a password change or deactivation made the form stale.
	cur, err := h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	require.NoError(t, h.Backend.SetPassword(ctx(t), "mmuster", "changed meanwhile"))
	cur.City = "Stale after a password change"
	_, err = h.Backend.Update(ctx(t), "mmuster", cur)
	if err != nil {
		requireKind(t, err, backend.ErrConflict)
	}

	// A zero ChangedAt is an unconditional update.
	z := seedUser("mmuster")
	z.City = "Unconditional"
	_, err = h.Backend.Update(ctx(t), "mmuster", z)
	require.NoError(t, err)
	got, err = h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	assert.Equal(t, "Unconditional", got.City)
}

func (s *suite) testEveryInvalidField(t *testing.T) {
	h := s.writable(t, nil)
	u := newUser("manyerrors")
	u.FirstName, u.Email, u.CustomerID, u.Phone = " ", "not an address", "", "a\x00b"
	_, err := h.Backend.Add(ctx(t), u, "pw")
	requireValidation(t, err)
	var all backend.ValidationErrors
	require.Truef(t, errors.As(err, &all), "want backend.ValidationErrors listing every field, got %T: %v", err, err)
	for _, f := range []string{backend.FieldFirstName, backend.FieldEmail, backend.FieldCustomerID, backend.FieldPhone} {
		assert.NotEmpty(t, all.Reason(f), "field %s is reported (got %v)", f, all.Fields())
	}
	assert.Empty(t, all.Reason(backend.FieldLastName), "valid fields are not reported")

	// The same on Update.
	h = s.writable(t, fixture())
	cur, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	cur.LastName, cur.Email = "", "@"
	_, err = h.Backend.Update(ctx(t), "hhuber", cur)
	all = nil
	require.Truef(t, errors.As(err, &all), "Update: want backend.ValidationErrors, got %T: %v", err, err)
	assert.NotEmpty(t, all.Reason(backend.FieldLastName))
	assert.NotEmpty(t, all.Reason(backend.FieldEmail))
}

func (s *suite) testAccountInvalidState(t *testing.T) {
	h := s.open(t, fixture())
	for login, pw := range map[string]string{"aschmidt": pwAnna, "ttemp": pwTom} {
		_, err := h.Backend.Authenticate(ctx(t), login, pw)
		requireKind(t, err, backend.ErrAccountInvalid, login)
		var ae *backend.AccountInvalidError
		require.Truef(t, errors.As(err, &ae), "%s: want *backend.AccountInvalidError, got %T", login, err)
		assert.Equal(t, seedUser(login).Valid, ae.State, login)
	}
}

func (s *suite) testPasswordOver72(t *testing.T) {
	h := s.writable(t, fixture())
	at72 := strings.Repeat("ab", 35) + "-z" // 72 bytes
	require.Len(t, at72, backend.MaxNewPasswordBytes)
	require.NoError(t, h.Backend.SetPassword(ctx(t), "mmuster", at72), "72 bytes are allowed")
	_, err := h.Backend.Authenticate(ctx(t), "mmuster", at72)
	require.NoError(t, err)
	_, err = h.Backend.Authenticate(ctx(t), "mmuster", at72[:71]+"y")
	requireKind(t, err, backend.ErrInvalidCredentials, "the 72nd byte counts")

	for _, long := range []string{at72 + "x", strings.Repeat("ä", 37), strings.Repeat("p", 100)} {
		err := h.Backend.SetPassword(ctx(t), "mmuster", long)
		ve := requireValidation(t, err, "%d bytes", len(long))
		assert.Equal(t, backend.FieldPassword, ve.Field)
		assert.Contains(t, ve.Reason, "72", "the reason says why")
		assert.NotContains(t, err.Error(), long)
		_, err = h.Backend.Add(ctx(t), newUser("long-pw"), long)
		requireValidation(t, err, "Add with %d bytes", len(long))
		_, err = h.Backend.Get(ctx(t), "long-pw")
		requireKind(t, err, backend.ErrNotFound, "the refused Add stored nothing")
	}
	_, err = h.Backend.Authenticate(ctx(t), "mmuster", at72)
	require.NoError(t, err, "refused passwords changed nothing")
}

// testRefusalTiming compares the median time of every kind of refused login
// with that of a wrong password for an existing user. They must be within
// 20% of each other: otherwise an attacker learns which logins exist, or
// which have a password, from the timing alone. Harnesses hash at the
// minimum bcrypt cost; the rounds are interleaved so that load on the
// machine affects every kind alike.
func (s *suite) testRefusalTiming(t *testing.T) {
	if raceEnabled {
		t.Skip("timing is measured without the race detector (its instrumentation slows bcrypt a hundredfold); " +
			"make test runs this case in a separate step without -race (make timing)")
	}
	h := s.open(t, fixture())
	if h.Caps.NoTimingCase {
		t.Skip("harness cannot be timed (Capabilities.NoTimingCase)")
	}
	b := h.Backend
	type attempt struct{ login, password string }
	kinds := map[string]attempt{
		"wrong password":         {"hhuber", "not the password"},
		"unknown login":          {"nobody-at-all", "not the password"},
		"empty password":         {"hhuber", ""},
		"password with NUL":      {"hhuber", "not\x00the password"},
		"password over the size": {"hhuber", strings.Repeat("p", backend.MaxPasswordBytes+1)},
		"user without password":  {"hans.meier", "not the password"},
		"malformed login":        {"bad\x00login", "not the password"},
		"empty login":            {"", "not the password"},
		"megabyte login":         {strings.Repeat("x", 1<<20), "not the password"},
		"invalid user, wrong pw": {"aschmidt", "not the password"},
	}
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	run := func(a attempt) time.Duration {
		start := time.Now()
		_, err := b.Authenticate(ctx(t), a.login, a.password)
		d := time.Since(start)
		requireKind(t, err, backend.ErrInvalidCredentials, "%.20q", a.login)
		return d
	}
	for range 15 { // warm up: connections, caches, the backend's own timing
		run(kinds["wrong password"])
	}
	const rounds = 41
	var lastReport string
	for try := 0; try < 3; try++ {
		samples := map[string][]time.Duration{}
		for range rounds {
			order := slices.Clone(names)
			rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, n := range order {
				samples[n] = append(samples[n], run(kinds[n]))
			}
		}
		median := func(ds []time.Duration) time.Duration {
			ds = slices.Clone(ds)
			slices.Sort(ds)
			return ds[len(ds)/2]
		}
		ref := median(samples["wrong password"])
		var bad []string
		var report strings.Builder
		for _, n := range names {
			m := median(samples[n])
			ratio := float64(m) / float64(ref)
			fmt.Fprintf(&report, "  %-24s median %10v  %.2fx\n", n, m, ratio)
			// 20%, plus 100 µs for timer granularity on very fast backends.
			slack := float64(100*time.Microsecond) / float64(ref)
			if ratio < 0.8-slack || ratio > 1.2+slack {
				bad = append(bad, n)
			}
		}
		lastReport = report.String()
		if len(bad) == 0 {
			t.Logf("refused logins against a wrong password (try %d):\n%s", try+1, lastReport)
			return
		}
		t.Logf("try %d: %v outside 20%% of a wrong password:\n%s", try+1, bad, lastReport)
	}
	t.Errorf("refused logins do not take the time of a wrong password (3 tries):\n%s", lastReport)
}

func (s *suite) testUniqueUnderConcurrency(t *testing.T) {
	h := s.writable(t, nil)
	const n = 20
	spellings := []string{"race-user", "RACE-USER", "Race-User", "race-USER", "RACE-user"}
	var (
		wg                      sync.WaitGroup
		mu                      sync.Mutex
		okEmail, okLogin        int
		errsEmail, errsLogin    []error
		start                   = make(chan struct{})
		sameEmail, sameLoginPfx = "shared@race.example.org", "race-login-"
	)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			u := newUser(fmt.Sprintf("%s%02d", sameLoginPfx, i))
			u.Email = sameEmail
			_, err := h.Backend.Add(ctx(t), u, "")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				okEmail++
			} else {
				errsEmail = append(errsEmail, err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			u := newUser(spellings[i%len(spellings)])
			u.Email = fmt.Sprintf("race%02d@race.example.org", i)
			_, err := h.Backend.Add(ctx(t), u, "")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				okLogin++
			} else {
				errsLogin = append(errsLogin, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 1, okLogin, "one of %d concurrent Adds of one login succeeds", n)
	for _, err := range errsLogin {
		requireKind(t, err, backend.ErrDuplicateLogin)
	}
	users, err := h.Backend.Search(ctx(t), backend.Query{Login: "race-user", IncludeInvalid: true})
	require.NoError(t, err)
	assert.Len(t, users, 1, "one user holds the login")
	byEmail, err := h.Backend.Search(ctx(t), backend.Query{Email: sameEmail, IncludeInvalid: true})
	require.NoError(t, err)
	if h.Caps.AllowDuplicateEmail {
		assert.Equal(t, n, okEmail, "duplicate emails are allowed")
		assert.Len(t, byEmail, n)
		return
	}
	assert.Equal(t, 1, okEmail, "one of %d concurrent Adds with one email succeeds", n)
	for _, err := range errsEmail {
		requireKind(t, err, backend.ErrDuplicateEmail)
	}
	assert.Len(t, byEmail, 1, "one user holds the email")
}
