package policy_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/tickets"
)

// scenario is the issue's: companies C0..C2, users U0..U2 (and a colleague
// of U0 in C0), groups G0..G2, Ci ro on Gi, queue Qi in Gi, ticket Ti of
// Ui/Ci in Qi.
type scenario struct {
	dir     *policy.Directory
	store   groups.Store
	tickets []tickets.Ticket
	queues  []tickets.Queue
}

func newScenario(t *testing.T, cfg policy.Config, gcfg groups.Config) scenario {
	t.Helper()
	ctx := t.Context()
	var users []memorybackend.User
	for i := range 3 {
		u := person(fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@c%d.example.org", i, i))
		u.CustomerID = fmt.Sprintf("C%d", i)
		users = append(users, memorybackend.User{CustomerUser: u})
	}
	colleague := person("colleague0", "colleague0@c0.example.org")
	colleague.CustomerID = "C0"
	users = append(users, memorybackend.User{CustomerUser: colleague})
	store := groups.NewMemoryStore()
	var qs []tickets.Queue
	var ts []tickets.Ticket
	for i := range 3 {
		g := fmt.Sprintf("G%d", i)
		_, err := store.AddGroup(ctx, groups.Group{Name: g})
		require.NoError(t, err)
		require.NoError(t, store.SetCompanyPermissions(ctx, g, fmt.Sprintf("C%d", i), groups.ContextSame, map[string]bool{backend.PermRO: true}))
		qs = append(qs, tickets.Queue{ID: int64(10 + i), Name: fmt.Sprintf("Q%d", i), Group: g, Valid: backend.Valid})
		ts = append(ts, tickets.Ticket{ID: int64(100 + i), Number: fmt.Sprintf("T%d", i), Queue: fmt.Sprintf("Q%d", i),
			CustomerID: fmt.Sprintf("C%d", i), CustomerUser: fmt.Sprintf("u%d", i)})
	}
	gcfg.Support = true
	res, err := groups.NewResolver(store, gcfg)
	require.NoError(t, err)
	h := minHasher
	b := newMemory(t, "local", false, users...)
	cfg.Backends = []backend.CustomerUserBackend{b}
	cfg.Hasher, cfg.Groups = &h, res
	if cfg.Queues == nil {
		cfg.Queues = tickets.Static(qs...)
	}
	d, err := policy.NewDirectory(cfg)
	require.NoError(t, err)
	return scenario{dir: d, store: store, tickets: ts, queues: qs}
}

func numbers(ts []tickets.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Number)
	}
	return out
}

func names(qs []tickets.Queue) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.Name)
	}
	return out
}

func visible(t *testing.T, s scenario, login string) []string {
	t.Helper()
	got, err := s.dir.VisibleTickets(t.Context(), login, s.tickets, backend.PermRO)
	require.NoError(t, err)
	return numbers(got)
}

func TestTicketVisibilityScenario(t *testing.T) {
	s := newScenario(t, policy.Config{}, groups.Config{})
	ctx := t.Context()
	assert.Equal(t, []string{"T0"}, visible(t, s, "u0"), "U0 sees T0 only")
	assert.Equal(t, []string{"T2"}, visible(t, s, "U2"), "U2 sees nothing of C1")
	assert.Equal(t, []string{"T0"}, visible(t, s, "colleague0"), "a colleague sees the company's tickets")

	// C2 ro on G1 in same and other: U2 sees T1 and T2.
	require.NoError(t, s.store.SetCompanyPermissions(ctx, "G1", "C2", groups.ContextSame, map[string]bool{backend.PermRO: true}))
	require.NoError(t, s.store.SetCompanyPermissions(ctx, "G1", "C2", groups.ContextOther, map[string]bool{backend.PermRO: true}))
	assert.Equal(t, []string{"T1", "T2"}, visible(t, s, "u2"))
	ok, err := s.dir.CanAccessTicket(ctx, "u2", s.tickets[1], backend.PermRO)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.dir.CanAccessTicket(ctx, "u2", s.tickets[0], backend.PermRO)
	require.NoError(t, err)
	assert.False(t, ok)

	// Company access off: a colleague of U0 in C0 sees none of U0's tickets,
	// and "other" grants show nothing either.
	off := newScenario(t, policy.Config{DisableCompanyTicketAccess: true}, groups.Config{})
	assert.Empty(t, visible(t, off, "colleague0"))
	assert.Equal(t, []string{"T0"}, visible(t, off, "u0"), "own tickets stay visible")

	// An invalid customer user has no access.
	require.NoError(t, s.dir.SetValid(ctx, "u0", backend.Invalid))
	assert.Empty(t, visible(t, s, "u0"))
	q, err := s.dir.Queues(ctx, "u0", backend.PermRO)
	require.NoError(t, err)
	assert.Empty(t, q)
	e, err := s.dir.ExplainAccess(ctx, "u0", "Q0", backend.PermRO)
	require.NoError(t, err)
	assert.False(t, e.Granted)
	assert.Equal(t, policy.ReasonUserInvalid, e.Reason)
}

