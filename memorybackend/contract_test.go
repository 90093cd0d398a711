package memorybackend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// slowHash is a well-formed bcrypt hash at cost 16 (about 5 s to verify):
// only a call that honours its context returns quickly.
const slowHash = "$2a$16$abcdefghijklmnopqrstuu" + "abcdefghijklmnopqrstuvwxyz01234"

// TestDeadlineEndsHashing: a 20 ms deadline that passes during bcrypt ends
// Authenticate (right login, unknown login), Add and SetPassword promptly
// with the context's error (before, Authenticate returned success after
// the whole hash).
func TestDeadlineEndsHashing(t *testing.T) {
	slow := &password.Hasher{Cost: 16}
	b := newBackend(t, Config{Hasher: slow, Users: []User{{CustomerUser: person("slow", "S", "L", "slow@example.com", "C"), PasswordHash: slowHash}}})
	for name, call := range map[string]func(ctx context.Context) error{
		"authenticate": func(ctx context.Context) error { _, err := b.Authenticate(ctx, "slow", "any password"); return err },
		"unknown login": func(ctx context.Context) error {
			_, err := b.Authenticate(ctx, "nobody", "any password")
			return err
		},
		"add": func(ctx context.Context) error {
			_, err := b.Add(ctx, person("new", "N", "U", "new@example.com", "C"), "a new password")
			return err
		},
		"set password": func(ctx context.Context) error { return b.SetPassword(ctx, "slow", "a new password") },
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, took, 2*time.Second, "returned promptly (a cost-16 hash takes seconds)")
		})
	}
	_, err := b.Get(t.Context(), "new")
	require.ErrorIs(t, err, backend.ErrNotFound, "the Add that timed out stored nothing")
	b.mu.RLock()
	assert.Equal(t, slowHash, b.s.byLogin["slow"].hash, "the SetPassword that timed out changed nothing")
	b.mu.RUnlock()
}

// TestRefusalPaddedToDearerHashes: when the stored hashes cost more than
// the Hasher's dummy hash, a refused login still takes about as long as a
// wrong password (the RefusalTimer pads it).
func TestRefusalPaddedToDearerHashes(t *testing.T) {
	dear, err := password.Hasher{Cost: 8}.Hash("right password")
	require.NoError(t, err)
	b := newBackend(t, Config{Users: []User{{CustomerUser: person("dear", "D", "H", "dear@example.com", "C"), PasswordHash: dear}}})
	ctx := t.Context()
	median := func(login, pw string) time.Duration {
		var ds []time.Duration
		for range 9 {
			start := time.Now()
			_, err := b.Authenticate(ctx, login, pw)
			ds = append(ds, time.Since(start))
			require.ErrorIs(t, err, backend.ErrInvalidCredentials)
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	wrong := median("dear", "wrong password")
	// The dummy hash at cost 4 is 16 times cheaper than a cost-8 compare.
	for _, a := range [][2]string{{"nobody", "wrong password"}, {"dear", ""}, {"bad\x00login", "x"}} {
		assert.Greater(t, median(a[0], a[1]), wrong/2, "refusal %q padded to the time of a wrong password (%v)", a[0], wrong)
	}
}

// TestAccountInvalidState: the right password of a user that is not valid
// gives *backend.AccountInvalidError with the state.
func TestAccountInvalidState(t *testing.T) {
	u := person("gone", "G", "O", "gone@example.com", "C")
	u.Valid = backend.InvalidTemporarily
	b := newBackend(t, Config{Users: []User{{CustomerUser: u, Password: "right"}}})
	_, err := b.Authenticate(t.Context(), "gone", "right")
	var ae *backend.AccountInvalidError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, backend.InvalidTemporarily, ae.State)
	require.ErrorIs(t, err, backend.ErrAccountInvalid)
	assert.Contains(t, err.Error(), "customeruser memory: authenticate:")
}

// TestHasherConfig: nil means password.Hasher{} (standard form,
// DefaultCost); New copies *Hasher, so changing it later changes nothing.
func TestHasherConfig(t *testing.T) {
	b, err := New(Config{})
	require.NoError(t, err)
	assert.Equal(t, password.Hasher{}, b.cfg.hasher, "nil Hasher: the zero Hasher")

	h := &password.Hasher{Cost: password.MinCost}
	b, err = New(Config{Hasher: h})
	require.NoError(t, err)
	h.Cost, h.Format = password.MaxCost, password.FormatOTRS
	_, err = b.Add(t.Context(), person("copy", "C", "O", "copy@example.com", "C"), "a password")
	require.NoError(t, err)
	b.mu.RLock()
	stored := b.s.byLogin["copy"].hash
	b.mu.RUnlock()
	assert.True(t, strings.HasPrefix(stored, "$2a$04$"), "the Hasher given to New, not the one changed after: %.7s", stored)

	b, err = New(Config{Hasher: &password.Hasher{Format: password.FormatOTRS, Cost: password.MinCost}})
	require.NoError(t, err)
	_, err = b.Add(t.Context(), person("otrs", "O", "T", "otrs@example.com", "C"), "a password")
	require.NoError(t, err)
	b.mu.RLock()
	stored = b.s.byLogin["otrs"].hash
	b.mu.RUnlock()
	assert.True(t, strings.HasPrefix(stored, "BCRYPT:4:"), "a non-nil Hasher means what it says")
}

// TestConfigErrors: every problem of a Config at once, as
// "customeruser <name>: config:" matching backend.ErrInvalidInput.
func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Name: "crm", DefaultLimit: -1, Hasher: &password.Hasher{Cost: 99},
		AutoLoginPrefix: "a\x01", SearchFields: []SearchField{"shoe size"}})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.True(t, strings.HasPrefix(err.Error(), "customeruser crm: config: "), err.Error())
	var all backend.ValidationErrors
	require.ErrorAs(t, err, &all)
	assert.Equal(t, []string{"Config.DefaultLimit", "Config.Hasher.Cost", "Config.AutoLoginPrefix", "Config.SearchFields"}, all.Fields())

	_, err = New(Config{Users: []User{{CustomerUser: person("a", "A", "B", "a@example.com", "C")}, {CustomerUser: person("A", "A", "B", "b@example.com", "C")}}})
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
	assert.Contains(t, err.Error(), "customeruser memory: config: Config.Users[1]")
}

