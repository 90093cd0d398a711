package backend_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// The identity rule: case and normalisation do not make a new user;
// accents, width and emoji do.
func ExampleSameIdentity() {
	fmt.Println(backend.SameIdentity("ÄRGER", "ärger"))
	fmt.Println(backend.SameIdentity("\u212Aelvin", "kelvin")) // KELVIN SIGN
	fmt.Println(backend.SameIdentity("rené", "rene"))
	fmt.Println(backend.SameIdentity("straße", "strasse"))
	fmt.Println(backend.SameIdentity("ａｌｉｃｅ", "alice"))
	// Output:
	// true
	// true
	// false
	// false
	// false
}

// Search is not identity: a search word finds accented names.
func ExampleSearchFold() {
	expr, err := backend.ParseSearch(`muller "maria meier"`)
	if err != nil {
		panic(err)
	}
	folded := expr.Fold()
	fmt.Println(folded.Terms[0].Pattern, folded.Terms[1].Pattern, folded.Terms[1].Phrase)
	fmt.Println(folded.Match([]string{backend.SearchFold("Jürgen Müller"), backend.SearchFold("Maria Meier")}, false))
	// Output:
	// muller maria meier true
	// true
}

// A form marks every invalid field at once.
func ExampleValidationErrors() {
	_, err := backend.NormalizeUser(backend.CustomerUser{Login: "jdoe", FirstName: "John", Email: "not an address"}, true)
	var fields backend.ValidationErrors
	if errors.As(err, &fields) {
		for _, f := range fields {
			fmt.Printf("%s: %s\n", f.Field, f.Reason)
		}
	}
	fmt.Println(errors.Is(err, backend.ErrInvalidInput))
	// Output:
	// LastName: required
	// Email: not an email address (want local@domain)
	// CustomerID: required
	// true
}

// A portal tells a disabled account from a temporarily locked one, after a
// correct password.
func ExampleAccountInvalidError() {
	err := backend.OpError("portal", "authenticate", &backend.AccountInvalidError{State: backend.InvalidTemporarily})
	var ae *backend.AccountInvalidError
	if errors.Is(err, backend.ErrAccountInvalid) && errors.As(err, &ae) {
		fmt.Println("locked:", ae.State == backend.InvalidTemporarily)
	}
	// Output:
	// locked: true
}

// Update with the ChangedAt that was read refuses when someone else saved
// in between.
func ExampleCheckUnchanged() {
	read := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	stored := read.Add(time.Second) // another admin saved since
	fmt.Println(errors.Is(backend.CheckUnchanged(read, stored), backend.ErrConflict))
	fmt.Println(backend.CheckUnchanged(time.Time{}, stored)) // no check asked for
	// Output:
	// true
	// <nil>
}

// Keyset paging: give the last login of a page as After of the next query.
func ExampleQuery_after() {
	logins := []string{"anna", "Bert", "carl", "dora", "emil"}
	after := ""
	for page := 1; ; page++ {
		var got []string
		for _, l := range logins { // what a backend does, in its index
			if backend.AfterLogin(l, after) && len(got) < 2 {
				got = append(got, l)
			}
		}
		if len(got) == 0 {
			break
		}
		fmt.Println(page, got)
		after = got[len(got)-1]
	}
	// Output:
	// 1 [anna Bert]
	// 2 [carl dora]
	// 3 [emil]
}
