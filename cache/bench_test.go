package cache_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/cache"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

const benchUsers = 10000

func benchLogins(n int) []string {
	logins := make([]string, n)
	for i := range logins {
		logins[i] = fmt.Sprintf("user%07d", i)
	}
	return logins
}

func benchMemory(b *testing.B, logins []string) *memorybackend.Backend {
	b.Helper()
	users := make([]memorybackend.User, len(logins))
	for i, l := range logins {
		users[i] = memorybackend.User{CustomerUser: sampleUser(l)}
	}
	m, err := memorybackend.New(memorybackend.Config{Name: "mem", Users: users})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkGet compares, in one run, a Cache hit with the plain memory
// backend's Get and with the floor of a plain map lookup (identity key and
// a read lock, as any concurrent map needs), over 10,000 users read in
// turn. The Cache's entries are warm.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	logins := benchLogins(benchUsers)
	mem := benchMemory(b, logins)
	c, err := cache.New(mem, cache.Config{MaxEntries: 2 * benchUsers})
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range logins {
		if _, err := c.Get(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
	plain := make(map[string]backend.CustomerUser, benchUsers)
	for _, l := range logins {
		u, _ := mem.Get(ctx, l)
		plain[backend.IdentityKey(l)] = u
	}
	var mu sync.RWMutex
	run := func(b *testing.B, get func(string) (backend.CustomerUser, error)) {
		i := 0
		for b.Loop() {
			u, err := get(logins[i%benchUsers])
			if err != nil || u.Login == "" {
				b.Fatal("no user", err)
			}
			i++
		}
	}
	b.Run("cache-hit", func(b *testing.B) {
		b.ReportAllocs()
		run(b, func(l string) (backend.CustomerUser, error) { return c.Get(ctx, l) })
	})
	b.Run("memorybackend", func(b *testing.B) {
		b.ReportAllocs()
		run(b, func(l string) (backend.CustomerUser, error) { return mem.Get(ctx, l) })
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		run(b, func(l string) (backend.CustomerUser, error) {
			mu.RLock()
			u := plain[backend.IdentityKey(l)]
			mu.RUnlock()
			return u, nil
		})
	})
	// A login spelled with capitals needs its identity key built (one
	// allocation, in backend.IdentityKey).
	upper := make([]string, benchUsers)
	for i, l := range logins {
		upper[i] = "U" + l[1:]
	}
	b.Run("cache-hit-capitalised", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := c.Get(ctx, upper[i%benchUsers]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("cache-hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var seq atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1)) * 7919
			for pb.Next() {
				if _, err := c.Get(ctx, logins[i%benchUsers]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
	st := c.Stats()
	b.Logf("cache stats: %+v", st)
}

// BenchmarkSearchHit is an email lookup and a search answered from the
// Cache, against the memory backend answering them itself.
func BenchmarkSearchHit(b *testing.B) {
	ctx := context.Background()
	logins := benchLogins(benchUsers)
	mem := benchMemory(b, logins)
	c, err := cache.New(mem, cache.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    backend.Query
	}{
		{"email", backend.Query{Email: "user0000042@example.com"}},
		{"search", backend.Query{Search: "user00001*", Limit: 10}},
	} {
		for _, impl := range []struct {
			name string
			b    backend.CustomerUserBackend
		}{{"cache", c}, {"memorybackend", mem}} {
			b.Run(tc.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					res, err := impl.b.Search(ctx, tc.q)
					if err != nil || len(res) == 0 {
						b.Fatal("no result", err)
					}
				}
			})
		}
	}
}

// fakeUsers is a backend of 1M users that exist without being stored: Get
// builds the user from the login, and counts the calls.
type fakeUsers struct {
	backend.CustomerUserBackend
	gets atomic.Int64
}

func (f *fakeUsers) Name() string { return "fake" }

func (f *fakeUsers) Get(_ context.Context, login string) (backend.CustomerUser, error) {
	f.gets.Add(1)
	return backend.CustomerUser{Login: login, FirstName: "F", LastName: "L", Email: login + "@example.com",
		CustomerID: "ACME", Valid: backend.Valid, Source: "fake"}, nil
}

// BenchmarkZipfHitRate reads 1,000,000 users through a 100,000-entry Cache
// with Zipf-distributed popularity (math/rand/v2, exponents 1.01 to 1.3:
// 1.01 is close to uniform over the popular head, 1.3 a few very busy
// accounts). The cache is warmed with 1M requests first; hit-% is the hit
// rate of the timed requests.
func BenchmarkZipfHitRate(b *testing.B) {
	const users, entries = 1_000_000, 100_000
	logins := benchLogins(users)
	ctx := context.Background()
	for _, s := range []float64{1.01, 1.1, 1.2, 1.3} {
		b.Run(fmt.Sprintf("s=%.2f", s), func(b *testing.B) {
			f := &fakeUsers{}
			c, err := cache.New(f, cache.Config{MaxEntries: entries})
			if err != nil {
				b.Fatal(err)
			}
			// A fixed popularity order unrelated to login order.
			perm := rand.New(rand.NewPCG(1, 2)).Perm(users)
			z := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), s, 1, users-1)
			for range users {
				if _, err := c.Get(ctx, logins[perm[z.Uint64()]]); err != nil {
					b.Fatal(err)
				}
			}
			before := c.Stats()
			for b.Loop() {
				if _, err := c.Get(ctx, logins[perm[z.Uint64()]]); err != nil {
					b.Fatal(err)
				}
			}
			st := c.Stats()
			hits, misses := st.Hits-before.Hits, st.Misses-before.Misses
			b.ReportMetric(100*float64(hits)/float64(hits+misses), "hit-%")
			b.ReportMetric(float64(st.Evictions), "evictions")
		})
	}
}

// BenchmarkUpdate is the cost a write pays for the Cache: the read before
// it (one backend Get, for the old email), the invalidation and keeping the
// record it returned, against the memory backend's Update alone.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	logins := benchLogins(1000)
	mem := benchMemory(b, logins)
	c, err := cache.New(mem, cache.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []struct {
		name string
		b    backend.CustomerUserBackend
	}{{"cache", c}, {"memorybackend", mem}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				u := sampleUser(logins[i%len(logins)])
				u.Comment = strconv.Itoa(i)
				if _, err := impl.b.Update(ctx, u.Login, u); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
