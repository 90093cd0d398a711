package groupstest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

func resolver(t *testing.T, s groups.Store, cfg groups.Config) *groups.Resolver {
	t.Helper()
	r, err := groups.NewResolver(s, cfg)
	require.NoError(t, err)
	return r
}

// holds gives the groups in which u's memberships meet a request for key.
func holds(t *testing.T, r *groups.Resolver, u backend.CustomerUser, key string) []string {
	t.Helper()
	ps, err := r.Groups(ctx(t), u)
	require.NoError(t, err)
	out := []string{}
	for _, p := range ps {
		if p.Satisfies(key) && (len(out) == 0 || out[len(out)-1] != p.Group) {
			out = append(out, p.Group)
		}
	}
	return out
}

func user(login string, ids ...string) backend.CustomerUser {
	u := backend.CustomerUser{Login: login, Valid: backend.Valid, Source: "db"}
	if len(ids) > 0 {
		u.CustomerID, u.CustomerIDs = ids[0], ids[1:]
	}
	return u
}

func testResolverKeys(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	member(t, s, "g1", "u1", map[string]bool{"ro": true})
	member(t, s, "g2", "u1", map[string]bool{"rw": true})
	r := resolver(t, s, groups.Config{Support: true})
	u := user("U1")
	assert.Equal(t, []string{"g1", "g2"}, holds(t, r, u, backend.PermRO))
	assert.Equal(t, []string{"g2"}, holds(t, r, u, groups.PermCreate), "ro does not imply create; rw does")
	assert.Equal(t, []string{"g2"}, holds(t, r, u, groups.PermNote))
	ps, err := r.Groups(ctx(t), u)
	require.NoError(t, err)
	assert.Equal(t, []backend.GroupPermission{{Group: "g1", Permission: "ro"}, {Group: "g2", Permission: "rw"}}, ps)
	assert.Empty(t, holds(t, r, user("u2"), backend.PermRO))
}

func testResolverCompany(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	r := resolver(t, s, groups.Config{Support: true})
	u := user("u1", "C9", "acme")
	company(t, s, "g1", "ACME", "", map[string]bool{"rw": true})
	assert.Equal(t, []string{"g1"}, holds(t, r, u, groups.PermCreate), "a further customer ID counts")
	company(t, s, "g2", "ACME", groups.ContextOther, map[string]bool{"rw": true})
	assert.Equal(t, []string{"g1"}, holds(t, r, u, backend.PermRO), "the other context grants no group")
	company(t, s, "g1", "ACME", "", map[string]bool{"rw": false})
	assert.Empty(t, holds(t, r, u, backend.PermRO), "revoked")
	assert.Empty(t, holds(t, r, user("u2", "other"), backend.PermRO))
}

func testResolverAlways(t *testing.T, s groups.Store) {
	addGroups(t, s, "users", "partners", "g3")
	r := resolver(t, s, groups.Config{Support: true, AlwaysGroups: []string{"Users", "missing"}, CompanyAlwaysGroups: []string{"partners"}})
	for _, key := range []string{"ro", "rw", "create", "owner"} {
		assert.Equal(t, []string{"users"}, holds(t, r, user("nobody"), key), "every user, every key (%s)", key)
		assert.Equal(t, []string{"partners", "users"}, holds(t, r, user("u1", "C1"), key), "a customer ID adds the company always-groups")
	}
	gs := snapshot(t, s)
	assert.Empty(t, gs, "always-groups are never stored")
	off := resolver(t, s, groups.Config{AlwaysGroups: []string{"users"}})
	assert.Equal(t, []string{"g3", "partners", "users"}, holds(t, off, user("u1"), "create"))
}

func testResolverInvalid(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "users")
	member(t, s, "g1", "u1", map[string]bool{"rw": true})
	company(t, s, "g1", "C1", "", map[string]bool{"rw": true})
	require.NoError(t, s.SetGroupValid(ctx(t), "g1", backend.Invalid))
	require.NoError(t, s.SetGroupValid(ctx(t), "users", backend.InvalidTemporarily))
	for _, cfg := range []groups.Config{{Support: true, AlwaysGroups: []string{"users", "g1"}}, {Support: false}} {
		r := resolver(t, s, cfg)
		assert.Empty(t, holds(t, r, user("u1", "C1"), backend.PermRO), "support %v", cfg.Support)
	}
	require.NoError(t, s.SetGroupValid(ctx(t), "g1", backend.Valid))
	assert.Equal(t, []string{"g1"}, holds(t, resolver(t, s, groups.Config{Support: true}), user("u1"), "create"))
}

