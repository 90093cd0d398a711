package ldapbackend_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/ldapbackend"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/tickets"
)

// groupTree seeds users alice, bob, carol, dave and these groupOfNames:
//
//	direct (sales)*\   alice                       -> Sales  ro, create
//	top                "direct (sales)*\"          -> Top    ro
//	outer              inner                       -> Support rw
//	inner              bob, cycle-a
//	cycle-a            cycle-b                     -> Loop   ro
//	cycle-b            carol, cycle-a  (a cycle)
//
// and returns the OU and the mappings.
func groupTree(t *testing.T, srv *testldap.Server) (string, []ldapbackend.GroupMapping) {
	t.Helper()
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{
		{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"},
		{person("bob", "Bob", "Brown", "bob@example.org", "B"), "bob pw"},
		{person("carol", "Carol", "Clark", "carol@example.org", "C"), "carol pw"},
		{person("dave", "Dave", "Dunn", "dave@example.org", "D"), "dave pw"},
	})
	dn := func(cn string) string { return "cn=" + ldap.EscapeDN(cn) + "," + ou }
	user := func(uid string) string { return "uid=" + uid + "," + ou }
	group := func(cn string, members ...string) *ldap.AddRequest {
		g := ldap.NewAddRequest(dn(cn), nil)
		g.Attribute("objectClass", []string{"groupOfNames"})
		g.Attribute("cn", []string{cn})
		g.Attribute("member", members)
		return g
	}
	hostile := `direct (sales)*\`
	require.NoError(t, srv.AddEntries(
		group(hostile, user("alice")),
		group("top", dn(hostile)),
		group("cycle-b", user("carol")),
		group("cycle-a", dn("cycle-b")),
		group("inner", user("bob"), dn("cycle-a")),
		group("outer", dn("inner")),
	))
	c, err := srv.AdminConn()
	require.NoError(t, err)
	defer c.Close()
	mod := ldap.NewModifyRequest(dn("cycle-b"), nil)
	mod.Add("member", []string{dn("cycle-a")})
	require.NoError(t, c.Modify(mod), "close the cycle")
	return ou, []ldapbackend.GroupMapping{
		{DN: dn(hostile), Group: "Sales", Keys: []string{"ro", "create"}},
		{DN: strings.ToUpper(dn("top")), Group: "Top", Keys: []string{"ro"}}, // DNs compare normalised
		{DN: dn("outer"), Group: "Support", Keys: []string{"rw"}},
		{DN: dn("cycle-a"), Group: "Loop", Keys: []string{"ro"}},
	}
}

func perms(ps []backend.GroupPermission) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Group+":"+p.Permission)
	}
	return out
}

func TestGroupResolver(t *testing.T) {
	srv := testldap.Shared(t)
	ou, mappings := groupTree(t, srv)
	b := newBackend(t, testConfig(srv, ou, false))
	want := map[string][]string{
		"alice":  {"Sales:create", "Sales:ro", "Top:ro"},
		"bob":    {"Support:rw"},
		"carol":  {"Loop:ro", "Support:rw"},
		"dave":   {},
		"nobody": {},
		"ALICE":  {"Sales:create", "Sales:ro", "Top:ro"}, // the identity rule finds the entry
	}
	for _, mode := range []struct {
		name string
		mode ldapbackend.GroupMode
	}{{"member", ldapbackend.GroupsByMember}, {"memberOf", ldapbackend.GroupsByMemberOf}} {
		t.Run(mode.name, func(t *testing.T) {
			r, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: mappings, Mode: mode.mode})
			require.NoError(t, err)
			for login, w := range want {
				got, err := r.Groups(t.Context(), backend.CustomerUser{Login: login})
				require.NoError(t, err, login)
				assert.Equal(t, w, perms(got), login)
			}
			shallow, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: mappings, Mode: mode.mode, MaxDepth: 1})
			require.NoError(t, err)
			got, err := shallow.Groups(t.Context(), backend.CustomerUser{Login: "bob"})
			require.NoError(t, err)
			assert.Empty(t, got, "MaxDepth 1: bob's only direct group (inner) is not mapped")
			got, err = shallow.Groups(t.Context(), backend.CustomerUser{Login: "alice"})
			require.NoError(t, err)
			assert.Equal(t, []string{"Sales:create", "Sales:ro"}, perms(got))
		})
	}
}

// Hostile logins reach the directory escaped (or are refused): they find
// nobody and give no groups.
func TestGroupResolverHostileInput(t *testing.T) {
	srv := testldap.Shared(t)
	ou, mappings := groupTree(t, srv)
	b := newBackend(t, testConfig(srv, ou, false))
	r, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: mappings})
	require.NoError(t, err)
	for _, login := range []string{"*", "alice)(uid=*", `alice\2a`, "*)(|(objectClass=*"} {
		got, err := r.Groups(t.Context(), backend.CustomerUser{Login: login})
		if err != nil {
			require.ErrorIs(t, err, backend.ErrInvalidInput, login)
			continue
		}
		assert.Empty(t, got, login)
	}
	for _, login := range []string{"", "a\x00b", "\xff", strings.Repeat("x", 1<<20)} {
		_, err := r.Groups(t.Context(), backend.CustomerUser{Login: login})
		require.ErrorIs(t, err, backend.ErrInvalidInput, fmt.Sprintf("%.20q", login))
	}
}

func TestGroupResolverConfig(t *testing.T) {
	srv := testldap.Shared(t)
	cfg := testConfig(srv, srv.BaseDN(), false)
	cfg.BindPassword = "s3cret-bind"
	b, err := ldapbackend.New(cfg)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.GroupResolver(ldapbackend.GroupsConfig{})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	_, err = b.GroupResolver(ldapbackend.GroupsConfig{
		Groups:          []ldapbackend.GroupMapping{{DN: "not a dn", Group: "", Keys: []string{""}}},
		BaseDN:          "=,=",
		MemberAttribute: "member)(x=*",
		MaxDepth:        -1,
		Mode:            9,
	})
	var ves backend.ValidationErrors
	require.ErrorAs(t, err, &ves)
	var fields []string
	for _, ve := range ves {
		fields = append(fields, ve.Field)
	}
	assert.ElementsMatch(t, []string{"GroupsConfig.Groups[0].DN", "GroupsConfig.Groups[0].Group", "GroupsConfig.Groups[0].Keys",
		"GroupsConfig.BaseDN", "GroupsConfig.Mode", "GroupsConfig.MemberAttribute", "GroupsConfig.MaxDepth"}, fields)
	r, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: []ldapbackend.GroupMapping{{DN: "cn=g," + srv.BaseDN(), Group: "G", Keys: []string{"ro"}}}})
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v %+v %#v", r, r, r)} {
		assert.NotContains(t, s, "s3cret-bind")
	}
}

// The in-chain mode sends Active Directory's matching rule with the user's
// DN escaped; slapd does not know the rule, so it answers with an error
// (tested on Samba AD by the AD tests), never with a wrong membership.
func TestGroupResolverInChainOnOpenLDAP(t *testing.T) {
	srv := testldap.Shared(t)
	ou, mappings := groupTree(t, srv)
	b := newBackend(t, testConfig(srv, ou, false))
	r, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: mappings, Mode: ldapbackend.GroupsInChain})
	require.NoError(t, err)
	for _, login := range []string{"alice", "bob", "carol"} {
		got, err := r.Groups(t.Context(), backend.CustomerUser{Login: login})
		if err == nil {
			assert.Empty(t, got, "%s: an unknown rule must not grant anything", login)
		}
	}
}

// Through policy.Directory: the queues a customer may use follow the
// directory groups.
func TestGroupResolverThroughDirectory(t *testing.T) {
	srv := testldap.Shared(t)
	ou, mappings := groupTree(t, srv)
	b := newBackend(t, testConfig(srv, ou, false))
	r, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: mappings})
	require.NoError(t, err)
	d, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{b}, Groups: r,
		Queues: tickets.Static(
			tickets.Queue{ID: 1, Name: "Sales desk", Group: "Sales"},
			tickets.Queue{ID: 2, Name: "Support desk", Group: "support"},
			tickets.Queue{ID: 3, Name: "Top desk", Group: "Top"},
		)})
	require.NoError(t, err)
	queues := func(login, key string) []string {
		qs, err := d.Queues(t.Context(), login, key)
		require.NoError(t, err)
		out := []string{}
		for _, q := range qs {
			out = append(out, q.Name)
		}
		return out
	}
	assert.Equal(t, []string{"Sales desk"}, queues("alice", "create"))
	assert.Equal(t, []string{"Sales desk", "Top desk"}, queues("alice", "ro"))
	assert.Equal(t, []string{"Support desk"}, queues("carol", "create"), "rw through nested groups")
	assert.Empty(t, queues("dave", "ro"))
	visible, err := d.VisibleTickets(t.Context(), "bob", []tickets.Ticket{
		{ID: 1, Queue: "Support desk", CustomerUser: "bob"},
		{ID: 2, Queue: "Sales desk", CustomerUser: "bob"},
	}, "ro")
	require.NoError(t, err)
	require.Len(t, visible, 1)
	assert.Equal(t, int64(1), visible[0].ID)
}
