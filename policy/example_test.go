package policy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
)

// A Directory over a read-only company directory and a writable local
// store: one search over both, one login namespace, no deletion.
func ExampleNewDirectory() {
	ctx := context.Background()
	h := password.Hasher{Cost: password.MinCost} // keep the example fast; production keeps the default
	company, _ := memorybackend.New(memorybackend.Config{Name: "company", ReadOnly: true, Hasher: &h,
		Users: []memorybackend.User{{CustomerUser: backend.CustomerUser{Login: "hhuber", FirstName: "Hans",
			LastName: "Müller", Email: "hans@acme.example.org", CustomerID: "ACME"}, Password: "Company-pw-1"}}})
	local, _ := memorybackend.New(memorybackend.Config{Name: "local", Hasher: &h})
	dir, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{company, local},
		MaxFailedLogins: 3, Hasher: &h})
	if err != nil {
		panic(err)
	}
	_, err = dir.Add(ctx, backend.CustomerUser{Login: "jdoe", FirstName: "Jane", LastName: "Doe",
		Email: "jane@doe.example.com", CustomerID: "DOE"}, "Jane-Doe-pw-1")
	fmt.Println("added jdoe:", err == nil)
	_, err = dir.Add(ctx, backend.CustomerUser{Login: "HHuber", FirstName: "X", LastName: "Y",
		Email: "x@y.example.com", CustomerID: "X"}, "")
	fmt.Println("HHuber again:", errors.Is(err, backend.ErrDuplicateLogin))
	users, _ := dir.Search(ctx, backend.Query{Search: "muller"})
	for _, u := range users {
		fmt.Println("found:", u.Login, "from", u.Source)
	}
	u, err := dir.Authenticate(ctx, "JDOE", "Jane-Doe-pw-1")
	fmt.Println("login:", u.Login, err)
	fmt.Println("delete:", errors.Is(dir.Delete(ctx, "jdoe"), backend.ErrDeletionForbidden))
	// Output:
	// added jdoe: true
	// HHuber again: true
	// found: hhuber from company
	// login: jdoe <nil>
	// delete: true
}
