package password_test

import (
	"fmt"

	"github.com/helpdeskkit/customeruser/backend/password"
)

// Hash a new password in the form an OTRS-family table needs.
func ExampleHasher_Hash() {
	h := password.Hasher{Cost: 4, Format: password.FormatOTRS} // use 12 or more outside tests
	stored, err := h.Hash("Secret123")
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, rehash := h.Verify(stored, "Secret123", "jdoe")
	fmt.Println(password.Identify(stored), ok, rehash)

	_, err = h.Hash("")
	fmt.Println(err)
	// Output:
	// bcrypt-otrs true false
	// invalid Password: required
}

// Verify a legacy OTRS hash and upgrade it on success.
func ExampleHasher_Verify() {
	h := password.Hasher{Cost: 4}
	stored := "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82" // sha2, as OTRS writes it

	ok, rehash := h.Verify(stored, "Secret123", "jdoe")
	fmt.Println(ok, rehash)
	if ok && rehash {
		upgraded, err := h.Hash("Secret123")
		if err != nil {
			fmt.Println(err)
			return
		}
		stored = upgraded // write it back to the user's row
	}
	ok, rehash = h.Verify(stored, "Secret123", "jdoe")
	fmt.Println(password.Identify(stored), ok, rehash)

	ok, _ = h.Verify(stored, "wrong", "jdoe")
	fmt.Println(ok)
	// Output:
	// true true
	// bcrypt true false
	// false
}

func ExampleIdentify() {
	for _, s := range []string{
		"BCRYPT:9:sodium__chloride:f58KO/Sc5XBGb9Bam7AOisnk/QAwefq",
		"$2b$04$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW",
		"$apr1$jdoe$OOGMiorY7qwsdHbeh21jm/",
		"1561482c1292222496d39bb43eb61619184a51c9",
		"jdl1FMVQukacA",
		"BCRYPT:99:short:x",
		"hunter2",
	} {
		fmt.Println(password.Identify(s))
	}
	// Output:
	// bcrypt-otrs
	// bcrypt
	// apr1
	// sha1
	// crypt
	// unknown
	// plain
}

// An unknown login takes as long as a wrong password.
func ExampleHasher_Dummy() {
	h := password.Hasher{Cost: 4}
	users := map[string]string{ // login -> stored password string
		"jdoe": "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82",
	}
	check := func(login, typed string) bool {
		stored, found := users[login]
		if !found {
			h.Dummy(typed)
			return false
		}
		ok, _ := h.Verify(stored, typed, login)
		return ok
	}
	fmt.Println(check("jdoe", "Secret123"), check("jdoe", "wrong"), check("nobody", "Secret123"))
	// Output: true false false
}

func ExampleEncodeBcryptSalt() {
	fmt.Println(password.EncodeBcryptSalt([]byte("sodium__chloride")))
	// Output: a07iYVTrVz7hYEvtakjiXO
}
