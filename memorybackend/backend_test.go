package memorybackend

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// testHasher keeps bcrypt fast in tests.
var testHasher = password.Hasher{Cost: 4}

func newBackend(t testing.TB, cfg Config) *Backend {
	t.Helper()
	if cfg.Hasher == nil {
		cfg.Hasher = &testHasher
	}
	b, err := New(cfg)
	require.NoError(t, err)
	return b
}

func person(login, first, last, email, customer string) backend.CustomerUser {
	return backend.CustomerUser{Login: login, FirstName: first, LastName: last, Email: email, CustomerID: customer}
}

func logins(users []backend.CustomerUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login
	}
	return out
}

func TestNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"negative default limit", Config{DefaultLimit: -1}},
		{"auto-login prefix with control character", Config{AutoLoginPrefix: "a\x01b"}},
		{"auto-login prefix too long", Config{AutoLoginPrefix: strings.Repeat("a", 190)}},
		{"unknown search field", Config{SearchFields: []SearchField{"shoe size"}}},
		{"search field twice", Config{SearchFields: []SearchField{FieldLogin, FieldLogin}}},
		{"empty search fields", Config{SearchFields: []SearchField{}}},
		{"empty attribute name", Config{SearchFields: []SearchField{AttributeField("")}}},
		{"bcrypt cost too low", Config{Hasher: &password.Hasher{Cost: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.cfg)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, backend.ErrInvalidInput)
			assert.Contains(t, err.Error(), "customeruser memory: config:")
		})
	}

	t.Run("defaults", func(t *testing.T) {
		users := make([]User, 260)
		for i := range users {
			users[i].CustomerUser = person(fmt.Sprintf("u%03d", i), "F", "L", fmt.Sprintf("u%03d@example.com", i), "C")
		}
		b := newBackend(t, Config{Users: users})
		assert.Equal(t, "memory", b.Name())
		assert.False(t, b.ReadOnly())
		got, err := b.Search(context.Background(), backend.Query{})
		require.NoError(t, err)
		assert.Len(t, got, backend.DefaultLimit)
		assert.Equal(t, "u000", got[0].Login)
		assert.Equal(t, "memory", got[0].Source)

		b = newBackend(t, Config{Name: "crm", DefaultLimit: 7, Users: users})
		got, err = b.Search(context.Background(), backend.Query{})
		require.NoError(t, err)
		assert.Len(t, got, 7)
		assert.Equal(t, "crm", got[0].Source)
		got, err = b.Search(context.Background(), backend.Query{Limit: 300})
		require.NoError(t, err)
		assert.Len(t, got, 260)
	})

	t.Run("attribute search field", func(t *testing.T) {
		u := person("a", "F", "L", "a@example.com", "C")
		u.Attributes = map[string]string{"Department": "Purchasing"}
		b := newBackend(t, Config{SearchFields: []SearchField{FieldLogin, AttributeField("Department")}, Users: []User{{CustomerUser: u}}})
		got, err := b.Search(context.Background(), backend.Query{Search: "purch"})
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, logins(got))
		got, err = b.Search(context.Background(), backend.Query{Search: "f"})
		require.NoError(t, err)
		assert.Empty(t, got, "first name is not a search field here")
	})
}