// TestConfigUsersByIdentity: Config.Users are checked by the identity rule
// too: NFD and NFC spellings are one login and one email, accents are not.
func TestConfigUsersByIdentity(t *testing.T) {
	nfc, nfd := "ren\u00e9", "rene\u0301"
	_, err := New(Config{Hasher: &testHasher, Users: []User{
		{CustomerUser: person(nfc, "R", "N", "r1@example.com", "C")},
		{CustomerUser: person(strings.ToUpper(nfd), "R", "N", "r2@example.com", "C")},
	}})
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
	_, err = New(Config{Hasher: &testHasher, Users: []User{
		{CustomerUser: person("r1", "R", "N", nfc+"@example.com", "C")},
		{CustomerUser: person("r2", "R", "N", nfd+"@EXAMPLE.com", "C")},
	}})
	require.ErrorIs(t, err, backend.ErrDuplicateEmail)
	b := newBackend(t, Config{Users: []User{
		{CustomerUser: person(nfd, "R", "N", nfd+"@example.com", "Müller-AG")},
		{CustomerUser: person("rene", "R", "N", "rene@example.com", "Muller-AG")},
	}})
	checkInvariants(t, b)
	got, err := b.Get(t.Context(), "RENÉ")
	require.NoError(t, err)
	assert.Equal(t, nfc, got.Login, "stored in NFC")
	res, err := b.Search(t.Context(), backend.Query{CustomerID: "mu\u0308ller-ag"})
	require.NoError(t, err)
	assert.Equal(t, []string{nfc}, logins(res), "customer IDs by the identity rule (NFD query)")
	res, err = b.Search(t.Context(), backend.Query{Email: "RENE\u0301@example.com"})
	require.NoError(t, err)
	assert.Equal(t, []string{nfc}, logins(res))
}

