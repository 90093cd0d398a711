package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/tickets"
)

// ticket is the example's own ticket: what the access rule looks at
// (tickets.Ticket) and what a page shows. The library keeps no tickets.
type ticket struct {
	tickets.Ticket
	Body    string
	Created time.Time
}

// ticketStore keeps the tickets in memory, in the order they were opened.
type ticketStore struct {
	mu   sync.Mutex
	list []ticket
}

func newTicketStore() *ticketStore { return &ticketStore{} }

// add stores a new ticket and gives it its ID and number.
func (s *ticketStore) add(t ticket) ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = int64(len(s.list) + 1)
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	t.Number = fmt.Sprintf("%s%08d", t.Created.Format("20060102"), t.ID)
	s.list = append(s.list, t)
	return t
}

// visible gives the tickets the rule allows, newest first.
func (s *ticketStore) visible(allows func(tickets.Ticket) bool) []ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ticket
	for i := len(s.list) - 1; i >= 0; i-- {
		if allows(s.list[i].Ticket) {
			out = append(out, s.list[i])
		}
	}
	return out
}

// get gives the ticket with that ID.
func (s *ticketStore) get(id int64) (ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > int64(len(s.list)) {
		return ticket{}, false
	}
	return s.list[id-1], true
}

// demoUser is a seeded customer and the password the startup message prints.
type demoUser struct {
	u        backend.CustomerUser
	password string
}

// demoUsers: two ACME customers and one of BETA (demo passwords, printed on
// startup; they meet the portal's password policy).
var demoUsers = []demoUser{
	{backend.CustomerUser{Login: "anna", FirstName: "Anna", LastName: "Albers", Email: "anna@acme.example.org", CustomerID: "ACME", Phone: "+49 30 1234"}, "anna-demo-1"},
	{backend.CustomerUser{Login: "bert", FirstName: "Bert", LastName: "Brandt", Email: "bert@acme.example.org", CustomerID: "ACME"}, "bert-demo-2"},
	{backend.CustomerUser{Login: "carl", FirstName: "Carl", LastName: "Cole", Email: "carl@beta.example.org", CustomerID: "BETA"}, "carl-demo-3"},
}

// seedDemo adds the demo users (a second run against the same SQL or LDAP
// store finds them there and resets their passwords), the company grants and
// a few tickets.
func (a *app) seedDemo(ctx context.Context) error {
	for _, d := range demoUsers {
		_, err := a.dir.Add(ctx, d.u, d.password)
		if errors.Is(err, backend.ErrDuplicateLogin) {
			err = a.dir.SetPassword(ctx, d.u.Login, d.password)
			if err == nil {
				err = a.dir.SetValid(ctx, d.u.Login, backend.Valid)
			}
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", d.u.Login, err)
		}
	}
	rw := map[string]bool{backend.PermRW: true}
	for _, g := range []struct{ group, company string }{{"support", "ACME"}, {"support", "BETA"}, {"projects", "BETA"}} {
		if err := a.dir.SetCompanyPermissions(ctx, g.group, g.company, groups.ContextSame, rw); err != nil {
			return err
		}
	}
	for _, t := range []ticket{
		{Ticket: tickets.Ticket{Title: "Printer on fire", Queue: "Support", CustomerID: "ACME", CustomerUser: "anna"}, Body: "The printer on floor 2 smokes when it prints."},
		{Ticket: tickets.Ticket{Title: "Invoice 4711 is wrong", Queue: "Billing", CustomerID: "ACME", CustomerUser: "bert"}, Body: "We were charged twice."},
		{Ticket: tickets.Ticket{Title: "Mail quota", Queue: "Support", CustomerID: "ACME", CustomerUser: "bert"}, Body: "My mailbox is full."},
		{Ticket: tickets.Ticket{Title: "Rollout plan", Queue: "Projects", CustomerID: "BETA", CustomerUser: "carl"}, Body: "Please send the plan for Q1."},
		{Ticket: tickets.Ticket{Title: "VPN down", Queue: "Support", CustomerID: "BETA", CustomerUser: "carl"}, Body: "No VPN since this morning."},
	} {
		a.tickets.add(t)
	}
	return nil
}
