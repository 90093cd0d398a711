package memorybackend

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNgramBuildFlat checks that the flat-array build New uses for many
// users gives the same posting lists as the map build, and that the lists
// answer candidates as a direct search would.
func TestNgramBuildFlat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 1<<16 + 100
	recs := make([]*record, n)
	for i := range recs {
		recs[i] = &record{search: fmt.Sprintf("\x00u%d\x00%c%cé%d", i, 'a'+r.IntN(26), 'a'+r.IntN(26), r.IntN(1000))}
	}
	flat, byMap := newNgramIndex(), newNgramIndex()
	flat.build(recs)
	byMap.ids = flat.ids
	byMap.buildMap(recs)
	require.Len(t, flat.post, len(byMap.post))
	ids := func(p *postings) []uint32 {
		var out []uint32
		p.each(func(id uint32) { out = append(out, id) })
		return out
	}
	for g, p := range byMap.post {
		q := flat.post[g]
		require.NotNil(t, q, "list %06x", g)
		require.Equal(t, p.n, q.n, "list %06x", g)
		require.True(t, slices.Equal(ids(p), ids(q)), "list %06x", g)
	}
	for _, lit := range []string{"u6553", "é12", "\x00qz", "abc"} {
		var want []uint32
		for id, rec := range recs {
			if strings.Contains(rec.search, lit) {
				want = append(want, uint32(id))
			}
		}
		got := flat.candidates([]string{lit})
		// Candidates are a superset: every user holding the word is one.
		for _, id := range want {
			_, ok := slices.BinarySearch(got, id)
			require.True(t, ok, "%q: user %d missing", lit, id)
		}
	}
}

// TestSortKeysParallel checks the two-half sort New uses for many keys
// against one plain sort: same order, ties decided by rank.
func TestSortKeysParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	words := make([]string, 1<<16+500)
	keys := make([]sortKey, len(words))
	for i := range words {
		// Short and long keys, many equal: every branch of compareSortKeys.
		words[i] = fmt.Sprintf("%s%d", strings.Repeat("k", r.IntN(20)), r.IntN(50))
		keys[i] = newSortKey(words[i], i)
	}
	cmp := func(a, b sortKey) int {
		return compareSortKeys(a, b, func() string { return words[a.rank] }, func() string { return words[b.rank] })
	}
	want := slices.Clone(keys)
	slices.SortFunc(want, func(a, b sortKey) int {
		if c := strings.Compare(words[a.rank], words[b.rank]); c != 0 {
			return c
		}
		return int(a.rank) - int(b.rank)
	})
	got := sortKeys(keys, cmp)
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i].rank, got[i].rank, "position %d", i)
	}
}
