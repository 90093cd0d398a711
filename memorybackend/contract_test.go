package memorybackend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// A deadline that passes while bcrypt runs ends Authenticate, Add and
// SetPassword with the context's error, long before the hash would be done
// (cost 14 takes a second).
func TestDeadlineEndsHashing(t *testing.T) {
	slow := password.Hasher{Cost: 14}
	const stored = "$2a$14$68zIeiuK0ZQEjAa1xie9yee2pnCCgFDlnTrrMQoJhjJ.HulBch4ou" // bcrypt of "x" at cost 14
	b := newBackend(t, Config{Hasher: &slow, Users: []User{{CustomerUser: person("slow", "S", "L", "s@example.org", "C"), PasswordHash: stored}}})
	for name, call := range map[string]func(ctx context.Context) error{
		"authenticate": func(ctx context.Context) error { _, err := b.Authenticate(ctx, "slow", "x"); return err },
		"unknown":      func(ctx context.Context) error { _, err := b.Authenticate(ctx, "nobody", "x"); return err },
		"set password": func(ctx context.Context) error { return b.SetPassword(ctx, "slow", "new password") },
		"add": func(ctx context.Context) error {
			_, err := b.Add(ctx, person("n", "N", "L", "n@example.org", "C"), "pw")
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.Less(t, time.Since(start), 2*time.Second, "%s returned at the deadline", name)
	}
	_, err := b.Get(context.Background(), "n")
	assert.ErrorIs(t, err, backend.ErrNotFound, "the interrupted Add stored nothing")
}

// The zero Hasher means the standard form here as everywhere; nil is the
// default; New copies the Hasher.
func TestHasherZeroValueAndCopy(t *testing.T) {
	for name, h := range map[string]*password.Hasher{"nil": nil, "zero": {}} {
		var hc *password.Hasher
		if h != nil {
			c := *h
			c.Cost = password.MinCost
			hc = &c
		}
		b, err := New(Config{Hasher: hc})
		require.NoError(t, err)
		if hc == nil {
			assert.Equal(t, password.Hasher{}, b.cfg.hasher, name)
			continue
		}
		_, err = b.Add(context.Background(), person("z", "Z", "L", "z@example.org", "C"), "pw")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(b.s.byLogin["z"].hash, "$2a$04$"), "%s: standard bcrypt", name)
		hc.Format, hc.Cost = password.FormatOTRS, 5 // the caller changes its value afterwards
		require.NoError(t, b.SetPassword(context.Background(), "z", "pw2"))
		assert.True(t, strings.HasPrefix(b.s.byLogin["z"].hash, "$2a$04$"), "%s: the backend kept its copy", name)
	}
}

// Config errors list every problem, match ErrInvalidInput and carry the
// backend's name.
func TestConfigErrorsAtOnce(t *testing.T) {
	_, err := New(Config{Name: "crm", DefaultLimit: -1, Hasher: &password.Hasher{Cost: 99}, SearchFields: []SearchField{"nope"}})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	var all backend.ValidationErrors
	require.ErrorAs(t, err, &all)
	assert.Equal(t, []string{"Config.DefaultLimit", "Config.Hasher", "Config.SearchFields"}, all.Fields())
	assert.True(t, strings.HasPrefix(err.Error(), "customeruser crm: config: "), err.Error())
}

// Keyset paging seeks in the login order instead of scanning from the start,
// in both search plans.
func TestAfterSeeks(t *testing.T) {
	for _, prefix := range []bool{false, true} {
		var users []User
		for _, l := range []string{"anna", "Bert", "carl", "dora", "emil", "ärger"} {
			users = append(users, User{CustomerUser: person(l, "First", "Last "+l, l+"@example.org", "C")})
		}
		b := newBackend(t, Config{MatchPrefix: prefix, Users: users})
		got, err := b.Search(context.Background(), backend.Query{After: "BERT", Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, []string{"carl", "dora"}, logins(got))
		got, err = b.Search(context.Background(), backend.Query{Search: "last", After: "dora"})
		require.NoError(t, err)
		assert.Equal(t, []string{"emil", "ärger"}, logins(got))
		got, err = b.Search(context.Background(), backend.Query{Login: "carl", After: "carl"})
		require.NoError(t, err)
		assert.Empty(t, got)
	}
}

// An unknown login costs Get no allocation of a new error.
func TestGetNotFoundIsCheap(t *testing.T) {
	b := newBackend(t, Config{})
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := b.Get(context.Background(), "nobody"); !errors.Is(err, backend.ErrNotFound) {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
