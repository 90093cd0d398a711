package groupstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

// NewStore gives a fresh, empty store for one subtest.
type NewStore func(t *testing.T) groups.Store

// Run runs every conformance case as a subtest of t, each on a fresh store.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, s groups.Store)
	}{
		{"Groups/AddListValid", testGroups},
		{"Members/GroupMemberAddSequence", testMemberSequence},
		{"Members/RWStoredAlone", testRWAlone},
		{"Members/IdentityRule", testMemberIdentity},
		{"Companies/ReplaceLikeGroupCustomerAdd", testCompanyReplace},
		{"Companies/ContextsAreSeparate", testContexts},
		{"Lists/GroupGrants", testGroupGrants},
		{"Rename/MovesMemberships", testRename},
		{"BadInput/TypedAndNothingChanged", testBadInput},
		{"Concurrency/ParallelWrites", testConcurrent},
		{"Resolver/ROOnlyRWEveryKey", testResolverKeys},
		{"Resolver/CompanyGrantAndRevoke", testResolverCompany},
		{"Resolver/AlwaysGroups", testResolverAlways},
		{"Resolver/InvalidGroupGrantsNothing", testResolverInvalid},
		{"Resolver/SupportOff", testResolverSupportOff},
		{"Resolver/Explain", testResolverExplain},
		{"Resolver/OtherGrants", testResolverOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func addGroups(t *testing.T, s groups.Store, names ...string) {
	t.Helper()
	for _, n := range names {
		_, err := s.AddGroup(ctx(t), groups.Group{Name: n})
		require.NoError(t, err, n)
	}
}

func member(t *testing.T, s groups.Store, group, login string, perms map[string]bool) {
	t.Helper()
	require.NoError(t, s.SetMemberPermissions(ctx(t), group, login, perms))
}

func company(t *testing.T, s groups.Store, group, id, context string, perms map[string]bool) {
	t.Helper()
	require.NoError(t, s.SetCompanyPermissions(ctx(t), group, id, context, perms))
}

// keys gives "group:key" of a user's own rows.
func keys(t *testing.T, s groups.Store, login string) []string {
	t.Helper()
	gs, err := s.UserGrants(ctx(t), login)
	require.NoError(t, err)
	out := []string{}
	for _, g := range gs {
		out = append(out, g.Group+":"+g.Key)
	}
	return out
}

func companyKeys(t *testing.T, s groups.Store, id, context string) []string {
	t.Helper()
	gs, err := s.CompanyGrants(ctx(t), id, context)
	require.NoError(t, err)
	out := []string{}
	for _, g := range gs {
		out = append(out, g.Group+":"+g.Key)
	}
	return out
}

func testGroups(t *testing.T, s groups.Store) {
	g, err := s.AddGroup(ctx(t), groups.Group{Name: "support", Comment: "first level"})
	require.NoError(t, err)
	assert.NotZero(t, g.ID)
	assert.Equal(t, backend.Valid, g.Valid, "zero Valid is valid")
	_, err = s.AddGroup(ctx(t), groups.Group{Name: "billing", Valid: backend.Invalid})
	require.NoError(t, err)
	_, err = s.AddGroup(ctx(t), groups.Group{Name: "SUPPORT"})
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve, "a name equal by the identity rule is a duplicate")
	assert.Equal(t, groups.FieldGroup, ve.Field)

	list, err := s.Groups(ctx(t))
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "billing", list[0].Name)
	assert.Equal(t, backend.Invalid, list[0].Valid)
	assert.Equal(t, "support", list[1].Name)
	assert.Equal(t, "first level", list[1].Comment)

	got, err := s.Group(ctx(t), "Support")
	require.NoError(t, err)
	assert.Equal(t, g, got)
	_, err = s.Group(ctx(t), "nope")
	assert.ErrorIs(t, err, backend.ErrNotFound)

	require.NoError(t, s.SetGroupValid(ctx(t), "support", backend.Invalid))
	got, err = s.Group(ctx(t), "support")
	require.NoError(t, err)
	assert.Equal(t, backend.Invalid, got.Valid)
	require.NoError(t, s.SetGroupValid(ctx(t), "support", backend.Valid))
	err = s.SetGroupValid(ctx(t), "nope", backend.Valid)
	require.ErrorAs(t, err, &ve)
	err = s.SetGroupValid(ctx(t), "support", 7)
	require.ErrorAs(t, err, &ve)
}