func testResolverSupportOff(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2", "g3")
	require.NoError(t, s.SetGroupValid(ctx(t), "g3", backend.Invalid))
	member(t, s, "g1", "u1", map[string]bool{"ro": true})
	r := resolver(t, s, groups.Config{Support: false})
	assert.Equal(t, []string{"g1", "g2"}, holds(t, r, user("u1"), "create"), "every valid group, every key")
	assert.Equal(t, []string{"g1", "g2"}, holds(t, r, user("in-no-group"), "create"))

	bySource := resolver(t, s, groups.Config{Support: false, SupportBySource: map[string]bool{"db": true}})
	assert.Empty(t, holds(t, bySource, user("u1"), "create"), "support on for the user's backend")
	assert.Equal(t, []string{"g1"}, holds(t, bySource, user("u1"), "ro"))
	ldap := user("u1")
	ldap.Source = "ldap"
	assert.Equal(t, []string{"g1", "g2"}, holds(t, bySource, ldap, "create"), "other backends keep the default")
}

func testResolverExplain(t *testing.T, s groups.Store) {
	addGroups(t, s, "own", "comp", "always", "calways", "none", "off")
	require.NoError(t, s.SetGroupValid(ctx(t), "off", backend.Invalid))
	member(t, s, "own", "u1", map[string]bool{"ro": true})
	company(t, s, "comp", "C2", "", map[string]bool{"rw": true})
	r := resolver(t, s, groups.Config{Support: true, AlwaysGroups: []string{"always"}, CompanyAlwaysGroups: []string{"calways"}})
	u := user("u1", "C1", "C2")
	for _, c := range []struct {
		group, key string
		granted    bool
		rule       groups.Rule
		via, held  string
	}{
		{"own", "ro", true, groups.RuleOwn, "", "ro"},
		{"own", "create", false, groups.RuleNoGrant, "", ""},
		{"comp", "create", true, groups.RuleCompany, "C2", "rw"},
		{"always", "owner", true, groups.RuleAlwaysGroup, "", "rw"},
		{"calways", "ro", true, groups.RuleCompanyAlwaysGroup, "C1", "rw"},
		{"none", "ro", false, groups.RuleNoGrant, "", ""},
		{"off", "ro", false, groups.RuleGroupInvalid, "", ""},
		{"ghost", "ro", false, groups.RuleUnknownGroup, "", ""},
	} {
		e, err := r.Explain(ctx(t), u, c.group, c.key)
		require.NoError(t, err)
		assert.Equal(t, c.granted, e.Granted, "%s/%s", c.group, c.key)
		assert.Equal(t, c.rule, e.Rule, "%s/%s", c.group, c.key)
		assert.Equal(t, c.via, e.CustomerID, "%s/%s", c.group, c.key)
		assert.Equal(t, c.held, e.HeldKey, "%s/%s", c.group, c.key)
		assert.NotEmpty(t, e.String())
	}
	e, err := resolver(t, s, groups.Config{}).Explain(ctx(t), u, "none", "create")
	require.NoError(t, err)
	assert.Equal(t, groups.RuleSupportOff, e.Rule)
	assert.True(t, e.Granted)
	assert.Contains(t, e.String(), "support is off")
}

func testResolverOther(t *testing.T, s groups.Store) {
	addGroups(t, s, "g1", "g2")
	company(t, s, "g1", "C2", groups.ContextOther, map[string]bool{"ro": true})
	company(t, s, "g2", "C2", groups.ContextOther, map[string]bool{"ro": true})
	company(t, s, "g1", "C2", groups.ContextSame, map[string]bool{"ro": true})
	require.NoError(t, s.SetGroupValid(ctx(t), "g2", backend.Invalid))
	r := resolver(t, s, groups.Config{Support: true})
	gs, err := r.OtherGrants(ctx(t), user("u2", "c2"))
	require.NoError(t, err)
	assert.Equal(t, []groups.Grant{{Group: "g1", Key: "ro", CustomerID: "C2", Context: groups.ContextOther, GroupValid: backend.Valid}}, gs)
	gs, err = resolver(t, s, groups.Config{}).OtherGrants(ctx(t), user("u2", "C2"))
	require.NoError(t, err)
	assert.Empty(t, gs, "no other-context access with support off")
}
