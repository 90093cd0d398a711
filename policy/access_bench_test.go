package policy_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/tickets"
)

// BenchmarkAccess: a customer with 1,000 groups (400 own, 300 through each
// of two companies), 5,000 queues over 2,000 groups, 10,000 tickets, all
// memberships in memory (issue 9's benchmark).
func BenchmarkAccess(b *testing.B) {
	ctx := b.Context()
	store := groups.NewMemoryStore()
	for i := range 2000 {
		_, err := store.AddGroup(ctx, groups.Group{Name: fmt.Sprintf("g%04d", i)})
		require.NoError(b, err)
	}
	for i := range 400 {
		require.NoError(b, store.SetMemberPermissions(ctx, fmt.Sprintf("g%04d", i), "agent", map[string]bool{"ro": true, "create": i%2 == 0}))
	}
	for i := range 600 {
		company := "ACME"
		if i >= 300 {
			company = "ACME-EU"
		}
		require.NoError(b, store.SetCompanyPermissions(ctx, fmt.Sprintf("g%04d", 400+i), company, groups.ContextSame, map[string]bool{"ro": true}))
	}
	res, err := groups.NewResolver(store, groups.Config{Support: true})
	require.NoError(b, err)
	var qs []tickets.Queue
	for i := range 5000 {
		qs = append(qs, tickets.Queue{ID: int64(i + 1), Name: fmt.Sprintf("q%04d", i), Group: fmt.Sprintf("g%04d", i%2000), Valid: backend.Valid})
	}
	var ts []tickets.Ticket
	for i := range 10000 {
		ts = append(ts, tickets.Ticket{ID: int64(i), Queue: fmt.Sprintf("q%04d", i%5000), CustomerID: []string{"ACME", "ACME-EU", "OTHER"}[i%3],
			CustomerUser: []string{"agent", "someone"}[i%2]})
	}
	u := person("agent", "agent@acme.example.org")
	u.CustomerID, u.CustomerIDs = "ACME", []string{"ACME-EU"}
	h := minHasher
	dir, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{newMemory(b, "local", false, memorybackend.User{CustomerUser: u})},
		Hasher: &h, Groups: res, Queues: tickets.Static(qs...)})
	require.NoError(b, err)
	b.Run("Groups", func(b *testing.B) {
		for b.Loop() {
			if _, err := res.Groups(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Queues", func(b *testing.B) {
		for b.Loop() {
			if q, err := dir.Queues(ctx, "agent", "ro"); err != nil || len(q) == 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("VisibleTickets", func(b *testing.B) {
		for b.Loop() {
			if v, err := dir.VisibleTickets(ctx, "agent", ts, "ro"); err != nil || len(v) == 0 {
				b.Fatal(err, len(v))
			}
		}
	})
}
