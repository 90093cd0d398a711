package backend_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

// pagedBackend records the queries All sends and can fail or misbehave.
type pagedBackend struct {
	backend.CustomerUserBackend
	mu      sync.Mutex
	queries []backend.Query
	failAt  int  // the Search call (1-based) that fails; 0: none
	stuck   bool // every page repeats the first one
}

func (p *pagedBackend) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	p.mu.Lock()
	p.queries = append(p.queries, q)
	n := len(p.queries)
	p.mu.Unlock()
	if p.failAt == n {
		return nil, fmt.Errorf("page %d: %w", n, backend.ErrUnavailable)
	}
	if p.stuck {
		q.After = ""
	}
	return p.CustomerUserBackend.Search(ctx, q)
}

func memoryWith(t *testing.T, n int) backend.CustomerUserBackend {
	t.Helper()
	users := make([]memorybackend.User, n)
	for i := range users {
		users[i].CustomerUser = backend.CustomerUser{
			Login: fmt.Sprintf("User%05d", i), FirstName: "F", LastName: "L",
			Email: fmt.Sprintf("u%05d@example.com", i), CustomerID: "ACME", Valid: backend.Valid,
		}
		if i%10 == 0 {
			users[i].Valid = backend.Invalid
		}
	}
	b, err := memorybackend.New(memorybackend.Config{Users: users})
	require.NoError(t, err)
	return b
}

func TestAllPagesThroughEveryUser(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 2500)}
	var got []string
	for u, err := range backend.All(t.Context(), p, backend.Query{IncludeInvalid: true, Limit: 100}) {
		require.NoError(t, err)
		got = append(got, u.Login)
	}
	require.Len(t, got, 2500)
	for i := 1; i < len(got); i++ {
		require.Negative(t, backend.CompareLogins(got[i-1], got[i]), "in result order")
	}
	// 25 full pages and the empty one that ends the listing; each asks for
	// one page of 100, never more (constant memory), after the last login.
	require.Len(t, p.queries, 26)
	for i, q := range p.queries {
		assert.Equal(t, 100, q.Limit)
		if i > 0 {
			assert.Equal(t, got[i*100-1], q.After)
		}
	}
}

func TestAllKeepsTheQueryAndStartsAfterTheCursor(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 300)}
	var got []string
	for u, err := range backend.All(t.Context(), p, backend.Query{After: "user00099", Limit: 50}) {
		require.NoError(t, err)
		require.Equal(t, backend.Valid, u.Valid, "only valid users without IncludeInvalid")
		got = append(got, u.Login)
	}
	// Users 100..299 minus every tenth (invalid).
	require.Len(t, got, 180)
	assert.Equal(t, "User00101", got[0])
	assert.Equal(t, "User00299", got[len(got)-1])
}

func TestAllDefaultPageIsMaxLimit(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 20)}
	n := 0
	for _, err := range backend.All(t.Context(), p, backend.Query{IncludeInvalid: true}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 20, n)
	require.Len(t, p.queries, 1, "a short first page ends the listing")
	assert.Equal(t, backend.MaxLimit, p.queries[0].Limit)
}

func TestAllStopsWhenTheLoopBreaks(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 1000)}
	n := 0
	for _, err := range backend.All(t.Context(), p, backend.Query{IncludeInvalid: true, Limit: 10}) {
		require.NoError(t, err)
		n++
		if n == 15 {
			break
		}
	}
	assert.Equal(t, 15, n)
	assert.Len(t, p.queries, 2, "no page is read after the loop stopped")
}

func TestAllYieldsAnErrorOnceAndEnds(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 100), failAt: 3}
	var users, errs int
	for u, err := range backend.All(t.Context(), p, backend.Query{IncludeInvalid: true, Limit: 10}) {
		if err != nil {
			errs++
			assert.ErrorIs(t, err, backend.ErrUnavailable)
			assert.Zero(t, u.Login)
			continue
		}
		users++
	}
	assert.Equal(t, 20, users, "the two pages before the failure")
	assert.Equal(t, 1, errs)
	assert.Len(t, p.queries, 3)
}

func TestAllRefusesAPageThatDoesNotAdvance(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 100), stuck: true}
	var users int
	var last error
	for _, err := range backend.All(t.Context(), p, backend.Query{IncludeInvalid: true, Limit: 10}) {
		if err != nil {
			last = err
			continue
		}
		users++
	}
	require.Error(t, last)
	assert.Contains(t, last.Error(), "does not advance")
	assert.Equal(t, 10, users)
	assert.Len(t, p.queries, 2)
}

func TestAllHonoursTheContext(t *testing.T) {
	p := &pagedBackend{CustomerUserBackend: memoryWith(t, 100)}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var users int
	var last error
	for _, err := range backend.All(ctx, p, backend.Query{IncludeInvalid: true, Limit: 10}) {
		if err != nil {
			last = err
			continue
		}
		users++
		if users == 5 {
			cancel()
		}
	}
	require.Error(t, last)
	assert.True(t, errors.Is(last, context.Canceled))
	assert.Equal(t, 10, users, "the page in hand is finished, the next is not read")
	assert.Len(t, p.queries, 1)
}

// BenchmarkAll lists 200,000 users of a memory backend with All in pages
// of 1,000 and reports the live heap above what it was before the listing,
// at its peak (measured after a collection every 20 pages, so garbage not
// yet collected does not count): it stays at about one page, however many
// users there are; backend-MB is what the backend itself holds.
func BenchmarkAll(b *testing.B) {
	const n, page = 200_000, 1000
	users := make([]memorybackend.User, n)
	for i := range users {
		users[i].CustomerUser = backend.CustomerUser{
			Login: fmt.Sprintf("user%07d", i), FirstName: "F", LastName: "L",
			Email: fmt.Sprintf("u%07d@example.com", i), CustomerID: "ACME", Valid: backend.Valid,
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	m, err := memorybackend.New(memorybackend.Config{Users: users})
	if err != nil {
		b.Fatal(err)
	}
	users = nil
	runtime.GC()
	runtime.ReadMemStats(&ms)
	held := ms.HeapAlloc - base
	list := func(sample func(count int)) {
		count := 0
		for _, err := range backend.All(context.Background(), m, backend.Query{Limit: page}) {
			if err != nil {
				b.Fatal(err)
			}
			count++
			sample(count)
		}
		if count != n {
			b.Fatalf("listed %d users, want %d", count, n)
		}
	}
	b.Run("time", func(b *testing.B) {
		for b.Loop() {
			list(func(int) {})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/user")
	})
	b.Run("heap", func(b *testing.B) {
		var peak uint64
		for b.Loop() {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			start := ms.HeapAlloc
			list(func(count int) {
				if count%(20*page) == page/2 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > start && ms.HeapAlloc-start > peak {
						peak = ms.HeapAlloc - start
					}
				}
			})
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-live-extra-heap-MB")
		b.ReportMetric(float64(held)/(1<<20), "backend-MB")
	})
	runtime.KeepAlive(m)
}

func ExampleAll() {
	users := make([]memorybackend.User, 0, 3)
	for _, login := range []string{"carla", "anna", "Bert"} {
		users = append(users, memorybackend.User{CustomerUser: backend.CustomerUser{
			Login: login, FirstName: login, LastName: "Example", Email: login + "@example.com",
			CustomerID: "ACME", Valid: backend.Valid,
		}})
	}
	b, _ := memorybackend.New(memorybackend.Config{Users: users})
	// Two users a page: the third comes from a second search.
	for u, err := range backend.All(context.Background(), b, backend.Query{Limit: 2}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(u.Login)
	}
	// Output:
	// anna
	// Bert
	// carla
}