func TestNewUsers(t *testing.T) {
	ctx := context.Background()
	hans := person("hhuber", "Hans", "Huber", "hans@example.com", "ACME")
	anna := person("amaier", "Anna", "Maier", "anna@example.com", "ACME")
	for _, tc := range []struct {
		name  string
		users []User
		dup   bool
		want  error
	}{
		{"login in another case", []User{{CustomerUser: hans}, {CustomerUser: person(" HHuber ", "X", "Y", "x@example.com", "C")}}, false, backend.ErrDuplicateLogin},
		{"email in another case", []User{{CustomerUser: hans}, {CustomerUser: person("x", "X", "Y", "HANS@example.com", "C")}}, false, backend.ErrDuplicateEmail},
		{"email of an invalid user", []User{{CustomerUser: hans}, {CustomerUser: func() backend.CustomerUser {
			u := person("x", "X", "Y", "hans@example.com", "C")
			u.Valid = backend.Invalid
			return u
		}()}}, false, backend.ErrDuplicateEmail},
		{"missing last name", []User{{CustomerUser: person("x", "X", "", "x@example.com", "C")}}, false, backend.ErrInvalidInput},
		{"missing login", []User{{CustomerUser: person("", "X", "Y", "x@example.com", "C")}}, false, backend.ErrInvalidInput},
		{"password and hash", []User{{CustomerUser: hans, Password: "secret", PasswordHash: "secret"}}, false, backend.ErrInvalidInput},
		{"malformed hash", []User{{CustomerUser: hans, PasswordHash: "$6$secret$xyz"}}, false, backend.ErrInvalidInput},
		{"password with NUL", []User{{CustomerUser: hans, Password: "sec\x00ret"}}, false, backend.ErrInvalidInput},
		{"duplicate email allowed", []User{{CustomerUser: hans}, {CustomerUser: person("x", "X", "Y", "HANS@example.com", "C")}}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(Config{Users: tc.users, AllowDuplicateEmail: tc.dup, Hasher: &testHasher})
			if tc.want == nil {
				require.NoError(t, err)
				checkInvariants(t, b)
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.NotContains(t, err.Error(), "secret")
			assert.NotContains(t, err.Error(), "sec\x00ret")
		})
	}

	t.Run("read-only backend holds and authenticates its users", func(t *testing.T) {
		created := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
		anna := anna
		anna.CreatedAt = created
		b := newBackend(t, Config{ReadOnly: true, Users: []User{
			{CustomerUser: hans, Password: "correct horse"},
			{CustomerUser: anna, PasswordHash: "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82x"},
		}})
		checkInvariants(t, b)
		assert.True(t, b.ReadOnly())
		assert.Equal(t, 2, b.Len())
		u, err := b.Authenticate(ctx, "HHUBER", "correct horse")
		require.NoError(t, err)
		assert.Equal(t, "hhuber", u.Login)
		u, err = b.Get(ctx, "amaier")
		require.NoError(t, err)
		assert.Equal(t, created, u.CreatedAt)
		assert.Equal(t, created, u.ChangedAt)
		// a stored hash is kept as given (here a "plain" one)
		_, err = b.Authenticate(ctx, "amaier", "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82x")
		require.NoError(t, err)
		b.mu.RLock()
		assert.Equal(t, "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82x", b.s.byLogin["amaier"].hash, "read-only: no rehash")
		assert.True(t, strings.HasPrefix(b.s.byLogin["hhuber"].hash, "$2"), "plain password hashed at New")
		b.mu.RUnlock()
	})
}

func TestAutoLogin(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 27, 8, 15, 42, 0, time.UTC)
	existing := person("cust-2026112708151", "E", "X", "e@example.com", "C")
	b := newBackend(t, Config{AutoLoginPrefix: "cust", Now: func() time.Time { return clock }, Users: []User{{CustomerUser: existing}}})
	var got []string
	for i := range 4 {
		u, err := b.Add(ctx, person(" ", "F", "L", fmt.Sprintf("f%d@example.com", i), "C"), "")
		require.NoError(t, err)
		got = append(got, u.Login)
	}
	assert.Equal(t, []string{"cust-2026112708150", "cust-2026112708152", "cust-2026112708153", "cust-2026112708154"}, got)
	// A given login is kept.
	u, err := b.Add(ctx, person("Given", "F", "L", "given@example.com", "C"), "")
	require.NoError(t, err)
	assert.Equal(t, "Given", u.Login)
	checkInvariants(t, b)

	// Without a prefix, a login is required.
	b = newBackend(t, Config{})
	_, err = b.Add(ctx, person("", "F", "L", "x@example.com", "C"), "")
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldLogin, ve.Field)
	assert.Equal(t, 0, b.Len())
}

