package cache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/cache"
	"github.com/helpdeskkit/customeruser/groups"
)

// countingStore counts the list reads that reach the store.
type countingStore struct {
	groups.Store
	reads atomic.Int64
}

func (s *countingStore) UserGrants(ctx context.Context, login string) ([]groups.Grant, error) {
	s.reads.Add(1)
	return s.Store.UserGrants(ctx, login)
}

func (s *countingStore) CompanyGrants(ctx context.Context, id, c string) ([]groups.Grant, error) {
	s.reads.Add(1)
	return s.Store.CompanyGrants(ctx, id, c)
}

func (s *countingStore) GroupGrants(ctx context.Context, group string) ([]groups.Grant, error) {
	s.reads.Add(1)
	return s.Store.GroupGrants(ctx, group)
}

func (s *countingStore) Groups(ctx context.Context) ([]groups.Group, error) {
	s.reads.Add(1)
	return s.Store.Groups(ctx)
}

// groupFixture is a memory store with groups "support" and "sales", anna
// holding ro on support and company ACME holding rw on sales, under a
// counting wrapper and a GroupStore with a resolver over it.
func groupFixture(t *testing.T, cfg cache.GroupConfig) (*countingStore, *cache.GroupStore, *groups.Resolver) {
	t.Helper()
	ctx := t.Context()
	inner := &countingStore{Store: groups.NewMemoryStore()}
	for _, name := range []string{"support", "sales"} {
		_, err := inner.AddGroup(ctx, groups.Group{Name: name})
		require.NoError(t, err)
	}
	require.NoError(t, inner.SetMemberPermissions(ctx, "support", "anna", map[string]bool{"ro": true}))
	require.NoError(t, inner.SetCompanyPermissions(ctx, "sales", "ACME", "", map[string]bool{"rw": true}))
	gs, err := cache.NewGroupStore(inner, cfg)
	require.NoError(t, err)
	r, err := groups.NewResolver(gs, groups.Config{Support: true})
	require.NoError(t, err)
	return inner, gs, r
}

func perms(t *testing.T, r *groups.Resolver, login string, ids ...string) []backend.GroupPermission {
	t.Helper()
	u := backend.CustomerUser{Login: login, Valid: backend.Valid}
	if len(ids) > 0 {
		u.CustomerID, u.CustomerIDs = ids[0], ids[1:]
	}
	ps, err := r.Groups(t.Context(), u)
	require.NoError(t, err)
	return ps
}

func TestGroupMembershipsAreCached(t *testing.T) {
	inner, gs, r := groupFixture(t, cache.GroupConfig{})
	want := []backend.GroupPermission{{Group: "sales", Permission: "rw"}, {Group: "support", Permission: "ro"}}
	assert.Equal(t, want, perms(t, r, "anna", "ACME"))
	reads := inner.reads.Load()
	require.EqualValues(t, 2, reads, "the user's rows and the company's")
	assert.Equal(t, want, perms(t, r, "ANNA", "acme"))
	assert.Equal(t, reads, inner.reads.Load(), "a second resolution is read from the cache, by identity")
	st := gs.Stats()
	assert.EqualValues(t, 2, st.Hits)
	assert.EqualValues(t, 2, st.Misses)
}

