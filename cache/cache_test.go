package cache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/cache"
)

func newCache(t testing.TB, b backend.CustomerUserBackend, cfg cache.Config) *cache.Cache {
	t.Helper()
	c, err := cache.New(b, cfg)
	require.NoError(t, err)
	return c
}

func TestNewRefusesABadConfig(t *testing.T) {
	_, err := cache.New(nil, cache.Config{})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	_, err = cache.New(memory(t), cache.Config{MaxEntries: -1})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.Contains(t, err.Error(), "Config.MaxEntries")
	_, err = cache.New(memory(t), cache.Config{ReadLag: -time.Second})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.Contains(t, err.Error(), "Config.ReadLag")
	_, err = cache.NewGroupStore(nil, cache.GroupConfig{})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
}

func TestGetIsCachedByIdentity(t *testing.T) {
	b := memory(t, "Anna")
	c := newCache(t, b, cache.Config{})
	for _, login := range []string{"Anna", "anna", " ANNA ", "anna"} {
		u, err := c.Get(t.Context(), login)
		require.NoError(t, err)
		assert.Equal(t, "Anna", u.Login)
		assert.Equal(t, "mem", u.Source)
	}
	assert.EqualValues(t, 1, b.gets.Load(), "one backend call for every spelling of one identity")
	st := c.Stats()
	assert.EqualValues(t, 3, st.Hits)
	assert.EqualValues(t, 1, st.Misses)
	assert.Equal(t, 1, st.Entries)
	assert.InDelta(t, 0.75, st.HitRate(), 1e-9)
}

func TestAHitIsTheCallersCopy(t *testing.T) {
	b := memory(t)
	u := sampleUser("multi")
	u.CustomerIDs = []string{"Other", "Third"}
	_, err := b.Add(t.Context(), u, "")
	require.NoError(t, err)
	c := newCache(t, b, cache.Config{})
	first, err := c.Get(t.Context(), "multi")
	require.NoError(t, err)
	first.CustomerIDs[0] = "changed by the caller"
	second, err := c.Get(t.Context(), "multi")
	require.NoError(t, err)
	assert.Equal(t, "Other", second.CustomerIDs[0])
	res, err := c.Search(t.Context(), backend.Query{Login: "multi"})
	require.NoError(t, err)
	res[0].CustomerIDs[0] = "changed"
	res, err = c.Search(t.Context(), backend.Query{Login: "multi"})
	require.NoError(t, err)
	assert.Equal(t, "Other", res[0].CustomerIDs[0])
	assert.EqualValues(t, 1, b.searches.Load())
}

func TestTTLExpiryWithAnInjectedClock(t *testing.T) {
	clk := newClock()
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{Now: clk.Now, GetTTL: time.Minute, NotFoundTTL: 5 * time.Second,
		SearchTTL: 20 * time.Second, EmailTTL: 40 * time.Second})
	ctx := t.Context()
	get := func(login string) {
		t.Helper()
		_, _ = c.Get(ctx, login)
	}
	search := func(q backend.Query) {
		t.Helper()
		_, err := c.Search(ctx, q)
		require.NoError(t, err)
	}
	get("anna")
	get("nobody")
	search(backend.Query{Search: "anna"})
	search(backend.Query{Email: "anna@example.com"})
	require.EqualValues(t, 2, b.gets.Load())
	require.EqualValues(t, 2, b.searches.Load())

	clk.Advance(4 * time.Second) // everything still fresh
	get("anna")
	get("nobody")
	search(backend.Query{Search: "anna"})
	search(backend.Query{Email: "anna@example.com"})
	assert.EqualValues(t, 2, b.gets.Load())
	assert.EqualValues(t, 2, b.searches.Load())

	clk.Advance(2 * time.Second) // 6 s: "not found" expired
	get("anna")
	get("nobody")
	assert.EqualValues(t, 3, b.gets.Load(), "only the not-found entry expired")

	clk.Advance(15 * time.Second) // 21 s: searches expired, email lookup not
	search(backend.Query{Search: "anna"})
	search(backend.Query{Email: "anna@example.com"})
	assert.EqualValues(t, 3, b.searches.Load())

	clk.Advance(20 * time.Second) // 41 s: email lookup expired
	search(backend.Query{Email: "anna@example.com"})
	assert.EqualValues(t, 4, b.searches.Load())
	get("anna")
	assert.EqualValues(t, 3, b.gets.Load(), "the user is kept a minute")

	clk.Advance(20 * time.Second) // 61 s
	get("anna")
	assert.EqualValues(t, 4, b.gets.Load())
}

