package memorybackend

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

// checkInvariants verifies that every index agrees with the stored users.
func checkInvariants(t testing.TB, b *Backend) {
	t.Helper()
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := b.s
	require.Len(t, s.byLogin, len(s.order), "login index size")
	emails := 0
	for k, list := range s.byEmail {
		require.NotEmpty(t, list, "empty email list for %q", k)
		if !b.cfg.dupEmail {
			require.Len(t, list, 1, "email %q held twice", k)
		}
		for j, r := range list {
			require.Equal(t, k, r.emailKey)
			if j > 0 {
				require.Less(t, list[j-1].pos, r.pos, "email list of %q in login order", k)
			}
		}
		emails += len(list)
	}
	require.Equal(t, len(s.order), emails, "email index size")
	customers := 0
	for k, list := range s.byCustomer {
		require.NotEmpty(t, list, "empty customer list for %q", k)
		for j, r := range list {
			require.Contains(t, r.custKeys, k)
			if j > 0 {
				require.Less(t, list[j-1].pos, r.pos, "customer list of %q in login order", k)
			}
		}
		customers += len(list)
	}
	ids := 0
	for _, sl := range s.order {
		ids += len(sl.rec.custKeys)
		want := []string{}
		for _, id := range sl.rec.user.AllCustomerIDs() {
			want = append(want, backend.IdentityKey(id))
		}
		require.Equal(t, want, append([]string{}, sl.rec.custKeys...), "customer keys of %q", sl.rec.user.Login)
	}
	require.Equal(t, ids, customers, "customer index size")
	var want []prefixEntry
	for i, sl := range s.order {
		r := sl.rec
		require.Equal(t, i, r.pos, "pos of %q", r.user.Login)
		require.Equal(t, r.search, sl.search)
		require.Equal(t, r.user.Valid == backend.Valid, sl.valid)
		if i > 0 {
			require.Less(t, s.order[i-1].rec.loginKey, r.loginKey, "login order")
		}
		require.Same(t, r, s.byLogin[r.loginKey])
		require.Equal(t, backend.IdentityKey(r.user.Login), r.loginKey)
		require.Equal(t, backend.IdentityKey(r.user.Email), r.emailKey)
		search := r.search
		s.refresh(r)
		require.Equal(t, search, r.search, "search string of %q", r.user.Login)
		segments(r.search, func(v string) bool {
			if v != "" {
				want = append(want, prefixEntry{key: v, pos: int32(i)})
			}
			return true
		})
	}
	if !s.keepIndex {
		require.Empty(t, s.prefix)
		return
	}
	got := append([]prefixEntry(nil), s.prefix...)
	require.True(t, sort.SliceIsSorted(got, func(i, j int) bool { return got[i].key < got[j].key }), "prefix index sorted")
	less := func(x []prefixEntry) func(i, j int) bool {
		return func(i, j int) bool {
			if x[i].key != x[j].key {
				return x[i].key < x[j].key
			}
			return x[i].pos < x[j].pos
		}
	}
	sort.Slice(got, less(got))
	sort.Slice(want, less(want))
	require.Equal(t, want, got, "prefix index entries")
}
