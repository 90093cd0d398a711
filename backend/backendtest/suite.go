package backendtest

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

// Seed is a customer user a harness must hold when the backend is handed to a
// subtest, with its password ("" = none set).
type Seed struct {
	User     backend.CustomerUser
	Password string
}

// Capabilities describe how the backend under test is configured, so that the
// suite knows which behaviour to expect.
type Capabilities struct {
	// ReadOnly: every write must return backend.ErrReadOnly and change nothing.
	ReadOnly bool
	// MatchPrefix: search words match as prefixes of a field, not substrings.
	MatchPrefix bool
	// AutoLoginPrefix, when not empty, is the prefix of logins the backend
	// generates for Add with an empty login.
	AutoLoginPrefix string
	// BlankPasswordsRefused: white-space-only passwords are refused (LDAP).
	BlankPasswordsRefused bool
	// AllowDuplicateEmail: two users may share an email address.
	AllowDuplicateEmail bool
	// DefaultLimit is the backend's configured default limit (0 = backend.DefaultLimit).
	DefaultLimit int
}

// Harness is one fresh backend under test and how it is configured.
type Harness struct {
	Backend backend.CustomerUserBackend
	Caps    Capabilities
}

// NewHarness builds a fresh backend holding exactly the seed users (none when
// seed is nil). A read-only backend must be loaded by other means than its
// own Add (a writable twin, an admin connection, its configuration).
type NewHarness func(t *testing.T, seed []Seed) Harness

// Run runs every conformance case as a subtest of t.
func Run(t *testing.T, newHarness NewHarness) {
	s := &suite{newHarness: newHarness}
	for _, c := range s.cases() {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

type testCase struct {
	name string
	run  func(t *testing.T)
}

type suite struct {
	newHarness NewHarness
}

func (s *suite) cases() []testCase {
	var all []testCase
	all = append(all, s.crudCases()...)
	all = append(all, s.searchCases()...)
	all = append(all, s.authCases()...)
	all = append(all, s.robustnessCases()...)
	return all
}

// open builds a harness with the seed and checks the basics every harness must meet.
func (s *suite) open(t *testing.T, seed []Seed) Harness {
	t.Helper()
	h := s.newHarness(t, seed)
	require.NotNil(t, h.Backend, "harness returned no backend")
	require.Equal(t, h.Caps.ReadOnly, h.Backend.ReadOnly(), "Capabilities.ReadOnly disagrees with Backend.ReadOnly()")
	return h
}

// writable builds a harness and skips the test when the backend is read-only.
func (s *suite) writable(t *testing.T, seed []Seed) Harness {
	t.Helper()
	h := s.open(t, seed)
	if h.Caps.ReadOnly {
		t.Skip("backend is read-only: write case not applicable (the ReadOnly case covers writes)")
	}
	return h
}

func ctx(t *testing.T) context.Context { return t.Context() }

// snapshot lists every user (valid or not) for before/after comparisons.
func snapshot(t *testing.T, b backend.CustomerUserBackend) []backend.CustomerUser {
	t.Helper()
	users, err := b.Search(ctx(t), backend.Query{IncludeInvalid: true, Limit: 100000})
	require.NoError(t, err)
	return users
}

// logins gives the logins of users, in their order.
func logins(users []backend.CustomerUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login
	}
	return out
}

// comparable strips what a backend sets itself, so that stored and expected users compare.
func comparable(u backend.CustomerUser) backend.CustomerUser {
	u = u.Clone()
	u.Source = ""
	u.CreatedAt, u.ChangedAt = time.Time{}, time.Time{}
	u.Attributes = nil
	ids := make([]string, 0, len(u.CustomerIDs))
	for _, id := range u.CustomerIDs {
		if !strings.EqualFold(id, u.CustomerID) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return strings.ToLower(ids[i]) < strings.ToLower(ids[j]) })
	if len(ids) == 0 {
		ids = nil
	}
	u.CustomerIDs = ids
	if u.Valid == 0 {
		u.Valid = backend.Valid
	}
	return u
}

// assertSameUser checks that got holds the fields of want (what a backend sets itself aside).
func assertSameUser(t *testing.T, want, got backend.CustomerUser, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, comparable(want), comparable(got), msgAndArgs...)
}

// requireKind checks that err is (or wraps) want.
func requireKind(t *testing.T, err, want error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Truef(t, errors.Is(err, want), "want an error that Is %v, got %T: %v %v", want, err, err, msgAndArgs)
}

// requireValidation checks that err is a *backend.ValidationError.
func requireValidation(t *testing.T, err error, msgAndArgs ...any) *backend.ValidationError {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	var ve *backend.ValidationError
	require.Truef(t, errors.As(err, &ve), "want a *backend.ValidationError, got %T: %v %v", err, err, msgAndArgs)
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	return ve
}