func TestNegativeTTLTurnsAKindOff(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{GetTTL: -1, NotFoundTTL: -1, SearchTTL: -1})
	for range 3 {
		_, err := c.Get(t.Context(), "anna")
		require.NoError(t, err)
		_, err = c.Search(t.Context(), backend.Query{Search: "anna"})
		require.NoError(t, err)
		_, err = c.Search(t.Context(), backend.Query{Email: "anna@example.com"})
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, b.gets.Load())
	assert.EqualValues(t, 4, b.searches.Load(), "email lookups are still cached (EmailTTL default)")
}

func TestNotFoundIsCachedAndAddInvalidatesIt(t *testing.T) {
	b := memory(t)
	c := newCache(t, b, cache.Config{})
	for range 2 {
		_, err := c.Get(t.Context(), "Newcomer")
		require.ErrorIs(t, err, backend.ErrNotFound)
	}
	require.EqualValues(t, 1, b.gets.Load())
	_, err := c.Add(t.Context(), sampleUser("newcomer"), "")
	require.NoError(t, err)
	u, err := c.Get(t.Context(), "NEWCOMER")
	require.NoError(t, err, "the remembered not-found is gone after Add")
	assert.Equal(t, "newcomer", u.Login)
}

func TestErrorsAreNotCached(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	down := fmt.Errorf("customeruser mem: get: %w", backend.ErrUnavailable)
	b.getErr.Store(&down)
	for range 3 {
		_, err := c.Get(t.Context(), "anna")
		require.ErrorIs(t, err, backend.ErrUnavailable)
	}
	assert.EqualValues(t, 3, b.gets.Load(), "every call asks the backend while it fails")
	b.getErr.Store(nil)
	u, err := c.Get(t.Context(), "anna")
	require.NoError(t, err)
	assert.Equal(t, "anna", u.Login)

	// Refused input is an error too: asked every time, never stored.
	for range 2 {
		_, err = c.Get(t.Context(), "bad\x00login")
		require.ErrorIs(t, err, backend.ErrInvalidInput)
		_, err = c.Search(t.Context(), backend.Query{Limit: -1})
		require.ErrorIs(t, err, backend.ErrInvalidInput)
	}
	assert.EqualValues(t, 2, b.searches.Load())
	assert.Equal(t, 1, c.Stats().Entries)
}

func TestACancelledContextIsAnErrorEvenOnAHit(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	_, err := c.Get(t.Context(), "anna")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Get(ctx, "anna")
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "customeruser mem: get")
	_, err = c.Search(ctx, backend.Query{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestAuthenticateIsNeverServedFromTheCache(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	for range 3 {
		u, err := c.Authenticate(t.Context(), "anna", "secret-anna")
		require.NoError(t, err)
		assert.Equal(t, "anna", u.Login)
	}
	assert.EqualValues(t, 3, b.auths.Load())
	require.NoError(t, c.SetPassword(t.Context(), "anna", "new-secret"))
	_, err := c.Authenticate(t.Context(), "anna", "secret-anna")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials, "the old password never works after a change")
	_, err = c.Authenticate(t.Context(), "anna", "new-secret")
	require.NoError(t, err)
}

func TestSingleflightOneBackendCallFor50ConcurrentMisses(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	gate := make(chan struct{})
	b.gate.Store(&gate)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			u, err := c.Get(t.Context(), "Anna")
			if err == nil && u.Login != "anna" {
				err = fmt.Errorf("got %q", u.Login)
			}
			errs <- err
		})
	}
	// All 50 have missed before the backend answers.
	require.Eventually(t, func() bool { return c.Stats().Misses == 50 }, 10*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, b.gets.Load(), "50 concurrent misses of one identity make one backend call")
}