func testMemberSequence(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1")
	member(t, s, "g1", "u1", map[string]bool{"ro": true, "move_into": true})
	assert.Equal(t, []string{"g1:move_into", "g1:ro"}, keys(t, s, "u1"))
	member(t, s, "g1", "u1", map[string]bool{"rw": true})
	assert.Equal(t, []string{"g1:move_into", "g1:ro", "g1:rw"}, keys(t, s, "u1"), "rw is added, the other keys stay")
	member(t, s, "g1", "u1", map[string]bool{"rw": false})
	assert.Equal(t, []string{"g1:move_into", "g1:ro"}, keys(t, s, "u1"), "only rw is removed")
	member(t, s, "g1", "u1", map[string]bool{})
	assert.Equal(t, []string{"g1:move_into", "g1:ro"}, keys(t, s, "u1"), "{} is a no-op")
	member(t, s, "g1", "u1", map[string]bool{"ro": false, "create": true})
	assert.Equal(t, []string{"g1:create", "g1:move_into"}, keys(t, s, "u1"))
	member(t, s, "g1", "u1", map[string]bool{"create": true})
	assert.Equal(t, []string{"g1:create", "g1:move_into"}, keys(t, s, "u1"), "setting a held key again keeps one row")
}

func testRWAlone(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1")
	member(t, s, "g1", "u1", map[string]bool{"rw": true, "ro": true, "note": false})
	assert.Equal(t, []string{"g1:rw"}, keys(t, s, "u1"))
}

func testMemberIdentity(t *testing.T, s groups.Store) {
	addGroups(t, s, "Sales")
	member(t, s, "sales", "HHuber", map[string]bool{"ro": true})
	member(t, s, "SALES", "hhuber", map[string]bool{"ro": true, "create": true})
	assert.Equal(t, []string{"Sales:create", "Sales:ro"}, keys(t, s, "HHUBER"))
	assert.Empty(t, keys(t, s, "hhübér"), "accents are another identity")
	member(t, s, "Sales", "hHuBeR", map[string]bool{"ro": false})
	assert.Equal(t, []string{"Sales:create"}, keys(t, s, "hhuber"))
}

func testCompanyReplace(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	company(t, s, "g1", "ACME", "", map[string]bool{"ro": true, "create": true})
	company(t, s, "g2", "ACME", groups.ContextSame, map[string]bool{"ro": true})
	assert.Equal(t, []string{"g1:create", "g1:ro", "g2:ro"}, companyKeys(t, s, "acme", ""))
	company(t, s, "g1", "acme", "", map[string]bool{"ro": true})
	assert.Equal(t, []string{"g1:ro", "g2:ro"}, companyKeys(t, s, "ACME", groups.ContextSame), "all keys of the group are replaced")
	company(t, s, "g1", "ACME", "", map[string]bool{"rw": true, "ro": true})
	assert.Equal(t, []string{"g1:rw", "g2:ro"}, companyKeys(t, s, "ACME", ""), "rw is stored alone")
	company(t, s, "g1", "ACME", "", map[string]bool{})
	assert.Equal(t, []string{"g1:rw", "g2:ro"}, companyKeys(t, s, "ACME", ""), "{} changes nothing")
	company(t, s, "g1", "ACME", "", map[string]bool{"rw": false})
	assert.Equal(t, []string{"g2:ro"}, companyKeys(t, s, "ACME", ""), "only false values: revoked")
}

