package memorybackend

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

// checkSeq verifies the shape of a seq: no empty or overfull chunk, the
// right count, items in order by cmp (strictly).
func checkSeq[T any](t testing.TB, name string, s *seq[T], dups bool, cmp func(a, b *T) int) []T {
	t.Helper()
	var all []T
	for _, ch := range s.chunks {
		require.NotEmpty(t, ch, "%s: empty chunk", name)
		require.LessOrEqual(t, len(ch), chunkMax, "%s: overfull chunk", name)
		all = append(all, ch...)
	}
	require.Len(t, all, s.n, "%s: count", name)
	for i := 1; i < len(all); i++ {
		if c := cmp(&all[i-1], &all[i]); c > 0 || c == 0 && !dups {
			t.Fatalf("%s: out of order at %d", name, i)
		}
	}
	return all
}

// checkInvariants verifies that every index agrees with the stored users.
func checkInvariants(t testing.TB, b *Backend) {
	t.Helper()
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := b.s
	order := checkSeq(t, "order", &s.order, false, func(a, b *slot) int { return strings.Compare(a.rec.loginKey, b.rec.loginKey) })
	require.Len(t, s.byLogin, len(order), "login index size")
	byLogin := func(a, b *record) int { return strings.Compare(a.loginKey, b.loginKey) }
	emails := 0
	for k, r := range s.byEmail {
		list := s.emails(k)
		require.Same(t, r, list[0], "first user of email %q", k)
		if !b.cfg.dupEmail {
			require.Len(t, list, 1, "email %q held twice", k)
		}
		for _, r := range list {
			require.Equal(t, k, r.emailKey())
		}
		require.True(t, slices.IsSortedFunc(list, byLogin), "email list of %q in login order", k)
		emails += len(list)
	}
	for k, list := range s.emailMore {
		require.Greater(t, len(list), 1, "email %q listed with one user", k)
	}
	require.Equal(t, len(order), emails, "email index size")
	customers := 0
	for k, list := range s.byCustomer {
		require.NotEmpty(t, list, "empty customer list for %q", k)
		for _, r := range list {
			require.Contains(t, r.custKeys, k)
		}
		require.True(t, slices.IsSortedFunc(list, byLogin), "customer list of %q in login order", k)
		customers += len(list)
	}
	ids := 0
	for _, sl := range order {
		ids += len(sl.rec.custKeys)
		want := []string{}
		for _, id := range sl.rec.user.AllCustomerIDs() {
			want = append(want, backend.IdentityKey(id))
		}
		require.Equal(t, want, append([]string{}, sl.rec.custKeys...), "customer keys of %q", sl.rec.user.Login)
	}
	require.Equal(t, ids, customers, "customer index size")
	var want []prefixEntry
	for _, sl := range order {
		r := sl.rec
		require.Equal(t, r.search, sl.search)
		require.Equal(t, newSlot(r, s.keepIndex).mask, sl.mask, "mask of %q", r.user.Login)
		require.Same(t, r, s.byLogin[r.loginKey])
		require.Equal(t, backend.IdentityKey(r.user.Login), r.loginKey)
		search := r.search
		s.refresh(r)
		require.Equal(t, search, r.search, "search string of %q", r.user.Login)
		fieldOffsets(r.search, func(off int, v string) {
			want = append(want, newPrefixEntry(r, off, v))
			require.Equal(t, v, want[len(want)-1].key())
		})
		if len(r.custKeys) == 1 {
			require.Equal(t, s.custIntern[r.custKeys[0]], r.custKeys, "shared customer keys")
		}
	}
	if !s.keepIndex {
		require.Zero(t, s.prefix.n)
	} else {
		// Ordered by (key, login key); a user holding one value in two
		// fields has two equal entries.
		got := checkSeq(t, "prefix", &s.prefix, true, comparePrefix)
		slices.SortFunc(want, func(a, b prefixEntry) int { return comparePrefix(&a, &b) })
		require.Equal(t, len(want), len(got), "prefix index size")
		for i := range want {
			if want[i].rec != got[i].rec || want[i].key() != got[i].key() || want[i].pfx != got[i].pfx || want[i].off&longKey != got[i].off&longKey {
				t.Fatalf("prefix entry %d: %q of %q, want %q of %q", i, got[i].key(), got[i].rec.user.Login, want[i].key(), want[i].rec.user.Login)
			}
		}
	}
	checkNgram(t, s, order)
}

// checkNgram verifies the trigram index against the users in order.
func checkNgram(t testing.TB, s *store, order []slot) {
	t.Helper()
	x := s.ngram
	if x == nil {
		return
	}
	live := 0
	for id := range x.ids.n {
		if r := x.ids.get(uint32(id)); r != nil {
			live++
			require.Equal(t, uint32(id), r.id, "id of %q", r.user.Login)
			require.Same(t, r, s.byLogin[r.loginKey], "id %d holds a stored user", id)
		}
	}
	require.Equal(t, len(order), live, "live ids")
	require.Equal(t, live, x.live)
	for g, p := range x.post {
		var ids []uint32
		for i, blk := range p.blocks {
			if i < len(p.blocks)-1 {
				require.Len(t, blk, postBlock, "block %d of list %06x not full", i, g)
			}
			ids = append(ids, blk...)
		}
		require.Len(t, ids, p.n, "count of list %06x", g)
		for i := range ids {
			require.Equal(t, ids[i], p.at(i))
		}
		require.True(t, slices.IsSorted(ids), "posting list %06x ascending", g)
		require.Len(t, slices.Compact(slices.Clone(ids)), len(ids), "posting list %06x without repeats", g)
		dead := 0
		tri := string([]byte{byte(g >> 16), byte(g >> 8), byte(g)})
		for _, id := range ids {
			if r := x.ids.get(id); r == nil {
				dead++
			} else if !strings.Contains(r.search, tri) {
				t.Fatalf("user %q in list %06x without the trigram", r.user.Login, g)
			}
		}
		require.Equal(t, dead, p.dead, "dead count of %06x", g)
		require.Less(t, 0, p.n-dead, "list %06x kept with only dead entries", g)
	}
	for _, sl := range order {
		r := sl.rec
		for _, g := range grams(r.search, nil) {
			p := x.post[g]
			if p == nil {
				t.Fatalf("no list %06x for %q", g, r.user.Login)
			}
			if i := sort.Search(p.n, func(i int) bool { return p.at(i) >= r.id }); i == p.n || p.at(i) != r.id {
				t.Fatalf("user %q missing in list %06x", r.user.Login, g)
			}
		}
	}
}