func TestAWaiterWhoseContextEndsStopsWaiting(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	gate := make(chan struct{})
	b.gate.Store(&gate)
	leader := make(chan error, 1)
	go func() {
		_, err := c.Get(t.Context(), "anna")
		leader <- err
	}()
	require.Eventually(t, func() bool { return b.gets.Load() == 1 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, "anna")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	close(gate)
	require.NoError(t, <-leader)
}

func TestALeaderWhoseContextEndsDoesNotFailTheOthers(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	gate := make(chan struct{})
	b.gate.Store(&gate)
	ctx, cancel := context.WithCancel(t.Context())
	leader := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "anna")
		leader <- err
	}()
	require.Eventually(t, func() bool { return b.gets.Load() == 1 }, 10*time.Second, time.Millisecond)
	follower := make(chan error, 1)
	go func() {
		_, err := c.Get(t.Context(), "anna")
		follower <- err
	}()
	require.Eventually(t, func() bool { return c.Stats().Misses == 2 }, 10*time.Second, time.Millisecond)
	time.Sleep(5 * time.Millisecond) // let the follower join the call
	cancel()
	require.ErrorIs(t, <-leader, context.Canceled)
	close(gate)
	require.NoError(t, <-follower, "the follower asks again on its own context")
}

func TestUpdateInvalidatesTheRecordAndTheSearches(t *testing.T) {
	b := memory(t, "anna", "bert")
	c := newCache(t, b, cache.Config{})
	ctx := t.Context()
	u, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	_, err = c.Get(ctx, "bert")
	require.NoError(t, err)
	res, err := c.Search(ctx, backend.Query{Search: "first"})
	require.NoError(t, err)
	require.Len(t, res, 2)

	u.City = "Graz"
	_, err = c.Update(ctx, "ANNA", u)
	require.NoError(t, err)
	got, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	assert.Equal(t, "Graz", got.City)
	res, err = c.Search(ctx, backend.Query{Search: "first"})
	require.NoError(t, err)
	assert.Equal(t, "Graz", res[0].City)

	// SetValid is an Update with Valid.
	u = got
	u.Valid = backend.Invalid
	_, err = c.Update(ctx, "anna", u)
	require.NoError(t, err)
	got, err = c.Get(ctx, "anna")
	require.NoError(t, err)
	assert.Equal(t, backend.Invalid, got.Valid)
	res, err = c.Search(ctx, backend.Query{Search: "first"})
	require.NoError(t, err)
	assert.Equal(t, []string{"bert"}, loginsOf(res))

	// bert's entry was not touched by anna's writes.
	gets := b.gets.Load()
	_, err = c.Get(ctx, "bert")
	require.NoError(t, err)
	assert.Equal(t, gets, b.gets.Load(), "writes invalidate only what they affect")
}

func loginsOf(users []backend.CustomerUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login
	}
	return out
}

