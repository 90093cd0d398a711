package memorybackend_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

// TestUserNeverPrintsSecrets: a User prints as its CustomerUser (login and
// source only), never with its password or hash.
func TestUserNeverPrintsSecrets(t *testing.T) {
	u := memorybackend.User{CustomerUser: backend.CustomerUser{Login: "jdoe"}, Password: "pw-Secret-1",
		PasswordHash: "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82"}
	for _, out := range []string{fmt.Sprint(u), fmt.Sprintf("%+v", u), fmt.Sprintf("%v", []memorybackend.User{u})} {
		assert.NotContains(t, out, "pw-Secret-1")
		assert.NotContains(t, out, "2ed06766")
		assert.Contains(t, out, "jdoe")
	}
}

// TestBackendNeverPrintsSecrets: printing the backend shows its name only.
func TestBackendNeverPrintsSecrets(t *testing.T) {
	b, err := memorybackend.New(memorybackend.Config{Name: "portal", Users: []memorybackend.User{{
		CustomerUser: backend.CustomerUser{Login: "jdoe", FirstName: "J", LastName: "D", Email: "j@example.org", CustomerID: "C"},
		PasswordHash: "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(b), fmt.Sprintf("%+v", b), fmt.Sprintf("%#v", b)} {
		assert.Equal(t, `memorybackend.Backend("portal")`, out)
	}
}

// TestEveryTypePrintsNoSecrets walks User and Config through every printing
// path (fmt verbs, JSON, slog).
func TestEveryTypePrintsNoSecrets(t *testing.T) {
	const pw, hash = "pw-Secret-1", "$2a$04$abcdefghijklmnopqrstuuAbcdefghijklmnopqrstuvwxyzABCDE"
	u := memorybackend.User{CustomerUser: backend.CustomerUser{Login: "jdoe", FirstName: "J", LastName: "D",
		Email: "j@example.org", CustomerID: "C"}, Password: pw}
	h := memorybackend.User{CustomerUser: backend.CustomerUser{Login: "hdoe"}, PasswordHash: hash}
	backendtest.CheckRedacted(t, u, pw)
	backendtest.CheckRedacted(t, h, hash, "abcdefghijklmnop")
	backendtest.CheckRedacted(t, []memorybackend.User{u, h}, pw, hash)
	cfg := memorybackend.Config{Name: "portal", Users: []memorybackend.User{u, h}}
	backendtest.CheckRedacted(t, cfg, pw, hash)
	backendtest.CheckRedacted(t, &cfg, pw, hash)
	assert.Contains(t, fmt.Sprint(cfg), `Name: "portal"`)
	assert.Contains(t, fmt.Sprintf("%#v", u), "jdoe")
}
