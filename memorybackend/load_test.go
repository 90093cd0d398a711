package memorybackend

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func TestLoadFile(t *testing.T) {
	ctx := context.Background()
	users, err := LoadFile(filepath.Join("testdata", "users.json"))
	require.NoError(t, err)
	require.Len(t, users, 3)
	assert.Equal(t, "correct horse battery staple", users[0].Password)
	assert.Equal(t, []string{"ACME-Labs"}, users[0].CustomerIDs)
	assert.Equal(t, map[string]string{"department": "Purchasing"}, users[0].Attributes)
	assert.Equal(t, backend.Valid, users[1].Valid)
	assert.Equal(t, backend.Invalid, users[2].Valid)
	assert.Equal(t, time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC), users[1].CreatedAt)

	b := newBackend(t, Config{ReadOnly: true, Users: users})
	u, err := b.Authenticate(ctx, "HHuber", "correct horse battery staple")
	require.NoError(t, err)
	assert.Equal(t, "Dr.", u.Title)
	assert.Equal(t, "München", u.City)
	// amaier has the sha2 hash of "Secret123" (password-vectors.tsv); a
	// read-only backend verifies it but does not rehash.
	_, err = b.Authenticate(ctx, "amaier", "Secret123")
	require.NoError(t, err)
	_, err = b.Authenticate(ctx, "amaier", "secret123")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	b.mu.RLock()
	assert.Equal(t, "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82", b.s.byLogin["amaier"].hash)
	b.mu.RUnlock()
	found, err := b.Search(ctx, backend.Query{CustomerID: "acme-labs"})
	require.NoError(t, err)
	assert.Equal(t, []string{"hhuber"}, logins(found))
	found, err = b.Search(ctx, backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"amaier", "ex-employee", "hhuber"}, logins(found))

	_, err = LoadFile(filepath.Join("testdata", "missing.json"))
	require.Error(t, err)
}

func TestLoadUsersJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		valid    backend.ValidState
		err      bool
	}{
		{"valid as word", `[{"login":"a","valid":"invalid-temporarily"}]`, backend.InvalidTemporarily, false},
		{"valid as number", `[{"login":"a","valid":2}]`, backend.Invalid, false},
		{"valid missing", `[{"login":"a"}]`, 0, false},
		{"Go field names", `[{"Login":"a","FirstName":"F","Valid":"valid"}]`, backend.Valid, false},
		{"unknown valid", `[{"login":"a","valid":"maybe"}]`, 0, true},
		{"valid as bool", `[{"login":"a","valid":true}]`, 0, true},
		{"unknown key", `[{"login":"a","shoeSize":42}]`, 0, true},
		{"wrong type", `[{"login":["a"]}]`, 0, true},
		{"not an array", `{"login":"a"}`, 0, true},
		{"trailing data", `[] []`, 0, true},
		{"syntax error", `[{"login":"a","password":"hunter2" "x"}]`, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users, err := LoadUsersJSON(strings.NewReader(tc.in))
			if tc.err {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "hunter2")
				return
			}
			require.NoError(t, err)
			require.Len(t, users, 1)
			assert.Equal(t, "a", users[0].Login)
			assert.Equal(t, tc.valid, users[0].Valid)
		})
	}
}