func TestRenameInvalidatesTheOldAndTheNewLogin(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	ctx := t.Context()
	u, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	_, err = c.Get(ctx, "Hanna")
	require.ErrorIs(t, err, backend.ErrNotFound) // remembered
	u.Login = "hanna"
	_, err = c.Update(ctx, "anna", u)
	require.NoError(t, err)
	_, err = c.Get(ctx, "Anna")
	require.ErrorIs(t, err, backend.ErrNotFound, "the old login is gone")
	got, err := c.Get(ctx, "HANNA")
	require.NoError(t, err, "the remembered not-found of the new login is gone")
	assert.Equal(t, "hanna", got.Login)
	res, err := c.Search(ctx, backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	assert.Equal(t, []string{"hanna"}, loginsOf(res), "the email lookup shows the new login")
}

func TestEmailChangeInvalidatesTheOldAndTheNewEmail(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	ctx := t.Context()
	lookup := func(email string, q backend.Query) []string {
		t.Helper()
		q.Email = email
		res, err := c.Search(ctx, q)
		require.NoError(t, err)
		return loginsOf(res)
	}
	assert.Equal(t, []string{"anna"}, lookup("ANNA@example.com", backend.Query{}))
	assert.Equal(t, []string{"anna"}, lookup("anna@example.com", backend.Query{IncludeInvalid: true, Limit: 5}))
	assert.Empty(t, lookup("anna.new@example.com", backend.Query{}))
	searches := b.searches.Load()
	assert.Empty(t, lookup("Anna.New@example.com", backend.Query{}))
	require.Equal(t, searches, b.searches.Load(), "the empty answer is cached, by identity")

	u, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	u.Email = "anna.new@example.com"
	_, err = c.Update(ctx, "anna", u)
	require.NoError(t, err)
	assert.Empty(t, lookup("anna@example.com", backend.Query{}), "the old email finds nobody")
	assert.Empty(t, lookup("anna@example.com", backend.Query{IncludeInvalid: true, Limit: 5}))
	assert.Equal(t, []string{"anna"}, lookup("anna.new@example.com", backend.Query{}), "the new email finds her")
}

func TestFailedWritesInvalidateNothing(t *testing.T) {
	var invs []cache.Invalidation
	b := memory(t, "anna", "bert")
	c := newCache(t, b, cache.Config{OnInvalidate: func(inv cache.Invalidation) { invs = append(invs, inv) }})
	ctx := t.Context()
	_, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	_, err = c.Add(ctx, sampleUser("anna"), "")
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
	u := sampleUser("anna")
	u.Email = "bert@example.com"
	_, err = c.Update(ctx, "anna", u)
	require.ErrorIs(t, err, backend.ErrDuplicateEmail)
	require.ErrorIs(t, c.SetPassword(ctx, "nobody", "x-password"), backend.ErrNotFound)
	assert.Empty(t, invs)
	gets := b.gets.Load()
	_, err = c.Get(ctx, "anna")
	require.NoError(t, err)
	assert.Equal(t, gets, b.gets.Load(), "still a hit")
	assert.Zero(t, c.Stats().Invalidations)
}

func TestOnInvalidateGetsWhatAWriteAffected(t *testing.T) {
	var invs []cache.Invalidation
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{OnInvalidate: func(inv cache.Invalidation) { invs = append(invs, inv) }})
	ctx := t.Context()
	u, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	u.Login, u.Email = "Hanna", "hanna@example.com"
	_, err = c.Update(ctx, "ANNA", u)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	assert.Equal(t, cache.Invalidation{Logins: []string{"anna", "Hanna"},
		Emails: []string{"anna@example.com", "hanna@example.com"}, Searches: true}, invs[0])
	_, err = c.Add(ctx, sampleUser("carl"), "")
	require.NoError(t, err)
	require.NoError(t, c.SetPassword(ctx, "carl", "a-password"))
	require.Len(t, invs, 3)
	assert.Equal(t, cache.Invalidation{Logins: []string{"carl"}, Emails: []string{"carl@example.com"}, Searches: true}, invs[1])
	assert.Equal(t, invs[1], invs[2])
	assert.EqualValues(t, 3, c.Stats().Invalidations)
}