func TestRenameKeepsIndexesConsistent(t *testing.T) {
	ctx := context.Background()
	for _, prefix := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefix=%v", prefix), func(t *testing.T) {
			b := newBackend(t, Config{MatchPrefix: prefix})
			for _, u := range []backend.CustomerUser{
				person("alpha", "Anton", "Arm", "a@example.com", "ACME"),
				person("bravo", "Berta", "Bein", "b@example.com", "ACME"),
				person("charlie", "Carl", "Cello", "c@example.com", "Globex"),
			} {
				_, err := b.Add(ctx, u, "pw-"+u.Login)
				require.NoError(t, err)
			}
			before, err := b.Get(ctx, "alpha")
			require.NoError(t, err)

			u := before
			u.Login = "zulu"
			u.LastName = "Zeh"
			after, err := b.Update(ctx, " ALPHA ", u)
			require.NoError(t, err)
			checkInvariants(t, b)
			assert.Equal(t, "zulu", after.Login)
			assert.Equal(t, before.CreatedAt, after.CreatedAt)

			_, err = b.Get(ctx, "alpha")
			require.ErrorIs(t, err, backend.ErrNotFound)
			got, err := b.Get(ctx, "ZULU")
			require.NoError(t, err)
			assert.Equal(t, "Zeh", got.LastName)

			all, err := b.Search(ctx, backend.Query{})
			require.NoError(t, err)
			assert.Equal(t, []string{"bravo", "charlie", "zulu"}, logins(all))
			hits, err := b.Search(ctx, backend.Query{Search: "zeh"})
			require.NoError(t, err)
			assert.Equal(t, []string{"zulu"}, logins(hits))
			hits, err = b.Search(ctx, backend.Query{Search: "arm"})
			require.NoError(t, err)
			assert.Empty(t, hits, "old last name no longer found")
			hits, err = b.Search(ctx, backend.Query{Search: "alpha"})
			require.NoError(t, err)
			assert.Empty(t, hits, "old login no longer found")
			hits, err = b.Search(ctx, backend.Query{Email: "A@EXAMPLE.COM"})
			require.NoError(t, err)
			assert.Equal(t, []string{"zulu"}, logins(hits))
			_, err = b.Authenticate(ctx, "zulu", "pw-alpha")
			require.NoError(t, err, "the password moves with the rename")

			// Only the case changes: the new spelling is kept.
			u = got
			u.Login = "Zulu"
			after, err = b.Update(ctx, "zulu", u)
			require.NoError(t, err)
			assert.Equal(t, "Zulu", after.Login)
			got, err = b.Get(ctx, "zulu")
			require.NoError(t, err)
			assert.Equal(t, "Zulu", got.Login)
			checkInvariants(t, b)

			// Renaming onto another user, or taking its email, fails and changes nothing.
			u = after
			u.Login = "BRAVO"
			_, err = b.Update(ctx, "zulu", u)
			require.ErrorIs(t, err, backend.ErrDuplicateLogin)
			u.Login = "yankee"
			u.Email = "C@example.com"
			_, err = b.Update(ctx, "zulu", u)
			require.ErrorIs(t, err, backend.ErrDuplicateEmail)
			got2, err := b.Get(ctx, "zulu")
			require.NoError(t, err)
			assert.Equal(t, got, got2)
			checkInvariants(t, b)

			// An empty login in u keeps the login.
			u = got
			u.Login = ""
			u.FirstName = "Zora"
			after, err = b.Update(ctx, "zulu", u)
			require.NoError(t, err)
			assert.Equal(t, "Zulu", after.Login)
			assert.Equal(t, "Zora", after.FirstName)
			checkInvariants(t, b)
		})
	}
}