func TestGroupStoreWritesInvalidateTheirLists(t *testing.T) {
	ctx := t.Context()
	inner, gs, r := groupFixture(t, cache.GroupConfig{})
	members := func() []groups.Member {
		m, err := groups.Members(ctx, gs, memory(t, "anna", "bert"), "support")
		require.NoError(t, err)
		return m
	}
	_ = perms(t, r, "anna", "ACME")
	_ = perms(t, r, "bert", "ACME")
	assert.Equal(t, []groups.Member{{Login: "anna", Key: "ro"}}, members())

	// A member's rows: anna's list and the group's rows change, bert's not.
	require.NoError(t, gs.SetMemberPermissions(ctx, "support", "anna", map[string]bool{"ro": false, "create": true}))
	reads := inner.reads.Load()
	assert.Equal(t, []backend.GroupPermission{{Group: "sales", Permission: "rw"}, {Group: "support", Permission: "create"}},
		perms(t, r, "anna", "ACME"))
	assert.Equal(t, reads+1, inner.reads.Load(), "only anna's own rows were read again")
	assert.Equal(t, []groups.Member{{Login: "anna", Key: "create"}}, members())

	// A company's rows.
	require.NoError(t, gs.SetCompanyPermissions(ctx, "sales", "acme", "same", map[string]bool{"ro": true}))
	assert.Equal(t, []backend.GroupPermission{{Group: "sales", Permission: "ro"}}, perms(t, r, "bert", "ACME"))

	// A group's state reaches every list.
	require.NoError(t, gs.SetGroupValid(ctx, "sales", backend.Invalid))
	assert.Empty(t, perms(t, r, "bert", "ACME"))
	all, err := gs.Groups(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, backend.Invalid, all[0].Valid, "sales, by name")

	// A new group is listed at once.
	_, err = gs.AddGroup(ctx, groups.Group{Name: "billing"})
	require.NoError(t, err)
	all, err = gs.Groups(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 3)

	// A rename moves the rows.
	require.NoError(t, gs.RenameMember(ctx, "anna", "hanna"))
	assert.Empty(t, perms(t, r, "anna"))
	assert.Equal(t, []backend.GroupPermission{{Group: "support", Permission: "create"}}, perms(t, r, "hanna"))
	assert.Equal(t, []groups.Member{{Login: "hanna", Key: "create"}}, members())

	// A refused write invalidates nothing.
	inv := gs.Stats().Invalidations
	require.ErrorIs(t, gs.SetMemberPermissions(ctx, "no such group", "anna", map[string]bool{"ro": true}), backend.ErrInvalidInput)
	assert.Equal(t, inv, gs.Stats().Invalidations)
}

func TestGroupStoreTTLAndRemoteInvalidation(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	var sent []cache.GroupInvalidation
	inner, a, r := groupFixture(t, cache.GroupConfig{Now: clk.Now, TTL: time.Minute,
		OnInvalidate: func(inv cache.GroupInvalidation) { sent = append(sent, inv) }})
	// Another instance's GroupStore over the same rows.
	b, err := cache.NewGroupStore(inner.Store, cache.GroupConfig{Now: clk.Now, TTL: time.Minute})
	require.NoError(t, err)
	rb, err := groups.NewResolver(b, groups.Config{Support: true})
	require.NoError(t, err)
	assert.Len(t, perms(t, rb, "anna"), 1)
	assert.Len(t, perms(t, r, "anna"), 1)

	require.NoError(t, a.SetMemberPermissions(ctx, "sales", "anna", map[string]bool{"ro": true}))
	require.Len(t, sent, 1)
	assert.Equal(t, cache.GroupInvalidation{Logins: []string{"anna"}, Groups: []string{"sales"}}, sent[0])
	assert.Len(t, perms(t, r, "anna"), 2, "the writing instance sees it")
	assert.Len(t, perms(t, rb, "anna"), 1, "the other is stale")
	clk.Advance(59 * time.Second)
	assert.Len(t, perms(t, rb, "anna"), 1, "for less than the TTL")
	b.Invalidate(sent[0])
	assert.Len(t, perms(t, rb, "anna"), 2, "until it applies the invalidation")

	require.NoError(t, a.SetMemberPermissions(ctx, "sales", "anna", map[string]bool{"ro": false}))
	clk.Advance(time.Minute)
	assert.Len(t, perms(t, rb, "anna"), 1, "or the TTL ends")
}

func TestGroupListsAreTheCallersCopies(t *testing.T) {
	_, gs, _ := groupFixture(t, cache.GroupConfig{})
	l, err := gs.UserGrants(t.Context(), "anna")
	require.NoError(t, err)
	require.Len(t, l, 1)
	l[0].Group = "changed"
	l, err = gs.UserGrants(t.Context(), "anna")
	require.NoError(t, err)
	assert.Equal(t, "support", l[0].Group)
	g, err := gs.Groups(t.Context())
	require.NoError(t, err)
	g[0].Name = "changed"
	g, err = gs.Groups(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "sales", g[0].Name)
	_, err = gs.Group(t.Context(), "nonesuch")
	require.ErrorIs(t, err, backend.ErrNotFound)
}
