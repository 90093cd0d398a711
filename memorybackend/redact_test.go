package memorybackend_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/backend/password"
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

// TestRedacted walks User and Config, filled with secrets, through every
// printing path (fmt verbs, JSON, slog): no password or hash shows (before,
// %#v, json.Marshal and slog's JSON handler printed both).
func TestRedacted(t *testing.T) {
	const pw, hash = "pw-Secret-1", "$2a$04$SecretSaltSecretSaltSeSecretHashSecretHashSecretHash1"
	u := memorybackend.User{CustomerUser: backend.CustomerUser{Login: "jdoe", FirstName: "J", LastName: "D",
		Email: "j@example.org", CustomerID: "C"}, Password: pw}
	v := u
	v.Login, v.Password, v.PasswordHash = "hashed", "", hash
	backendtest.CheckRedacted(t, u, pw)
	backendtest.CheckRedacted(t, v, hash)
	backendtest.CheckRedacted(t, []memorybackend.User{u, v}, pw, hash)
	cfg := memorybackend.Config{Name: "portal", Users: []memorybackend.User{u, v}, Hasher: &password.Hasher{Cost: 4},
		Now: time.Now, Logger: slog.Default()}
	backendtest.CheckRedacted(t, cfg, pw, hash)
	backendtest.CheckRedacted(t, &cfg, pw, hash)

	// What is printed still says what it is.
	assert.Contains(t, fmt.Sprintf("%#v", u), `Login:"jdoe"`)
	assert.Contains(t, fmt.Sprintf("%#v", u), `Password:"[redacted]"`)
	assert.Contains(t, fmt.Sprintf("%v", cfg), `Name:portal`)
	b, err := json.Marshal(u)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"login":"jdoe"`)
	// The JSON form loads back, as a user without a password.
	back, err := memorybackend.LoadUsersJSON(bytes.NewReader(append(append([]byte("["), b...), ']')))
	require.NoError(t, err)
	require.Len(t, back, 1)
	assert.Equal(t, "jdoe", back[0].Login)
	assert.Empty(t, back[0].Password)
}