func TestInvalidateAppliesARemoteWrite(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	ctx := t.Context()
	_, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	_, err = c.Search(ctx, backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	_, err = c.Search(ctx, backend.Query{Search: "anna"})
	require.NoError(t, err)

	c.Invalidate(cache.Invalidation{Logins: []string{"ANNA"}})
	_, err = c.Get(ctx, "anna")
	require.NoError(t, err)
	assert.EqualValues(t, 2, b.gets.Load())
	_, err = c.Search(ctx, backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	_, err = c.Search(ctx, backend.Query{Search: "anna"})
	require.NoError(t, err)
	assert.EqualValues(t, 2, b.searches.Load(), "only the login was named")

	c.Invalidate(cache.Invalidation{All: true})
	_, err = c.Get(ctx, "anna")
	require.NoError(t, err)
	_, err = c.Search(ctx, backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	_, err = c.Search(ctx, backend.Query{Search: "anna"})
	require.NoError(t, err)
	assert.EqualValues(t, 3, b.gets.Load())
	assert.EqualValues(t, 4, b.searches.Load())
}

func TestEntriesAreBoundedLeastRecentlyUsedFirst(t *testing.T) {
	logins := make([]string, 20)
	for i := range logins {
		logins[i] = fmt.Sprintf("user%02d", i)
	}
	b := memory(t, logins...)
	c := newCache(t, b, cache.Config{MaxEntries: 10})
	ctx := t.Context()
	for _, l := range logins[:10] {
		_, err := c.Get(ctx, l)
		require.NoError(t, err)
	}
	_, err := c.Get(ctx, "user00") // now the most recently used
	require.NoError(t, err)
	for _, l := range logins[10:15] {
		_, err := c.Get(ctx, l)
		require.NoError(t, err)
	}
	st := c.Stats()
	assert.Equal(t, 10, st.Entries)
	assert.EqualValues(t, 5, st.Evictions)
	gets := b.gets.Load()
	_, err = c.Get(ctx, "user00")
	require.NoError(t, err)
	assert.Equal(t, gets, b.gets.Load(), "the recently used entry stayed")
	_, err = c.Get(ctx, "user01")
	require.NoError(t, err)
	assert.Equal(t, gets+1, b.gets.Load(), "the least recently used went first")
}

// TestAMissThatRacesAWriteDoesNotStoreTheOldRecord makes a Get read the old
// record, then lets an Update through the Cache complete before that Get
// stores what it read: the next Get must show the new record.
func TestAMissThatRacesAWriteDoesNotStoreTheOldRecord(t *testing.T) {
	b := memory(t, "anna")
	c := newCache(t, b, cache.Config{})
	ctx := t.Context()
	read := make(chan struct{})
	resume := make(chan struct{})
	hook := func() {
		close(read)
		<-resume
	}
	b.afterGet.Store(&hook)
	stale := make(chan backend.CustomerUser, 1)
	go func() {
		u, err := c.Get(ctx, "anna")
		assert.NoError(t, err)
		stale <- u
	}()
	<-read // the Get has the old record in hand
	b.afterGet.Store(nil)
	u := sampleUser("anna")
	u.City = "Linz"
	_, err := c.Update(ctx, "anna", u)
	require.NoError(t, err)
	close(resume)
	assert.Empty(t, (<-stale).City, "the racing Get returns what it read")
	got, err := c.Get(ctx, "anna")
	require.NoError(t, err)
	assert.Equal(t, "Linz", got.City, "but did not store it over the write")
}

// TestNoStaleReadUnderConcurrentWrites runs 100 goroutines: 20 writers, one
// per user, each updating its user's Comment to an increasing number
// (sometimes also its email) and publishing the number once the Update has
// returned; 80 readers that read a published number, then Get, Search and
// look up the user by email, and require a number at least as new.
func TestNoStaleReadUnderConcurrentWrites(t *testing.T) {
	const writers, readers, rounds = 20, 80, 60
	logins := make([]string, writers)
	for i := range logins {
		logins[i] = fmt.Sprintf("user%02d", i)
	}
	b := memory(t, logins...)
	c := newCache(t, b, cache.Config{MaxEntries: 64})
	ctx := t.Context()
	type published struct {
		n       int
		email   string
		pending string // the email a write under way may be setting
	}
	var mu sync.Mutex
	done := make([]published, writers)
	for i := range done {
		done[i].email = logins[i] + "@example.com"
		done[i].pending = done[i].email
	}
	version := func(u backend.CustomerUser) int {
		var n int
		if u.Comment != "" {
			_, err := fmt.Sscanf(u.Comment, "v%d", &n)
			require.NoError(t, err)
		}
		return n
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for n := 1; n <= rounds; n++ {
				u, err := c.Get(ctx, logins[w])
				if !assert.NoError(t, err) {
					return
				}
				u.Comment = fmt.Sprintf("v%d", n)
				if n%10 == 0 {
					u.Email = fmt.Sprintf("%s.%d@example.com", logins[w], n)
					mu.Lock()
					done[w].pending = u.Email
					mu.Unlock()
				}
				_, err = c.Update(ctx, logins[w], u)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				done[w] = published{n: n, email: u.Email, pending: u.Email}
				mu.Unlock()
			}
		})
	}
	var rg sync.WaitGroup
	for r := range readers {
		rg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				w := (r + i) % writers
				mu.Lock()
				p := done[w]
				mu.Unlock()
				switch i % 3 {
				case 0:
					u, err := c.Get(ctx, logins[w])
					if assert.NoError(t, err) {
						assert.GreaterOrEqual(t, version(u), p.n, "Get of %s after write %d completed", logins[w], p.n)
					}
				case 1:
					res, err := c.Search(ctx, backend.Query{Login: logins[w]})
					if assert.NoError(t, err) && assert.Len(t, res, 1) {
						assert.GreaterOrEqual(t, version(res[0]), p.n, "Search of %s after write %d", logins[w], p.n)
					}
				case 2:
					res, err := c.Search(ctx, backend.Query{Email: p.email})
					if assert.NoError(t, err) {
						// The email may have moved on since p was read,
						// never back: the user is found unless a newer
						// write changed it.
						for _, u := range res {
							assert.GreaterOrEqual(t, version(u), p.n, "email lookup of %s after write %d", p.email, p.n)
						}
						if len(res) == 0 {
							mu.Lock()
							moved := done[w].email != p.email || done[w].pending != p.email
							mu.Unlock()
							assert.True(t, moved, "email lookup of %s found nobody although it was not changed", p.email)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	st := c.Stats()
	t.Logf("stats: %+v", st)
	assert.Positive(t, st.Hits)
	assert.EqualValues(t, writers*rounds, st.Invalidations)
}

func TestAWriteWhoseReadBeforeFailsInvalidatesEverything(t *testing.T) {
	var invs []cache.Invalidation
	b := memory(t, "anna", "bert")
	c := newCache(t, b, cache.Config{OnInvalidate: func(inv cache.Invalidation) { invs = append(invs, inv) }})
	ctx := t.Context()
	res, err := c.Search(ctx, backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	require.Len(t, res, 1)
	_, err = c.Get(ctx, "bert")
	require.NoError(t, err)

	down := fmt.Errorf("customeruser mem: get: %w", backend.ErrUnavailable)
	b.getErr.Store(&down) // the read before the write fails; the write itself works
	u := sampleUser("anna")
	u.Email = "anna.new@example.com"
	_, err = c.Update(ctx, "anna", u)
	require.NoError(t, err)
	b.getErr.Store(nil)
	require.Len(t, invs, 1)
	assert.True(t, invs[0].All, "the old email is unknown: everything is invalidated")
	res, err = c.Search(ctx, backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	assert.Empty(t, res, "the old email lookup is not served stale")
	gets := b.gets.Load()
	_, err = c.Get(ctx, "bert")
	require.NoError(t, err)
	assert.Equal(t, gets+1, b.gets.Load())
}

func TestReadLagKeepsNothingReadSoonAfterAnInvalidation(t *testing.T) {
	clk := newClock()
	b := memory(t, "anna", "bert")
	c := newCache(t, b, cache.Config{Now: clk.Now, ReadLag: 5 * time.Second})
	ctx := t.Context()
	lookup := func(email string) {
		t.Helper()
		_, err := c.Search(ctx, backend.Query{Email: email})
		require.NoError(t, err)
	}
	lookup("anna@example.com")
	lookup("bert@example.com")
	require.EqualValues(t, 2, b.searches.Load())

	u, err := c.Get(ctx, "bert")
	require.NoError(t, err)
	u.City = "Wels"
	_, err = c.Update(ctx, "bert", u)
	require.NoError(t, err)
	gets := b.gets.Load()
	got, err := c.Get(ctx, "bert")
	require.NoError(t, err)
	assert.Equal(t, "Wels", got.City)
	assert.Equal(t, gets, b.gets.Load(), "the record the write returned is kept at once")

	lookup("anna@example.com") // not invalidated: a hit
	assert.EqualValues(t, 2, b.searches.Load())
	lookup("bert@example.com")
	lookup("bert@example.com")
	assert.EqualValues(t, 4, b.searches.Load(), "within ReadLag of the write, bert's lookups are not kept")
	clk.Advance(6 * time.Second)
	lookup("bert@example.com")
	lookup("bert@example.com")
	assert.EqualValues(t, 5, b.searches.Load(), "after it, they are")
}
