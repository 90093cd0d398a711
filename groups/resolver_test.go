package groups_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

// TestResolverMatchesNaiveRule compares Groups, on random rows, with the
// rule computed the plain way from the store's lists.
func TestResolverMatchesNaiveRule(t *testing.T) {
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"ro", "rw", "create", "note", "owner"}
	for round := range 30 {
		s := groups.NewMemoryStore()
		var names []string
		for i := range 40 {
			name := fmt.Sprintf("G%02d-%c", i, 'a'+rune(rng.IntN(26)))
			if rng.IntN(3) == 0 {
				name = strings.ToUpper(name)
			}
			_, err := s.AddGroup(ctx, groups.Group{Name: name})
			require.NoError(t, err)
			names = append(names, name)
		}
		u := backend.CustomerUser{Login: "U", CustomerID: "c1", CustomerIDs: []string{"C2", "c3"}}
		for range 150 {
			g := names[rng.IntN(len(names))]
			perms := map[string]bool{keys[rng.IntN(len(keys))]: rng.IntN(4) != 0}
			switch rng.IntN(4) {
			case 0, 1:
				require.NoError(t, s.SetMemberPermissions(ctx, g, []string{"u", "U", "other"}[rng.IntN(3)], perms))
			default:
				require.NoError(t, s.SetCompanyPermissions(ctx, g, []string{"C1", "c2", "c3", "c4"}[rng.IntN(4)],
					[]string{"same", "other"}[rng.IntN(2)], perms))
			}
			if rng.IntN(20) == 0 {
				require.NoError(t, s.SetGroupValid(ctx, g, backend.ValidState(1+rng.IntN(3))))
			}
		}
		always := []string{names[rng.IntN(len(names))], "missing"}
		r, err := groups.NewResolver(s, groups.Config{Support: true, AlwaysGroups: always, CompanyAlwaysGroups: names[:1]})
		require.NoError(t, err)
		got, err := r.Groups(ctx, u)
		require.NoError(t, err)

		// The plain way: every (group, key), rw alone where held.
		held := map[string]map[string]bool{}
		spelling := map[string]string{}
		add := func(group, key string) {
			k := backend.IdentityKey(group)
			if held[k] == nil {
				held[k] = map[string]bool{}
			}
			held[k][key] = true
			spelling[k] = group
		}
		own, err := s.UserGrants(ctx, u.Login)
		require.NoError(t, err)
		all := own
		for _, id := range u.AllCustomerIDs() {
			gs, err := s.CompanyGrants(ctx, id, "same")
			require.NoError(t, err)
			all = append(all, gs...)
		}
		for _, g := range all {
			if g.GroupValid == backend.Valid {
				add(g.Group, g.Key)
			}
		}
		for _, name := range append(always, names[0]) {
			if g, err := s.Group(ctx, name); err == nil && g.Valid == backend.Valid {
				add(g.Name, "rw")
			}
		}
		var want []backend.GroupPermission
		for k, ks := range held {
			if ks["rw"] {
				want = append(want, backend.GroupPermission{Group: spelling[k], Permission: "rw"})
				continue
			}
			for key := range ks {
				want = append(want, backend.GroupPermission{Group: spelling[k], Permission: key})
			}
		}
		slices.SortFunc(want, func(a, b backend.GroupPermission) int {
			if c := strings.Compare(backend.IdentityKey(a.Group), backend.IdentityKey(b.Group)); c != 0 {
				return c
			}
			return strings.Compare(a.Permission, b.Permission)
		})
		require.Equal(t, want, got, "round %d", round)

		// A Store of another kind, whose lists come in another order.
		rr, err := groups.NewResolver(reversed{s}, groups.Config{Support: true, AlwaysGroups: always, CompanyAlwaysGroups: names[:1]})
		require.NoError(t, err)
		got, err = rr.Groups(ctx, u)
		require.NoError(t, err)
		require.Equal(t, want, got, "round %d, unsorted store", round)
	}
}

// reversed is a Store that gives its lists backwards.
type reversed struct{ groups.Store }

func (r reversed) UserGrants(ctx context.Context, login string) ([]groups.Grant, error) {
	gs, err := r.Store.UserGrants(ctx, login)
	slices.Reverse(gs)
	return gs, err
}

func (r reversed) CompanyGrants(ctx context.Context, id, c string) ([]groups.Grant, error) {
	gs, err := r.Store.CompanyGrants(ctx, id, c)
	slices.Reverse(gs)
	return gs, err
}
