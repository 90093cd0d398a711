package memorybackend_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

func Example() {
	ctx := context.Background()
	b, err := memorybackend.New(memorybackend.Config{
		Name:   "portal",
		Hasher: &password.Hasher{Cost: 4}, // keep the example fast; production keeps the default
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range []backend.CustomerUser{
		{Login: "hhuber", FirstName: "Hans", LastName: "Huber", Email: "hans.huber@example.com", CustomerID: "ACME"},
		{Login: "amaier", FirstName: "Anna", LastName: "Maier", Email: "anna.maier@example.com", CustomerID: "ACME"},
	} {
		if _, err := b.Add(ctx, u, "correct horse battery staple"); err != nil {
			log.Fatal(err)
		}
	}

	found, err := b.Search(ctx, backend.Query{Search: "hans huber"})
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range found {
		fmt.Println("found:", u.Login, u.FullName(), "from", u.Source)
	}

	company, _ := b.Search(ctx, backend.Query{CustomerID: "acme"})
	fmt.Println("users of ACME:", len(company))

	u, err := b.Authenticate(ctx, "HHuber", "correct horse battery staple")
	fmt.Println("login:", u.Login, err)

	_, err = b.Authenticate(ctx, "hhuber", "wrong")
	fmt.Println("wrong password:", errors.Is(err, backend.ErrInvalidCredentials))
	// Output:
	// found: hhuber Hans Huber from portal
	// users of ACME: 2
	// login: hhuber <nil>
	// wrong password: true
}
