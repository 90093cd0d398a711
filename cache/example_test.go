package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/cache"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

func exampleBackend() backend.CustomerUserBackend {
	b, err := memorybackend.New(memorybackend.Config{Name: "crm", Users: []memorybackend.User{{
		CustomerUser: backend.CustomerUser{Login: "Anna", FirstName: "Anna", LastName: "Huber",
			Email: "anna@example.com", CustomerID: "ACME", Valid: backend.Valid},
	}}})
	if err != nil {
		panic(err)
	}
	return b
}

// A Cache in front of a backend: one backend call for both spellings of a
// login, and an Update through the Cache is seen by the next Get.
func ExampleNew() {
	ctx := context.Background()
	c, err := cache.New(exampleBackend(), cache.Config{MaxEntries: 100_000, GetTTL: 5 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := c.Get(ctx, "Anna")
	_, _ = c.Get(ctx, "anna") // the same identity: a hit
	st := c.Stats()
	fmt.Println(u.Login, st.Hits, st.Misses)

	u.City = "Graz"
	if _, err := c.Update(ctx, "anna", u); err != nil {
		fmt.Println(err)
		return
	}
	u, _ = c.Get(ctx, "ANNA")
	fmt.Println(u.City)
	// Output:
	// Anna 1 1
	// Graz
}

// Two app instances: each Cache hands what its writes invalidate to the
// other (here directly; in production over the product's own bus, as
// JSON), so neither shows a record the other has changed.
func ExampleCache_Invalidate() {
	ctx := context.Background()
	shared := exampleBackend() // stands for one database both instances use
	var a, b *cache.Cache
	a, _ = cache.New(shared, cache.Config{OnInvalidate: func(inv cache.Invalidation) { b.Invalidate(inv) }})
	b, _ = cache.New(shared, cache.Config{OnInvalidate: func(inv cache.Invalidation) { a.Invalidate(inv) }})

	u, _ := b.Get(ctx, "anna") // cached on B
	u.Email = "anna.huber@example.com"
	_, _ = a.Update(ctx, "anna", u) // through A

	u, _ = b.Get(ctx, "anna")
	fmt.Println(u.Email)
	old, _ := b.Search(ctx, backend.Query{Email: "anna@example.com"})
	fmt.Println(len(old))
	// Output:
	// anna.huber@example.com
	// 0
}

// A GroupStore under a Resolver: memberships are read from memory and a
// write through it is seen at once.
func ExampleNewGroupStore() {
	ctx := context.Background()
	store := groups.NewMemoryStore()
	_, _ = store.AddGroup(ctx, groups.Group{Name: "support"})
	gs, _ := cache.NewGroupStore(store, cache.GroupConfig{TTL: time.Minute})
	r, _ := groups.NewResolver(gs, groups.Config{Support: true})
	anna := backend.CustomerUser{Login: "anna", Valid: backend.Valid}

	_ = gs.SetMemberPermissions(ctx, "support", "anna", map[string]bool{"ro": true})
	perms, _ := r.Groups(ctx, anna)
	fmt.Println(perms)
	_ = gs.SetMemberPermissions(ctx, "support", "anna", map[string]bool{"rw": true})
	perms, _ = r.Groups(ctx, anna)
	fmt.Println(perms)
	// Output:
	// [{support ro}]
	// [{support rw}]
}