// TestChangedAtWithAFrozenClock: with a clock that does not move, every
// write still gets a later ChangedAt, and the optimistic check of Update
// sees each of them.
func TestChangedAtWithAFrozenClock(t *testing.T) {
	ctx := t.Context()
	frozen := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	b := newBackend(t, Config{Now: func() time.Time { return frozen }})
	added, err := b.Add(ctx, person("ice", "I", "C", "ice@example.com", "C"), "")
	require.NoError(t, err)
	prev := added
	for i := range 5 {
		u := prev
		u.City = fmt.Sprint("City ", i)
		got, err := b.Update(ctx, "ice", u)
		require.NoError(t, err, "the ChangedAt that the last write returned is current")
		assert.True(t, got.ChangedAt.After(prev.ChangedAt), "write %d moves ChangedAt forward", i)
		_, err = b.Update(ctx, "ice", prev)
		require.ErrorIs(t, err, backend.ErrConflict, "write %d: the ChangedAt before it is stale", i)
		prev = got
	}
	require.NoError(t, b.SetPassword(ctx, "ice", "new password"))
	_, err = b.Update(ctx, "ice", prev)
	require.ErrorIs(t, err, backend.ErrConflict, "a password change is a write")
	cur, err := b.Get(ctx, "ice")
	require.NoError(t, err)
	assert.True(t, cur.ChangedAt.After(prev.ChangedAt))
	assert.Equal(t, "City 4", cur.City, "conflicts wrote nothing")
}

// TestUpdateZeroValidKeepsState: a zero Valid keeps the stored state, and
// decides what is checked: an invalid user's email is not syntax-checked.
func TestUpdateZeroValidKeepsState(t *testing.T) {
	ctx := t.Context()
	u := person("off", "O", "F", "off@example.com", "C")
	u.Valid = backend.Invalid
	b := newBackend(t, Config{Users: []User{{CustomerUser: u}}})
	u.Valid, u.Email = 0, "not-an-address-any-more"
	got, err := b.Update(ctx, "off", u)
	require.NoError(t, err, "an invalid user's email is not syntax-checked, even with a zero Valid")
	assert.Equal(t, backend.Invalid, got.Valid)
}

// TestKeysetPagingOnEveryPath: Query.After gives the same users as
// filtering the full result, on every access path (login, email, customer
// ID and prefix indexes, scan), and the indexed paths start at the cursor.
func TestKeysetPagingOnEveryPath(t *testing.T) {
	ctx := t.Context()
	var users []User
	for i := range 60 {
		u := person(fmt.Sprintf("user%02d", i), "Anna", fmt.Sprintf("Zeh%02d", i), "shared@example.com", []string{"ACME", "Globex"}[i%2])
		if i%3 == 0 {
			u.Login = strings.ToUpper(u.Login)
		}
		users = append(users, User{CustomerUser: u})
	}
	for _, prefix := range []bool{false, true} {
		b := newBackend(t, Config{MatchPrefix: prefix, AllowDuplicateEmail: true, Users: users})
		for _, q := range []backend.Query{
			{Email: "SHARED@example.com"}, {CustomerID: "acme"}, {CustomerID: "glo*"}, {Search: "zeh1"},
			{Search: "anna"}, {}, {Login: "user17"}, {Login: "USER*"},
		} {
			full := q
			full.Limit = backend.MaxLimit
			all, err := b.Search(ctx, full)
			require.NoError(t, err)
			require.NotEmpty(t, all, "%+v", q)
			for _, after := range []string{"", "USER00", "user17", "user3", "user59", "zzz"} {
				var want []string
				for _, u := range all {
					if backend.AfterLogin(u.Login, after) {
						want = append(want, u.Login)
					}
				}
				paged := q
				paged.After, paged.Limit = after, 4
				got, err := b.Search(ctx, paged)
				require.NoError(t, err)
				assert.Equal(t, want[:min(4, len(want))], nilIfEmpty(logins(got)), "prefix=%v %+v", prefix, paged)
			}
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestRehashIsLogged: an upgraded hash is logged through Config.Logger with
// the backend, op and login, and never the password or either hash.
func TestRehashIsLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	b := newBackend(t, Config{Name: "portal", Logger: log, Users: []User{
		{CustomerUser: person("legacy", "L", "E", "legacy@example.com", "C"), PasswordHash: "plain-Secret-9"},
	}})
	_, err := b.Authenticate(t.Context(), "legacy", "plain-Secret-9")
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, backend.LogRehashed)
	assert.Contains(t, out, `"backend":"portal"`)
	assert.Contains(t, out, `"op":"authenticate"`)
	assert.Contains(t, out, `"login":"legacy"`)
	assert.NotContains(t, out, "plain-Secret-9")
	assert.NotContains(t, out, "$2a$")
	require.False(t, errors.Is(err, backend.ErrInvalidCredentials))
}
