// Command queueaccess shows the OTRS customer-group rules through
// policy.Directory: two companies, three groups, a queue in each; which
// queues each customer may open tickets in and which tickets they see; how
// that changes when a company is granted a group, when group support is
// turned off and when a user is set invalid; and one ExplainAccess answer.
// It needs no server:
//
//	go run ./examples/queueaccess
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/tickets"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "queueaccess:", err)
		os.Exit(1)
	}
}

// world is the example's data: the Directory, the group store, the tickets.
type world struct {
	dir     *policy.Directory
	store   groups.Store
	tickets []tickets.Ticket
}

func build(ctx context.Context, support bool) (world, error) {
	h := password.Hasher{Cost: password.MinCost} // no passwords are checked here
	users := []memorybackend.User{
		{CustomerUser: backend.CustomerUser{Login: "anna", FirstName: "Anna", LastName: "Acme", Email: "anna@acme.example.org", CustomerID: "ACME"}},
		{CustomerUser: backend.CustomerUser{Login: "bert", FirstName: "Bert", LastName: "Acme", Email: "bert@acme.example.org", CustomerID: "ACME"}},
		{CustomerUser: backend.CustomerUser{Login: "carl", FirstName: "Carl", LastName: "Beta", Email: "carl@beta.example.org", CustomerID: "BETA"}},
	}
	b, err := memorybackend.New(memorybackend.Config{Name: "customers", Users: users, Hasher: &h})
	if err != nil {
		return world{}, err
	}
	store := groups.NewMemoryStore()
	for _, g := range []string{"support", "billing", "projects"} {
		if _, err := store.AddGroup(ctx, groups.Group{Name: g}); err != nil {
			return world{}, err
		}
	}
	grants := []struct{ group, company string }{{"support", "ACME"}, {"support", "BETA"}, {"projects", "BETA"}}
	for _, gr := range grants {
		if err := store.SetCompanyPermissions(ctx, gr.group, gr.company, groups.ContextSame, map[string]bool{backend.PermRW: true}); err != nil {
			return world{}, err
		}
	}
	res, err := groups.NewResolver(store, groups.Config{Support: support})
	if err != nil {
		return world{}, err
	}
	queues := tickets.Static(
		tickets.Queue{ID: 1, Name: "Support", Group: "support"},
		tickets.Queue{ID: 2, Name: "Billing", Group: "billing"},
		tickets.Queue{ID: 3, Name: "Projects", Group: "projects"},
	)
	dir, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{b}, Hasher: &h, Groups: res, Queues: queues})
	if err != nil {
		return world{}, err
	}
	ts := []tickets.Ticket{
		{ID: 1, Number: "2026120210000011", Title: "Printer on fire", Queue: "Support", CustomerID: "ACME", CustomerUser: "anna"},
		{ID: 2, Number: "2026120210000022", Title: "Invoice wrong", Queue: "Billing", CustomerID: "ACME", CustomerUser: "bert"},
		{ID: 3, Number: "2026120210000033", Title: "New rollout", Queue: "Projects", CustomerID: "BETA", CustomerUser: "carl"},
		{ID: 4, Number: "2026120210000044", Title: "VPN down", Queue: "Support", CustomerID: "BETA", CustomerUser: "carl"},
	}
	return world{dir: dir, store: store, tickets: ts}, nil
}

// show prints, for each customer, the queues they may open tickets in and
// the tickets they see.
func show(ctx context.Context, w io.Writer, wd world) error {
	for _, login := range []string{"anna", "bert", "carl"} {
		qs, err := wd.dir.Queues(ctx, login, "create")
		if err != nil {
			return err
		}
		var qn []string
		for _, q := range qs {
			qn = append(qn, q.Name)
		}
		vis, err := wd.dir.VisibleTickets(ctx, login, wd.tickets, backend.PermRO)
		if err != nil {
			return err
		}
		var tn []string
		for _, t := range vis {
			tn = append(tn, t.Title)
		}
		fmt.Fprintf(w, "  %-5s may open tickets in [%s]; sees [%s]\n", login, strings.Join(qn, ", "), strings.Join(tn, ", "))
	}
	return nil
}

func run(ctx context.Context, w io.Writer) error {
	wd, err := build(ctx, true)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "1. Group support on: ACME has support, BETA has support and projects (rw, through the company)")
	if err := show(ctx, w, wd); err != nil {
		return err
	}
	fmt.Fprintln(w, "2. ACME is granted billing:")
	if err := wd.dir.SetCompanyPermissions(ctx, "billing", "ACME", groups.ContextSame, map[string]bool{backend.PermRW: true}); err != nil {
		return err
	}
	if err := show(ctx, w, wd); err != nil {
		return err
	}
	fmt.Fprintln(w, "3. Why can't carl open a ticket in Billing?")
	a, err := wd.dir.ExplainAccess(ctx, "carl", "Billing", "create")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %s\n", a)
	fmt.Fprintln(w, "4. bert is set invalid:")
	if err := wd.dir.SetValid(ctx, "bert", backend.Invalid); err != nil {
		return err
	}
	if err := show(ctx, w, wd); err != nil {
		return err
	}
	fmt.Fprintln(w, "5. Group support off (the OTRS default): every valid queue, for every valid customer")
	off, err := build(ctx, false)
	if err != nil {
		return err
	}
	return show(ctx, w, off)
}