func testContexts(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1")
	company(t, s, "g1", "C1", groups.ContextSame, map[string]bool{"ro": true})
	company(t, s, "g1", "C1", groups.ContextOther, map[string]bool{"rw": true})
	assert.Equal(t, []string{"g1:ro"}, companyKeys(t, s, "C1", groups.ContextSame))
	assert.Equal(t, []string{"g1:rw"}, companyKeys(t, s, "C1", groups.ContextOther))
	company(t, s, "g1", "C1", groups.ContextOther, map[string]bool{"rw": false})
	assert.Equal(t, []string{"g1:ro"}, companyKeys(t, s, "C1", groups.ContextSame), "the other context is untouched")
	assert.Empty(t, companyKeys(t, s, "C1", groups.ContextOther))
	gs, err := s.CompanyGrants(ctx(t), "c1", "")
	require.NoError(t, err)
	require.Len(t, gs, 1)
	assert.Equal(t, groups.Grant{Group: "g1", Key: "ro", CustomerID: "C1", Context: groups.ContextSame, GroupValid: backend.Valid}, gs[0])
}

func testGroupGrants(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	member(t, s, "g1", "zed", map[string]bool{"ro": true})
	member(t, s, "g1", "amy", map[string]bool{"rw": true})
	member(t, s, "g2", "amy", map[string]bool{"ro": true})
	company(t, s, "g1", "C2", groups.ContextOther, map[string]bool{"ro": true})
	company(t, s, "g1", "C1", "", map[string]bool{"ro": true})
	gs, err := s.GroupGrants(ctx(t), "G1")
	require.NoError(t, err)
	v := backend.Valid
	assert.Equal(t, []groups.Grant{
		{Group: "g1", Key: "rw", Login: "amy", GroupValid: v},
		{Group: "g1", Key: "ro", Login: "zed", GroupValid: v},
		{Group: "g1", Key: "ro", CustomerID: "C1", Context: groups.ContextSame, GroupValid: v},
		{Group: "g1", Key: "ro", CustomerID: "C2", Context: groups.ContextOther, GroupValid: v},
	}, gs)
	_, err = s.GroupGrants(ctx(t), "nope")
	var ve *backend.ValidationError
	assert.ErrorAs(t, err, &ve)
	own, err := s.UserGrants(ctx(t), "AMY")
	require.NoError(t, err)
	assert.Equal(t, []groups.Grant{
		{Group: "g1", Key: "rw", Login: "amy", GroupValid: v},
		{Group: "g2", Key: "ro", Login: "amy", GroupValid: v},
	}, own)
}

func testRename(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	member(t, s, "g1", "old", map[string]bool{"ro": true, "create": true})
	member(t, s, "g2", "old", map[string]bool{"rw": true})
	member(t, s, "g1", "new", map[string]bool{"ro": true})
	require.NoError(t, s.RenameMember(ctx(t), "OLD", "new"))
	assert.Empty(t, keys(t, s, "old"))
	assert.Equal(t, []string{"g1:create", "g1:ro", "g2:rw"}, keys(t, s, "new"))
	require.NoError(t, s.RenameMember(ctx(t), "nobody", "someone"), "a login without rows is no error")
	assert.Empty(t, keys(t, s, "someone"))
	require.NoError(t, s.RenameMember(ctx(t), "new", "NEW"), "a change of case keeps the rows")
	assert.Equal(t, []string{"g1:create", "g1:ro", "g2:rw"}, keys(t, s, "new"))
	gs, err := s.UserGrants(ctx(t), "new")
	require.NoError(t, err)
	assert.Equal(t, "NEW", gs[0].Login, "stored under the new spelling")
}

// snapshot gives every row of the store.
func snapshot(t *testing.T, s groups.Store) []groups.Grant {
	t.Helper()
	gl, err := s.Groups(ctx(t))
	require.NoError(t, err)
	var out []groups.Grant
	for _, g := range gl {
		gs, err := s.GroupGrants(ctx(t), g.Name)
		require.NoError(t, err)
		out = append(out, gs...)
	}
	return out
}

