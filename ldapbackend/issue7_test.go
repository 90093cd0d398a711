package ldapbackend_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testldap"
)

// smallLimitOU is a fresh OU with 1,200 users that all match "bulk".
func smallLimitOU(t testing.TB, srv *testldap.Server) string {
	ou := srv.NewOU(t)
	require.NoError(t, srv.AddEntries(bulk(ou, 1200, "s")...))
	return ou
}

// allocatedBytes is what one call of fn allocates (the mean of runs calls).
func allocatedBytes(runs int, fn func()) uint64 {
	fn() // warm: connections, the search tables
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestSmallLimitIsCheap: a Limit-1 search over 1,200 matches allocated
// 7.9 MB when every match's login attribute was read and kept; reading the
// candidates' DNs only, page by page, and then whole entries in login order
// until the limit is met allocates about 3.5 MB, nearly all of it go-ldap
// decoding 1,200 DNs (about 3 KB each). The figures are in BENCHMARKS.md,
// from BenchmarkSearchSmallLimit.
func TestSmallLimitIsCheap(t *testing.T) {
	srv := testldap.Shared(t)
	ou := smallLimitOU(t, srv)
	b := newBackend(t, testConfig(srv, ou, false))
	for q, want := range map[backend.Query]string{{Limit: 1}: "s00000", {Limit: 1, Search: "bulk"}: "s00000", {Limit: 1, Search: "user 7"}: "s00007"} {
		var got []backend.CustomerUser
		n := allocatedBytes(3, func() {
			var err error
			got, err = b.Search(t.Context(), q)
			require.NoError(t, err)
		})
		require.Len(t, got, 1, "%+v", q)
		assert.Equal(t, want, got[0].Login)
		t.Logf("%+v: %d bytes allocated per call", q, n)
		assert.Less(t, n, uint64(5<<20), "a Limit-1 search over 1,200 matches allocates under 5 MB (was 7.9 MB): %+v", q)
	}
}

// BenchmarkSearchSmallLimit: Limit 1 over 1,200 matching users.
//
//	go test -run '^$' -bench SearchSmallLimit -benchtime 20x ./ldapbackend/
func BenchmarkSearchSmallLimit(b *testing.B) {
	if testing.Short() {
		b.Skip("needs slapd")
	}
	srv := testldap.Shared(b)
	ou := smallLimitOU(b, srv)
	be := newBackend(b, testConfig(srv, ou, false))
	for _, q := range []backend.Query{{Limit: 1}, {Limit: 1, Search: "bulk"}, {Limit: 250, Search: "bulk"}} {
		b.Run(fmt.Sprintf("limit=%d/search=%q", q.Limit, q.Search), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Search(b.Context(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