func TestQueuesByKey(t *testing.T) {
	s := newScenario(t, policy.Config{}, groups.Config{AlwaysGroups: []string{"G2"}})
	ctx := t.Context()
	read, err := s.dir.Queues(ctx, "u0", backend.PermRO)
	require.NoError(t, err)
	assert.Equal(t, []string{"Q0", "Q2"}, names(read), "ro through the company, G2 as an always-group")
	create, err := s.dir.Queues(ctx, "u0", "create")
	require.NoError(t, err)
	assert.Equal(t, []string{"Q2"}, names(create), "ro does not give create; an always-group gives every key")
	require.NoError(t, s.dir.SetMemberPermissions(ctx, "G1", "U0", map[string]bool{backend.PermRW: true}))
	create, err = s.dir.Queues(ctx, "u0", "create")
	require.NoError(t, err)
	assert.Equal(t, []string{"Q1", "Q2"}, names(create), "rw gives every key")
	grants, err := s.dir.MemberGrants(ctx, "u0")
	require.NoError(t, err)
	require.Len(t, grants, 1)
	assert.Equal(t, "rw", grants[0].Key)

	// Support off: every valid queue is creatable, even for a user in no group.
	open := newScenario(t, policy.Config{}, groups.Config{SupportBySource: map[string]bool{"local": false}})
	all, err := open.dir.Queues(ctx, "u1", "create")
	require.NoError(t, err)
	assert.Equal(t, []string{"Q0", "Q1", "Q2"}, names(all))
}

func TestExplainAccess(t *testing.T) {
	s := newScenario(t, policy.Config{}, groups.Config{})
	ctx := t.Context()
	for _, tc := range []struct {
		login, queue, key string
		granted           bool
		reason            policy.AccessReason
		says              string
	}{
		{"u0", "Q0", backend.PermRO, true, policy.AccessReason(groups.RuleCompany), `customer ID "C0" holds "ro" on group "G0"`},
		{"u0", "Q1", backend.PermRO, false, policy.AccessReason(groups.RuleNoGrant), "neither the user nor any of their customer IDs"},
		{"u0", "Q0", "create", false, policy.AccessReason(groups.RuleNoGrant), `holds "create" or "rw"`},
		{"u0", "nope", backend.PermRO, false, policy.ReasonUnknownQueue, "no such queue"},
	} {
		a, err := s.dir.ExplainAccess(ctx, tc.login, tc.queue, tc.key)
		require.NoError(t, err)
		assert.Equal(t, tc.granted, a.Granted, "%+v", tc)
		assert.Equal(t, tc.reason, a.Reason, "%+v", tc)
		assert.Contains(t, a.String(), tc.says)
	}
	require.NoError(t, s.store.SetGroupValid(ctx, "G0", backend.Invalid))
	a, err := s.dir.ExplainAccess(ctx, "u0", "Q0", backend.PermRO)
	require.NoError(t, err)
	assert.Equal(t, policy.AccessReason(groups.RuleGroupInvalid), a.Reason)
	assert.Contains(t, a.String(), "not valid")
}

func TestRenameMovesMemberships(t *testing.T) {
	s := newScenario(t, policy.Config{}, groups.Config{})
	ctx := t.Context()
	require.NoError(t, s.dir.SetMemberPermissions(ctx, "G1", "u0", map[string]bool{"create": true}))
	u, err := s.dir.Get(ctx, "u0")
	require.NoError(t, err)
	u.Login = "u0-renamed"
	_, err = s.dir.Update(ctx, "u0", u)
	require.NoError(t, err)
	create, err := s.dir.Queues(ctx, "u0-renamed", "create")
	require.NoError(t, err)
	assert.Equal(t, []string{"Q1"}, names(create), "the membership moved with the login")
	old, err := s.store.UserGrants(ctx, "u0")
	require.NoError(t, err)
	assert.Empty(t, old)
}

func TestAccessBadInput(t *testing.T) {
	s := newScenario(t, policy.Config{}, groups.Config{})
	ctx := t.Context()
	huge := strings.Repeat("x", 1<<20)
	for _, key := range []string{"", " ", "r\x00o", huge} {
		_, err := s.dir.Queues(ctx, "u0", key)
		assert.ErrorIs(t, err, backend.ErrInvalidInput, "key %.10q", key)
	}
	for _, login := range []string{"", "a\x00b", huge} {
		_, err := s.dir.TicketScope(ctx, login, backend.PermRO)
		assert.ErrorIs(t, err, backend.ErrInvalidInput)
		assert.ErrorIs(t, s.dir.SetMemberPermissions(ctx, "G0", login, map[string]bool{"ro": true}), backend.ErrInvalidInput)
	}
	assert.ErrorIs(t, s.dir.SetMemberPermissions(ctx, "no such group", "u0", map[string]bool{"ro": true}), backend.ErrInvalidInput)
	_, err := s.dir.Queues(ctx, "nobody", backend.PermRO)
	assert.ErrorIs(t, err, backend.ErrNotFound)
	bare, _ := three(t, policy.Config{})
	_, err = bare.Queues(ctx, "bert", backend.PermRO)
	assert.ErrorIs(t, err, policy.ErrNoGroups)
	grants, err := s.store.UserGrants(ctx, "u0")
	require.NoError(t, err)
	assert.Empty(t, grants, "nothing stored")
}