func TestReturnedUsersAreCopies(t *testing.T) {
	ctx := context.Background()
	u := person("a", "F", "L", "a@example.com", "C1")
	u.CustomerIDs = []string{"C2"}
	u.Attributes = map[string]string{"k": "v"}
	b := newBackend(t, Config{})
	added, err := b.Add(ctx, u, "")
	require.NoError(t, err)
	u.CustomerIDs[0] = "changed"
	u.Attributes["k"] = "changed"
	added.CustomerIDs[0] = "changed"
	added.Attributes["k"] = "changed"
	got, err := b.Get(ctx, "a")
	require.NoError(t, err)
	got.CustomerIDs[0] = "changed"
	got.Attributes["k"] = "changed"
	got, err = b.Get(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, []string{"C2"}, got.CustomerIDs)
	assert.Equal(t, map[string]string{"k": "v"}, got.Attributes)
	assert.Equal(t, "memory", got.Source)
	assert.False(t, got.CreatedAt.IsZero())
	assert.Equal(t, got.CreatedAt, got.ChangedAt)
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inv := person("gone", "G", "O", "gone@example.com", "C")
	inv.Valid = backend.InvalidTemporarily
	b := newBackend(t, Config{Now: func() time.Time { return clock }, Users: []User{
		{CustomerUser: person("legacy", "L", "E", "legacy@example.com", "C"), PasswordHash: "plain-secret"},
		{CustomerUser: person("nopw", "N", "P", "nopw@example.com", "C")},
		{CustomerUser: inv, Password: "right"},
	}})
	for _, tc := range []struct {
		name, login, password string
		want                  error
	}{
		{"unknown login", "nobody", "x", backend.ErrInvalidCredentials},
		{"bad login", "a\x00b", "x", backend.ErrInvalidCredentials},
		{"empty login", "  ", "x", backend.ErrInvalidCredentials},
		{"no password stored", "nopw", "", backend.ErrInvalidCredentials},
		{"no password stored, one given", "nopw", "x", backend.ErrInvalidCredentials},
		{"wrong password", "legacy", "plain-secreT", backend.ErrInvalidCredentials},
		{"empty password", "legacy", "", backend.ErrInvalidCredentials},
		{"invalid user, wrong password", "gone", "wrong", backend.ErrInvalidCredentials},
		{"invalid user, right password", "gone", "right", backend.ErrAccountInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := b.Authenticate(ctx, tc.login, tc.password)
			require.ErrorIs(t, err, tc.want)
			assert.Empty(t, u.Login)
			assert.NotContains(t, err.Error(), "secret")
			assert.NotContains(t, err.Error(), "right")
		})
	}
	t.Run("legacy hash is upgraded on success", func(t *testing.T) {
		u, err := b.Authenticate(ctx, "LEGACY", "plain-secret")
		require.NoError(t, err)
		assert.Equal(t, "legacy", u.Login)
		b.mu.RLock()
		h := b.s.byLogin["legacy"].hash
		b.mu.RUnlock()
		assert.True(t, strings.HasPrefix(h, "$2a$"), "rehashed to bcrypt")
		_, err = b.Authenticate(ctx, "legacy", "plain-secret")
		require.NoError(t, err, "still works after the upgrade")
	})
	t.Run("set password", func(t *testing.T) {
		require.NoError(t, b.SetPassword(ctx, "NOPW", " a password with spaces "))
		_, err := b.Authenticate(ctx, "nopw", " a password with spaces ")
		require.NoError(t, err)
		_, err = b.Authenticate(ctx, "nopw", "a password with spaces")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
		err = b.SetPassword(ctx, "nobody", "x")
		require.ErrorIs(t, err, backend.ErrNotFound)
		err = b.SetPassword(ctx, "nopw", "")
		require.ErrorIs(t, err, backend.ErrInvalidInput)
		err = b.SetPassword(ctx, "nopw", "bad\x00secret")
		require.ErrorIs(t, err, backend.ErrInvalidInput)
		assert.NotContains(t, err.Error(), "secret")
	})
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, Config{ReadOnly: true, Users: []User{{CustomerUser: person("a", "F", "L", "a@example.com", "C"), Password: "pw"}}})
	before, err := b.Search(ctx, backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	_, err = b.Add(ctx, person("b", "F", "L", "b@example.com", "C"), "pw")
	assert.ErrorIs(t, err, backend.ErrReadOnly)
	_, err = b.Add(ctx, backend.CustomerUser{}, "")
	assert.ErrorIs(t, err, backend.ErrReadOnly, "read-only comes before validation")
	_, err = b.Update(ctx, "a", person("a", "X", "L", "a@example.com", "C"))
	assert.ErrorIs(t, err, backend.ErrReadOnly)
	assert.ErrorIs(t, b.SetPassword(ctx, "a", "new"), backend.ErrReadOnly)
	after, err := b.Search(ctx, backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	assert.Equal(t, before, after)
	_, err = b.Authenticate(ctx, "a", "pw")
	assert.NoError(t, err)
}

func TestCancelledContext(t *testing.T) {
	b := newBackend(t, Config{Users: []User{{CustomerUser: person("a", "F", "L", "a@example.com", "C"), Password: "pw"}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Get(ctx, "a")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Search(ctx, backend.Query{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Add(ctx, person("b", "F", "L", "b@example.com", "C"), "pw")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Update(ctx, "a", person("a", "X", "L", "a@example.com", "C"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, b.SetPassword(ctx, "a", "x"), context.Canceled)
	_, err = b.Authenticate(ctx, "a", "pw")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, b.Len())
	u, err := b.Get(context.Background(), "a")
	require.NoError(t, err)
	assert.Equal(t, "F", u.FirstName)
}
