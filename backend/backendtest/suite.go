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
	// LooserIdentity: the store's own uniqueness (an existing table's
	// collation, say) is looser than the identity rule, so it may refuse the
	// second of two distinct identities as a duplicate. Confusing the two is
	// never allowed, with or without this.
	LooserIdentity bool
	// Sources lists the names a user's Source may have. Empty means the
	// backend's own Name(); a backend that combines others (policy.Directory)
	// lists the names of the backends it combines, since Source names the
	// one that holds the user.
	Sources []string
	// LoginForbidden lists characters the store cannot hold in a login
	// (Active Directory's sAMAccountName): Add of such a login must give a
	// *backend.ValidationError, and the unusual-logins case expects nothing
	// more of them.
	LoginForbidden string
	// NoTimingCase leaves out the case that compares how long refused logins
	// take; only for a harness that cannot be timed (a remote server shared
	// with other load), never to hide a leak.
	NoTimingCase bool
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
	all = append(all, s.identityCases()...)
	all = append(all, s.contractCases()...)
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

// snapshot lists every user (valid or not) for before/after comparisons,
// paging with Query.After.
func snapshot(t *testing.T, b backend.CustomerUserBackend) []backend.CustomerUser {
	t.Helper()
	return allPages(t, b, backend.Query{IncludeInvalid: true}, backend.MaxLimit)
}

// allPages runs q page by page (pageSize users each, continuing with
// Query.After) and returns every user, checking that each page is in order
// and continues the one before.
func allPages(t *testing.T, b backend.CustomerUserBackend, q backend.Query, pageSize int) []backend.CustomerUser {
	t.Helper()
	var all []backend.CustomerUser
	q.Limit = pageSize
	for i := 0; ; i++ {
		page, err := b.Search(ctx(t), q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), pageSize, "a page holds at most Limit users")
		for j, u := range page {
			if j > 0 || len(all) > 0 {
				prev := all
				if j > 0 {
					prev = page[:j]
				}
				require.Less(t, backend.CompareLogins(prev[len(prev)-1].Login, u.Login), 0,
					"results are in login order across pages: %q then %q", prev[len(prev)-1].Login, u.Login)
			}
		}
		all = append(all, page...)
		if len(page) < pageSize {
			return all
		}
		q.After = page[len(page)-1].Login
		require.Less(t, i, 1000000, "paging does not end")
	}
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

// assertSource checks that u.Source names the backend (or, for a combining
// backend, one of those listed in Capabilities.Sources).
func assertSource(t *testing.T, h Harness, u backend.CustomerUser) {
	t.Helper()
	if len(h.Caps.Sources) == 0 {
		assert.Equal(t, h.Backend.Name(), u.Source, "Source names the backend")
		return
	}
	assert.Contains(t, h.Caps.Sources, u.Source, "Source names one of the combined backends")
}