// TicketScope's SQL condition, run on an OTRS-style ticket table on a real
// MariaDB, selects exactly the tickets VisibleTickets keeps, for every user
// of the scenario and with company access on and off.
func TestTicketScopeSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB (left out by -short)")
	}
	db := testmysql.NewDatabase(t).DB
	ctx := t.Context()
	_, err := db.ExecContext(ctx, "CREATE TABLE ticket (id BIGINT NOT NULL PRIMARY KEY, tn VARCHAR(50) NOT NULL, queue_id INTEGER NOT NULL, "+
		"customer_id VARCHAR(150), customer_user_id VARCHAR(250)) DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci")
	require.NoError(t, err)
	for _, disable := range []bool{false, true} {
		s := newScenario(t, policy.Config{DisableCompanyTicketAccess: disable}, groups.Config{})
		require.NoError(t, s.store.SetCompanyPermissions(ctx, "G1", "C2", groups.ContextSame, map[string]bool{backend.PermRO: true}))
		require.NoError(t, s.store.SetCompanyPermissions(ctx, "G1", "C2", groups.ContextOther, map[string]bool{backend.PermRO: true}))
		_, err := db.ExecContext(ctx, "DELETE FROM ticket")
		require.NoError(t, err)
		byName := tickets.ByName(s.queues)
		extra := tickets.Ticket{ID: 200, Number: "T-other", Queue: "Q1", CustomerID: "C9", CustomerUser: "stranger"}
		all := append(slices.Clone(s.tickets), extra)
		for _, tk := range all {
			_, err := db.ExecContext(ctx, "INSERT INTO ticket (id, tn, queue_id, customer_id, customer_user_id) VALUES (?, ?, ?, ?, ?)",
				tk.ID, tk.Number, byName[backend.IdentityKey(tk.Queue)].ID, tk.CustomerID, tk.CustomerUser)
			require.NoError(t, err)
		}
		for _, login := range []string{"u0", "u1", "u2", "colleague0"} {
			scope, err := s.dir.TicketScope(ctx, login, backend.PermRO)
			require.NoError(t, err)
			cond, args := scope.SQL()
			rows, err := db.QueryContext(ctx, "SELECT tn FROM ticket WHERE "+cond+" ORDER BY id", args...)
			require.NoError(t, err)
			var got []string
			for rows.Next() {
				var tn string
				require.NoError(t, rows.Scan(&tn))
				got = append(got, tn)
			}
			require.NoError(t, rows.Err())
			rows.Close()
			want, err := s.dir.VisibleTickets(ctx, login, all, backend.PermRO)
			require.NoError(t, err)
			assert.Equal(t, numbers(want), got, "%s (company access disabled: %v)", login, disable)
		}
	}
	var n int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM ticket").Scan(&n))
	assert.Equal(t, 4, n)
}

// versionedQueues is a changing tickets.Versioned source that counts reads.
type versionedQueues struct {
	mu      sync.Mutex
	queues  []tickets.Queue
	version uint64
	reads   int
}

func (s *versionedQueues) Queues(context.Context) ([]tickets.Queue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return slices.Clone(s.queues), nil
}

func (s *versionedQueues) QueuesVersion(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, nil
}

func (s *versionedQueues) set(qs ...tickets.Queue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues = qs
	s.version++
}

// The Directory keeps its queue index for a Versioned source and reads the
// queues again only when the version changes: a queue made invalid or moved
// to another group shows at the next call.
func TestQueueIndexFollowsVersion(t *testing.T) {
	ctx := t.Context()
	src := &versionedQueues{}
	src.set(tickets.Queue{ID: 1, Name: "Q0", Group: "G0", Valid: backend.Valid}, tickets.Queue{ID: 2, Name: "Q1", Group: "G1", Valid: backend.Valid})
	s := newScenario(t, policy.Config{Queues: src}, groups.Config{})
	got, err := s.dir.Queues(ctx, "u0", backend.PermRO)
	require.NoError(t, err)
	assert.Equal(t, []string{"Q0"}, names(got))
	for range 5 {
		_, err = s.dir.Queues(ctx, "u1", backend.PermRO)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, src.reads, "an unchanged version is served from the kept index")

	src.set(tickets.Queue{ID: 1, Name: "Q0", Group: "G0", Valid: backend.Invalid}, tickets.Queue{ID: 2, Name: "Q1", Group: "g0", Valid: backend.Valid})
	got, err = s.dir.Queues(ctx, "u0", backend.PermRO)
	require.NoError(t, err)
	assert.Equal(t, []string{"Q1"}, names(got), "the invalid queue is gone, the moved one (another spelling of G0) is in")
	assert.Equal(t, 2, src.reads)
	got, err = s.dir.Queues(ctx, "u1", backend.PermRO)
	require.NoError(t, err)
	assert.Empty(t, got)
}
