package ldapbackend_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// smallLimitOU is a fresh OU with 1,200 users that all match "bulk".
func smallLimitOU(t testing.TB, srv *testldap.Server) string {
	ou := srv.NewOU(t)
	require.NoError(t, srv.AddEntries(bulk(ou, 1200, "s")...))
	return ou
}

// allocatedBytes is what one call of fn allocates (the mean of runs calls).
func allocatedBytes(runs int, fn func()) uint64 {
	fn() // warm: connections, the search tables
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestSmallLimitIsCheap: a Limit-1 search over 1,200 matches allocated
// 7.9 MB when every match's login attribute was read and kept; reading the
// candidates' DNs only, page by page, and then whole entries in login order
// until the limit is met allocates about 3.5 MB, nearly all of it go-ldap
// decoding 1,200 DNs (about 3 KB each). The figures are in BENCHMARKS.md,
// from BenchmarkSearchSmallLimit.
func TestSmallLimitIsCheap(t *testing.T) {
	srv := testldap.Shared(t)
	ou := smallLimitOU(t, srv)
	b := newBackend(t, testConfig(srv, ou, false))
	for q, want := range map[backend.Query]string{{Limit: 1}: "s00000", {Limit: 1, Search: "bulk"}: "s00000", {Limit: 1, Search: "user 7"}: "s00007"} {
		var got []backend.CustomerUser
		n := allocatedBytes(3, func() {
			var err error
			got, err = b.Search(t.Context(), q)
			require.NoError(t, err)
		})
		require.Len(t, got, 1, "%+v", q)
		assert.Equal(t, want, got[0].Login)
		t.Logf("%+v: %d bytes allocated per call", q, n)
		assert.Less(t, n, uint64(5<<20), "a Limit-1 search over 1,200 matches allocates under 5 MB (was 7.9 MB): %+v", q)
	}
}

// BenchmarkSearchSmallLimit: Limit 1 over 1,200 matching users.
//
//	go test -run '^$' -bench SearchSmallLimit -benchtime 20x ./ldapbackend/
func BenchmarkSearchSmallLimit(b *testing.B) {
	if testing.Short() {
		b.Skip("needs slapd")
	}
	srv := testldap.Shared(b)
	ou := smallLimitOU(b, srv)
	be := newBackend(b, testConfig(srv, ou, false))
	for _, q := range []backend.Query{{Limit: 1}, {Limit: 1, Search: "bulk"}, {Limit: 250, Search: "bulk"}} {
		b.Run(fmt.Sprintf("limit=%d/search=%q", q.Limit, q.Search), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Search(b.Context(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPresetsAreFresh: a preset is a function returning a Config that
// shares nothing; changing one never changes the next.
func TestPresetsAreFresh(t *testing.T) {
	for name, preset := range map[string]func() ldapbackend.Config{"OpenLDAP": ldapbackend.OpenLDAP, "ActiveDirectory": ldapbackend.ActiveDirectory} {
		cfg := preset()
		want := preset().ObjectClasses[0]
		cfg.ObjectClasses[0] = "x"
		cfg.ObjectClasses = append(cfg.ObjectClasses, "y")
		cfg.Attributes.Email = "changed"
		cfg.LoginAttribute = "changed"
		again := preset()
		assert.Equal(t, want, again.ObjectClasses[0], name)
		assert.NotContains(t, again.ObjectClasses, "y", name)
		assert.NotEqual(t, "changed", again.Attributes.Email, name)
		assert.NotEqual(t, "changed", again.LoginAttribute, name)
	}
}

// TestConfigTypesRedacted walks every exported configuration type through
// every printing path (fmt verbs, JSON, slog): the bind password and the
// client certificate's private key never show.
func TestConfigTypesRedacted(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cert := &tls.Certificate{Certificate: [][]byte{[]byte("cert")}, PrivateKey: key}
	cfg := ldapbackend.OpenLDAP()
	cfg.URLs = []string{"ldaps://ldap.example.com"}
	cfg.BindDN, cfg.BindPassword = "cn=svc,dc=example,dc=com", "s3cret-Bind-PW"
	cfg.TLS.ClientCertificate = cert
	cfg.Logger = slog.Default()
	secrets := []string{"s3cret-Bind-PW", key.D.String(), fmt.Sprintf("%x", key.D.Bytes())}
	backendtest.CheckRedacted(t, cfg, secrets...)
	backendtest.CheckRedacted(t, cfg.TLS, secrets...)
	backendtest.CheckRedacted(t, cfg.Attributes, secrets...)
	backendtest.CheckRedacted(t, newBackendNoConnect(t, cfg), secrets...)

	// What is not secret still prints, and JSON stays usable.
	js, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"BindDN":"cn=svc,dc=example,dc=com"`)
	assert.Contains(t, string(js), `"BindPassword":"[redacted]"`)
	assert.Contains(t, fmt.Sprintf("%+v", cfg), "cn=svc,dc=example,dc=com")
}

func newBackendNoConnect(t *testing.T, cfg ldapbackend.Config) *ldapbackend.Backend {
	cfg.BaseDN = "dc=example,dc=com"
	return newBackend(t, cfg)
}

// captureLog gives a logger writing JSON to the returned buffer.
func captureLog() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIdentityRecheckedOnTheClient: slapd's caseIgnoreMatch folds width, so
// the login search for "alice-6" also returns "ａｌｉｃｅ-6" (and the
// email and customer ID lookups likewise); every lookup keeps only the
// identity asked for, and uniqueness follows the identity rule.
func TestIdentityRecheckedOnTheClient(t *testing.T) {
	srv := testldap.Shared(t)
	ascii := backend.CustomerUser{Login: "alice-6", FirstName: "Alice", LastName: "Ascii", Email: "alice6@example.org", CustomerID: "ACME", Valid: backend.Valid}
	wide := backend.CustomerUser{Login: "ａｌｉｃｅ-6", FirstName: "Alice", LastName: "Wide", Email: "ａｌｉｃｅ6@example.org", CustomerID: "ＡＣＭＥ", Valid: backend.Valid}
	ou := seedOU(t, srv, []backendtest.Seed{{User: ascii, Password: "ascii pw"}, {User: wide, Password: "wide pw"}})
	cfg := testConfig(srv, ou, true)
	logger, logged := captureLog()
	cfg.Logger = logger
	b := newBackend(t, cfg)
	ctx := t.Context()

	// The directory does confuse them: a raw search returns both.
	c, err := srv.AdminConn()
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=alice-6)", []string{"uid"}, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 2, "slapd's matching rule equates the spellings (the fixture works)")

	for _, u := range []backend.CustomerUser{ascii, wide} {
		got, err := b.Get(ctx, u.Login)
		require.NoError(t, err, u.Login)
		assert.Equal(t, u.Login, got.Login)
		found, err := b.Search(ctx, backend.Query{Login: u.Login})
		require.NoError(t, err)
		assert.Equal(t, []string{u.Login}, loginsOf(found), "login search %q", u.Login)
		found, err = b.Search(ctx, backend.Query{Email: u.Email})
		require.NoError(t, err)
		assert.Equal(t, []string{u.Login}, loginsOf(found), "email lookup %q", u.Email)
		found, err = b.Search(ctx, backend.Query{CustomerID: u.CustomerID})
		require.NoError(t, err)
		assert.Equal(t, []string{u.Login}, loginsOf(found), "customer ID %q", u.CustomerID)
	}
	_, err = b.Authenticate(ctx, "alice-6", "wide pw")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials, "alice-6 never authenticates as ａｌｉｃｅ-6")
	got, err := b.Authenticate(ctx, "ａｌｉｃｅ-6", "wide pw")
	require.NoError(t, err)
	assert.Equal(t, wide.Login, got.Login)

	// Uniqueness by the rule: the full-width email is another identity, the
	// upper-case one is the same.
	other := backend.CustomerUser{Login: "carol", FirstName: "C", LastName: "C", Email: "ａｌｉｃｅ6@example.org", CustomerID: "ACME"}
	_, err = b.Add(ctx, other, "")
	require.ErrorIs(t, err, backend.ErrDuplicateEmail, "the same email as ａｌｉｃｅ-6")
	other.Email = "ＡＬＩＣＥ6@EXAMPLE.ORG"
	_, err = b.Add(ctx, other, "")
	require.ErrorIs(t, err, backend.ErrDuplicateEmail, "case differs only")
	require.NoError(t, srv.AddEntries(seedEntry(ou, backend.CustomerUser{Login: "dora", FirstName: "D", LastName: "D", Email: "dora@example.org", CustomerID: "ACME"}, "")))
	u, err := b.Get(ctx, "dora")
	require.NoError(t, err)
	u.Email = "ａlice6@example.org" // the directory equates it with alice6@example.org, the rule does not
	_, err = b.Update(ctx, "dora", u)
	require.NoError(t, err, "an email the directory confuses with another is still a new identity")

	assert.Contains(t, logged.String(), backend.LogIdentityMismatch, "ignored entries are logged")
	assert.Contains(t, logged.String(), `"backend":"ldap-test"`)
	assert.NotContains(t, logged.String(), "wide pw")
}

// TestSearchFoldsAccents: search words match case- and accent-insensitively
// (no LDAP matching rule removes accents: the directory gets a candidate
// filter, the client decides), phrases also match the full name, excluded
// words are checked on the client; on both paths (few candidates, and more
// candidates than the limit).
func TestSearchFoldsAccents(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	users := []withPW{
		{person("jm", "Jürgen", "Müller", "jm@example.org", "C-1001"), ""},
		{person("maria", "Maria", "Meier", "maria@example.org", "C-2002"), ""},
		{person("ad", "Antonín", "Dvořák", "ad@example.org", "C-3003"), ""},
		{person("straße", "Hans", "Straße", "hs@example.org", "C-4004"), ""},
	}
	seed(t, srv, ou, users)
	require.NoError(t, srv.AddEntries(bulk(ou, 30, "z")...)) // more candidates than a small limit
	b := newBackend(t, testConfig(srv, ou, false))
	for search, want := range map[string][]string{
		"muller":        {"jm"},
		"MULLER":        {"jm"},
		"müller":        {"jm"},
		"mária":         {"maria"},
		"dvorak":        {"ad"},
		"DVOŘÁK":        {"ad"},
		"strasse":       {"straße"},
		`"maria meier"`: {"maria"},
		`"jurgen mul"`:  {"jm"},
		"c-1001":        {"jm"},
		"1001":          {"jm"},
		"mu*er":         {"jm"},
		"!muller C-":    {"ad", "maria", "straße"},
		"antonin !dvo":  nil,
	} {
		for _, limit := range []int{0, 1} {
			got, err := b.Search(t.Context(), backend.Query{Search: search, Limit: limit})
			require.NoError(t, err, search)
			w := want
			if limit == 1 && len(w) > 1 {
				w = w[:1]
			}
			assert.Equal(t, nilIfEmpty(w), nilIfEmpty(loginsOf(got)), "search %q limit %d", search, limit)
		}
	}
}

// TestUpdateStampsAndConflicts: every write moves ChangedAt forward, even
// several within one second (entryCSN has microseconds and a counter;
// modifyTimestamp has seconds only); of two concurrent Updates from the
// same read, exactly one wins and the other gets ErrConflict.
func TestUpdateStampsAndConflicts(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), ""}})
	b := newBackend(t, testConfig(srv, ou, true))
	ctx := t.Context()
	u, err := b.Get(ctx, "alice")
	require.NoError(t, err)
	require.False(t, u.ChangedAt.IsZero())
	prev := u.ChangedAt
	start := time.Now()
	for i := range 5 {
		u.Comment = fmt.Sprintf("write %d", i)
		u, err = b.Update(ctx, "alice", u)
		require.NoError(t, err, "the stamp of the previous write is current")
		assert.True(t, u.ChangedAt.After(prev), "write %d moves ChangedAt forward: %v then %v", i, prev, u.ChangedAt)
		got, err := b.Get(ctx, "alice")
		require.NoError(t, err)
		assert.True(t, got.ChangedAt.Equal(u.ChangedAt), "Get and Update give the same stamp")
		prev = u.ChangedAt
	}
	t.Logf("5 writes in %v", time.Since(start))
	stale := u
	u.Comment = "newer"
	_, err = b.Update(ctx, "alice", u)
	require.NoError(t, err)
	stale.Comment = "lost update"
	_, err = b.Update(ctx, "alice", stale)
	require.ErrorIs(t, err, backend.ErrConflict)

	read, err := b.Get(ctx, "alice")
	require.NoError(t, err)
	ok := concurrently(t, 8, backend.ErrConflict, func(i int) error {
		v := read
		v.Comment = fmt.Sprintf("admin %d", i)
		_, err := b.Update(ctx, "alice", v)
		return err
	})
	assert.Equal(t, 1, ok, "one of the concurrent updates from one read wins")
}

// concurrently runs n calls of fn at once and counts the successes; every
// failure must be refusal.
func concurrently(t *testing.T, n int, refusal error, fn func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, refusal)
		}
	}
	return ok
}

// TestConcurrentAddsSameEmail: 20 goroutines add 20 logins with one email
// on the real slapd: exactly one succeeds (the check and the write hold the
// email's lock); the others get ErrDuplicateEmail.
func TestConcurrentAddsSameEmail(t *testing.T) {
	srv := testldap.Shared(t)
	b := newBackend(t, testConfig(srv, srv.NewOU(t), true))
	ok := concurrently(t, 20, backend.ErrDuplicateEmail, func(i int) error {
		spelling := []string{"same@example.org", "SAME@example.org", "Same@Example.Org"}[i%3]
		_, err := b.Add(t.Context(), person(fmt.Sprintf("racer%02d", i), "R", "R", spelling, "A"), "pw")
		return err
	})
	assert.Equal(t, 1, ok)
	all, err := b.Search(t.Context(), backend.Query{Email: "same@example.org"})
	require.NoError(t, err)
	assert.Len(t, all, 1)
}

// TestPasswordsOver72BytesRefused: Add and SetPassword refuse what bcrypt
// would cut, before any network call.
func TestPasswordsOver72BytesRefused(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	b := newBackend(t, testConfig(srv, ou, true))
	long := strings.Repeat("p", 73)
	err := b.SetPassword(t.Context(), "alice", long)
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldPassword, ve.Field)
	_, err = b.Add(t.Context(), person("bob", "B", "B", "bob@example.org", "A"), long)
	require.ErrorAs(t, err, &ve)
	_, err = b.Get(t.Context(), "bob")
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = b.Authenticate(t.Context(), "alice", "alice pw")
	require.NoError(t, err)
}

// TestAuthenticateDeadlineDuringRefusal: the padding of a refusal ends
// with the context.
func TestAuthenticateDeadlineDuringRefusal(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	b := newBackend(t, testConfig(srv, ou, false))
	for range 3 {
		_, err := b.Authenticate(t.Context(), "alice", "wrong")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	}
	ctx, cancel := context.WithDeadline(t.Context(), time.Now())
	defer cancel()
	_, err := b.Authenticate(ctx, "alice", "")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var ae *backend.AccountInvalidError
	require.False(t, errors.As(err, &ae))
}

// TestLoggerGetsTheEvents: Config.Logger receives backend.LogUnavailable
// when a server fails (here the first of two URLs: the call still
// succeeds on the second), with the backend's name and never the bind
// password; nil means slog.Default().
func TestLoggerGetsTheEvents(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	cfg := testConfig(srv, ou, false)
	cfg.URLs = []string{refusedURL(t), srv.URL}
	logger, logged := captureLog()
	cfg.Logger = logger
	b := newBackend(t, cfg)
	_, err := b.Get(t.Context(), "alice")
	require.NoError(t, err)
	out := logged.String()
	assert.Contains(t, out, backend.LogUnavailable)
	assert.Contains(t, out, `"backend":"ldap-test"`)
	assert.Contains(t, out, `"op":"connect"`)
	_, pw := srv.Reader()
	assert.NotContains(t, out, pw)

	cfg.Logger = nil
	_, err = ldapbackend.New(cfg)
	require.NoError(t, err, "nil Logger is slog.Default()")
}

// TestSearchFieldNotMapped: a search field that no contract field maps
// (cn here) is read for the client-side check too, on both paths.
func TestSearchFieldNotMapped(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	req := seedEntry(ou, person("zoe", "Z", "Z", "zoe@example.org", "A"), "")
	for i := range req.Attributes {
		if req.Attributes[i].Type == "cn" {
			req.Attributes[i].Vals = []string{"Zoë Ångström"}
		}
	}
	require.NoError(t, srv.AddEntries(req))
	require.NoError(t, srv.AddEntries(bulk(ou, 5, "a")...))
	cfg := testConfig(srv, ou, false)
	cfg.SearchFields = []string{"uid", "cn"}
	b := newBackend(t, cfg)
	for _, limit := range []int{0, 1} {
		got, err := b.Search(t.Context(), backend.Query{Search: "angstrom", Limit: limit})
		require.NoError(t, err)
		assert.Equal(t, []string{"zoe"}, loginsOf(got), "limit %d", limit)
	}
}
