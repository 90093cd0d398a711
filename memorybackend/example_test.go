package memorybackend_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

func Example() {
	ctx := context.Background()
	b, err := memorybackend.New(memorybackend.Config{
		Name:   "portal",
		Hasher: fastHasher, // keep the example fast; production leaves it nil
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

// fastHasher keeps the examples quick; production leaves Config.Hasher nil
// (standard bcrypt at password.DefaultCost).
var fastHasher = &password.Hasher{Cost: password.MinCost}

// Logins are compared by the identity rule: case and Unicode normalisation
// do not make another user, accents do.
func ExampleBackend_Get() {
	ctx := context.Background()
	b, err := memorybackend.New(memorybackend.Config{Hasher: fastHasher, Users: []memorybackend.User{
		{CustomerUser: backend.CustomerUser{Login: "rené", FirstName: "René", LastName: "Roth", Email: "rene@example.com", CustomerID: "ACME"}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	for _, login := range []string{"RENÉ", "rene\u0301", "rene"} {
		u, err := b.Get(ctx, login)
		fmt.Printf("%+q: %q, not found: %v\n", login, u.Login, errors.Is(err, backend.ErrNotFound))
	}
	// Output:
	// "REN\u00c9": "rené", not found: false
	// "rene\u0301": "rené", not found: false
	// "rene": "", not found: true
}

// Keyset paging: give the last login of a page as Query.After.
func ExampleBackend_Search_paging() {
	ctx := context.Background()
	var users []memorybackend.User
	for _, login := range []string{"dora", "anna", "emil", "bert", "carl"} {
		users = append(users, memorybackend.User{CustomerUser: backend.CustomerUser{
			Login: login, FirstName: login, LastName: "Sample", Email: login + "@example.com", CustomerID: "ACME"}})
	}
	b, err := memorybackend.New(memorybackend.Config{Hasher: fastHasher, Users: users})
	if err != nil {
		log.Fatal(err)
	}
	q := backend.Query{CustomerID: "acme", Limit: 2}
	for {
		page, err := b.Search(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		var names []string
		for _, u := range page {
			names = append(names, u.Login)
		}
		fmt.Println(names)
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].Login
	}
	// Output:
	// [anna bert]
	// [carl dora]
	// [emil]
}

// Two admins edit one user: the second save, made from a stale read, is
// refused with ErrConflict instead of overwriting the first.
func ExampleBackend_Update() {
	ctx := context.Background()
	b, err := memorybackend.New(memorybackend.Config{Hasher: fastHasher, Users: []memorybackend.User{
		{CustomerUser: backend.CustomerUser{Login: "hhuber", FirstName: "Hans", LastName: "Huber", Email: "hans@example.com", CustomerID: "ACME"}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	formA, _ := b.Get(ctx, "hhuber")
	formB := formA

	formA.City = "Berlin"
	_, err = b.Update(ctx, "hhuber", formA)
	fmt.Println("A saves:", err)

	formB.City = "Hamburg"
	_, err = b.Update(ctx, "hhuber", formB)
	fmt.Println("B saves:", errors.Is(err, backend.ErrConflict))

	u, _ := b.Get(ctx, "hhuber")
	fmt.Println("stored:", u.City, u.Valid) // a zero Valid in a form keeps the state
	// Output:
	// A saves: <nil>
	// B saves: true
	// stored: Berlin valid
}

// Users for a read-only backend, from JSON: passwords in plain text are
// hashed by New, stored hashes are kept.
func ExampleLoadUsersJSON() {
	users, err := memorybackend.LoadUsersJSON(strings.NewReader(`[
		{"login": "hhuber", "firstName": "Hans", "lastName": "Huber", "email": "hans@example.com",
		 "customerID": "ACME", "password": "correct horse battery"},
		{"login": "ttemp", "firstName": "Tom", "lastName": "Temp", "email": "tom@example.com",
		 "customerID": "ACME", "valid": "invalid-temporarily", "password": "tom's password"}
	]`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v\n", users) // never a password
	b, err := memorybackend.New(memorybackend.Config{ReadOnly: true, Hasher: fastHasher, Users: users})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	u, err := b.Authenticate(ctx, "hhuber", "correct horse battery")
	fmt.Println(u.Login, err)
	_, err = b.Authenticate(ctx, "ttemp", "tom's password")
	var invalid *backend.AccountInvalidError
	fmt.Println(errors.As(err, &invalid) && invalid.State == backend.InvalidTemporarily)
	// Output:
	// [CustomerUser("hhuber") CustomerUser("ttemp")]
	// hhuber <nil>
	// true
}