func testBadInput(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1")
	member(t, s, "g1", "u1", map[string]bool{"ro": true})
	company(t, s, "g1", "C1", "", map[string]bool{"ro": true})
	before := snapshot(t, s)
	groupsBefore, err := s.Groups(ctx(t))
	require.NoError(t, err)
	huge := strings.Repeat("x", 1<<20)
	ro := map[string]bool{"ro": true}
	for _, c := range []struct {
		name, field string
		err         error
	}{
		{"unknown group", groups.FieldGroup, s.SetMemberPermissions(ctx(t), "nope", "u1", ro)},
		{"unknown group (company)", groups.FieldGroup, s.SetCompanyPermissions(ctx(t), "nope", "C1", "", ro)},
		{"empty key", groups.FieldKey, s.SetMemberPermissions(ctx(t), "g1", "u1", map[string]bool{"": true, "rw": true})},
		{"padded key", groups.FieldKey, s.SetMemberPermissions(ctx(t), "g1", "u1", map[string]bool{" ro": false})},
		{"empty key (company)", groups.FieldKey, s.SetCompanyPermissions(ctx(t), "g1", "C1", "", map[string]bool{"": true})},
		{"NUL key", groups.FieldKey, s.SetMemberPermissions(ctx(t), "g1", "u1", map[string]bool{"r\x00o": true})},
		{"long key", groups.FieldKey, s.SetMemberPermissions(ctx(t), "g1", "u1", map[string]bool{strings.Repeat("k", 21): true})},
		{"NUL login", backend.FieldLogin, s.SetMemberPermissions(ctx(t), "g1", "u\x001", map[string]bool{"ro": false})},
		{"empty login", backend.FieldLogin, s.SetMemberPermissions(ctx(t), "g1", " ", ro)},
		{"1 MiB login", backend.FieldLogin, s.SetMemberPermissions(ctx(t), "g1", huge, ro)},
		{"101-character login", backend.FieldLogin, s.SetMemberPermissions(ctx(t), "g1", strings.Repeat("l", 101), ro)},
		{"NUL customer ID", backend.FieldCustomerID, s.SetCompanyPermissions(ctx(t), "g1", "C\x001", "", map[string]bool{"ro": false})},
		{"1 MiB customer ID", backend.FieldCustomerID, s.SetCompanyPermissions(ctx(t), "g1", huge, "", ro)},
		{"unknown context", groups.FieldContext, s.SetCompanyPermissions(ctx(t), "g1", "C1", "elsewhere", map[string]bool{"ro": false})},
		{"NUL group", groups.FieldGroup, addGroup(t, s, "g\x002")},
		{"1 MiB group", groups.FieldGroup, addGroup(t, s, huge)},
		{"empty group", groups.FieldGroup, addGroup(t, s, "  ")},
		{"bad valid", backend.FieldValid, func() error { _, err := s.AddGroup(ctx(t), groups.Group{Name: "g9", Valid: 9}); return err }()},
		{"NUL rename", backend.FieldLogin, s.RenameMember(ctx(t), "u1", "u\x002")},
		{"1 MiB rename", backend.FieldLogin, s.RenameMember(ctx(t), huge, "u2")},
	} {
		var ve *backend.ValidationError
		if assert.ErrorAs(t, c.err, &ve, c.name) {
			assert.Equal(t, c.field, ve.Field, c.name)
			assert.ErrorIs(t, c.err, backend.ErrInvalidInput, c.name)
			assert.Less(t, len(c.err.Error()), 300, "%s: the value is not quoted", c.name)
		}
	}
	assert.Equal(t, before, snapshot(t, s), "nothing changed")
	groupsAfter, err := s.Groups(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, groupsBefore, groupsAfter)
}

func addGroup(t *testing.T, s groups.Store, name string) error {
	_, err := s.AddGroup(ctx(t), groups.Group{Name: name})
	return err
}

func testConcurrent(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login := fmt.Sprintf("u%d", i)
			for j := range 5 {
				assert.NoError(t, s.SetMemberPermissions(ctx(t), "g1", login, map[string]bool{"ro": true, fmt.Sprintf("k%d", j): true}))
				assert.NoError(t, s.SetCompanyPermissions(ctx(t), "g2", "C"+login, "", map[string]bool{"ro": true}))
				_, err := s.UserGrants(ctx(t), login)
				assert.NoError(t, err)
				_, err = s.GroupGrants(ctx(t), "g1")
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	gs, err := s.GroupGrants(ctx(t), "g1")
	require.NoError(t, err)
	assert.Len(t, gs, 8*6)
	for i := range 8 {
		assert.Equal(t, []string{"g2:ro"}, companyKeys(t, s, fmt.Sprintf("Cu%d", i), ""))
	}
}
