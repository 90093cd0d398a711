package groups_test

import (
	"context"
	"fmt"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

func ExampleNewMemoryStore() {
	ctx := context.Background()
	store := groups.NewMemoryStore()
	store.AddGroup(ctx, groups.Group{Name: "support"})

	// GroupMemberAdd semantics: only the keys passed change.
	store.SetMemberPermissions(ctx, "support", "hhuber", map[string]bool{"ro": true, "move_into": true})
	store.SetMemberPermissions(ctx, "support", "hhuber", map[string]bool{"rw": true})
	store.SetMemberPermissions(ctx, "support", "HHuber", map[string]bool{"rw": false})
	gs, _ := store.UserGrants(ctx, "hhuber")
	for _, g := range gs {
		fmt.Println(g.Group, g.Key)
	}

	// Refused input changes nothing and says which field was wrong.
	err := store.SetMemberPermissions(ctx, "nope", "hhuber", map[string]bool{"ro": true})
	fmt.Println(err)
	// Output:
	// support move_into
	// support ro
	// customeruser groups memory: set member permissions: invalid Group: unknown group
}

func ExampleNewResolver() {
	ctx := context.Background()
	store := groups.NewMemoryStore()
	for _, name := range []string{"users", "support", "billing"} {
		store.AddGroup(ctx, groups.Group{Name: name})
	}
	store.SetMemberPermissions(ctx, "support", "hhuber", map[string]bool{"ro": true})
	store.SetCompanyPermissions(ctx, "billing", "ACME", groups.ContextSame, map[string]bool{"rw": true})

	r, _ := groups.NewResolver(store, groups.Config{Support: true, AlwaysGroups: []string{"users"}})
	u := backend.CustomerUser{Login: "hhuber", CustomerID: "acme", Valid: backend.Valid}
	perms, _ := r.Groups(ctx, u)
	for _, p := range perms {
		fmt.Println(p.Group, p.Permission, "create:", p.Satisfies(groups.PermCreate))
	}
	e, _ := r.Explain(ctx, u, "support", groups.PermCreate)
	fmt.Println(e)
	e, _ = r.Explain(ctx, u, "billing", groups.PermCreate)
	fmt.Println(e)
	// Output:
	// billing rw create: true
	// support ro create: false
	// users rw create: true
	// denied: neither the user nor any of their customer IDs holds "create" or "rw" on group "support"
	// granted: customer ID "ACME" holds "rw" on group "billing"
}
