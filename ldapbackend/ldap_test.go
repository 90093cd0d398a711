package ldapbackend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

func person(login, first, last, email, customerID string) backend.CustomerUser {
	return backend.CustomerUser{Login: login, FirstName: first, LastName: last, Email: email, CustomerID: customerID, Valid: backend.Valid}
}

type withPW struct {
	u  backend.CustomerUser
	pw string
}

func seed(t testing.TB, srv *testldap.Server, ou string, users []withPW) {
	t.Helper()
	var reqs []*ldap.AddRequest
	for _, x := range users {
		reqs = append(reqs, seedEntry(ou, x.u, x.pw))
	}
	require.NoError(t, srv.AddEntries(reqs...))
}

func TestTransports(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	for _, tc := range []struct {
		name     string
		url      string
		startTLS bool
		tls      ldapbackend.TLSConfig
		wantErr  error
	}{
		{"ldap", srv.URL, false, ldapbackend.TLSConfig{}, nil},
		{"ldaps with CA PEM", srv.LDAPSURL, false, ldapbackend.TLSConfig{CACertificatesPEM: srv.CAPEM}, nil},
		{"ldaps with CA pool", srv.LDAPSURL, false, ldapbackend.TLSConfig{RootCAs: srv.CAPool}, nil},
		{"starttls", srv.URL, true, ldapbackend.TLSConfig{CACertificatesPEM: srv.CAPEM}, nil},
		{"ldaps untrusted", srv.LDAPSURL, false, ldapbackend.TLSConfig{}, backend.ErrUnavailable},
		{"starttls untrusted", srv.URL, true, ldapbackend.TLSConfig{}, backend.ErrUnavailable},
		{"ldaps wrong name", srv.LDAPSURL, false, ldapbackend.TLSConfig{CACertificatesPEM: srv.CAPEM, ServerName: "ldap.example.com"}, backend.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if srv.External && (tc.startTLS || tc.url != srv.URL) {
				t.Skip("needs the test CA of a private server")
			}
			cfg := testConfig(srv, ou, false)
			cfg.URLs = []string{tc.url}
			cfg.StartTLS = tc.startTLS
			cfg.TLS = tc.tls
			b := newBackend(t, cfg)
			u, err := b.Get(t.Context(), "ALICE")
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				_, err = b.Authenticate(t.Context(), "alice", "alice pw")
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "alice", u.Login)
			_, err = b.Authenticate(t.Context(), "alice", "alice pw")
			require.NoError(t, err)
			_, err = b.Authenticate(t.Context(), "alice", "wrong")
			require.ErrorIs(t, err, backend.ErrInvalidCredentials)
		})
	}
}

// TestInjectionCorpus: LDAP filter metacharacters and odd values find
// exactly the entries that hold them literally, or none.
func TestInjectionCorpus(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{
		{person("alice", "Alice", "Plain", "alice@example.org", "A"), "alice pw"},
		{person("paren", "Paren", ")(uid=*", "paren@example.org", "A"), ""},
		{person("orstar", "Or", "*)(|(uid=*", "orstar@example.org", "A"), ""},
		{person("back", "Back", `x\y`, "back@example.org", "A"), ""},
		{person("jürgen", "Jürgen", "Müller", "juergen@example.org", "A"), ""},
		{person("カス", "タロウ", "ヤマダ", "kana@example.org", "A"), ""},
		{person("star*", "Star", "Login", "star@example.org", "A"), "star pw"},
		{person("nulname", "Nul", "Name", "nul@example.org", "A"), ""},
		{person("hexname", "Hex", `\2a`, "hex@example.org", "A"), ""},
		{person("amp&", "Amp", "Ersand", "amp@example.org", "A"), ""},
		{person("comma,dn", "Comma", "Dn", "comma@example.org", "A"), ""},
		{person("equals=dn", "Equals", "Dn", "equals@example.org", "A"), ""},
		{person("plus+dn", "Plus", "Dn", "plus@example.org", "A"), ""},
		{person(" lead", "Lead", "Space", "lead@example.org", "A"), ""},
		{person("quote\"dn", "Quote", "Dn", "quote@example.org", "A"), ""},
		{person("semi;dn", "Semi", "Dn", "semi@example.org", "A"), ""},
		{person("hash#", "Hash", "Dn", "hash@example.org", "A"), ""},
		{person("lt<gt>", "Angle", "Dn", "angle@example.org", "A"), ""},
		{person("ü", "U", "Umlaut", "u@example.org", "A"), ""},
		{person("bs\\", "Bs", "Trail", "bs@example.org", "A"), ""},
		{person("emoji🔑", "Emoji", "Key", "emoji@example.org", "A"), ""},
	})
	b := newBackend(t, testConfig(srv, ou, true))
	ctx := t.Context()

	searches := map[string][]string{
		")(uid=*":    {"paren"},
		"*)(|(uid=*": {"orstar"},
		`\`:          {"back", "bs\\", "hexname"},
		`x\y`:        {"back"},
		`\2a`:        {"hexname"},
		// Search folds accents: "ü" is "u", found in Umlaut, Equals, Nul, Plus, Quote, "uid".
		"ü":      {"equals=dn", "jürgen", "nulname", "orstar", "paren", "plus+dn", "quote\"dn", "ü"},
		"Ü":      {"equals=dn", "jürgen", "nulname", "orstar", "paren", "plus+dn", "quote\"dn", "ü"},
		"jü":     {"jürgen"},
		"ju":     {"jürgen"},
		"カス":     {"カス"},
		"ヤマダ":    {"カス"},
		"star*":  {"orstar", "star*"}, // * is a wildcard in a search
		"(":      {"paren", "orstar"},
		"&":      {"amp&"},
		"a\x00b": nil,
		"🔑":      {"emoji🔑"},
	}
	for q, want := range searches {
		got, err := b.Search(ctx, backend.Query{Search: `"` + q + `"`, Limit: 100})
		require.NoError(t, err, "%q", q)
		wantSorted := append([]string(nil), want...)
		sortStrings(wantSorted)
		assert.Equal(t, nilIfEmpty(wantSorted), nilIfEmpty(loginsOf(got)), "search %q", q)
	}
	// Exact lookups treat every character literally.
	for _, login := range []string{"paren", "star*", "amp&", "comma,dn", "equals=dn", "plus+dn", "quote\"dn", "semi;dn",
		"hash#", "lt<gt>", "ü", "Ü", "bs\\", "emoji🔑", "カス", "jürgen", "JÜRGEN"} {
		u, err := b.Get(ctx, login)
		require.NoError(t, err, "%q", login)
		assert.Equal(t, backend.LoginKey(login), backend.LoginKey(u.Login))
		res, err := b.Search(ctx, backend.Query{Login: login})
		require.NoError(t, err, "%q", login)
		assert.Len(t, res, 1, "%q", login)
	}
	for _, login := range []string{"*", ")(uid=*", "*)(|(uid=*", `\`, `\2a`, "star", "star\\2a", "(", "al*ce"} {
		_, err := b.Get(ctx, login)
		require.ErrorIs(t, err, backend.ErrNotFound, "%q", login)
		_, err = b.Authenticate(ctx, login, "alice pw")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials, "%q", login)
	}
	_, err := b.Get(ctx, "a\x00b")
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve, "a NUL in a login is refused")
	_, err = b.Authenticate(ctx, "star*", "star pw")
	require.NoError(t, err)
	_, err = b.Authenticate(ctx, "star*", "*")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)

	// Writes: the RDN escaping round-trips.
	for _, login := range []string{"new,comma", "new+plus", "new\"q", "new\\bs", "#new", "new ", "new=eq"} {
		_, err := b.Add(ctx, person(login, "N", "W", fmt.Sprintf("n%x@example.org", login), "A"), "pw "+login)
		require.NoError(t, err, "%q", login)
		_, err = b.Authenticate(ctx, login, "pw "+login)
		require.NoError(t, err, "%q", login)
	}
}

func sortStrings(s []string) {
	users := make([]backend.CustomerUser, len(s))
	for i := range s {
		users[i].Login = s[i]
	}
	backend.SortByLogin(users)
	for i := range s {
		s[i] = users[i].Login
	}
}

func loginsOf(users []backend.CustomerUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login
	}
	return out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func bulk(ou string, n int, prefix string) []*ldap.AddRequest {
	reqs := make([]*ldap.AddRequest, n)
	for i := range reqs {
		u := person(fmt.Sprintf("%s%05d", prefix, i), "Bulk", fmt.Sprintf("User %d", i), fmt.Sprintf("%s%d@example.org", prefix, i), "BULK")
		reqs[i] = seedEntry(ou, u, "")
	}
	return reqs
}

// TestPagingPastSizeLimit: 1,200 entries come back whole from a server with
// sizelimit 500 (paging with size.prtotal=unlimited), where a plain search
// as the same account stops at 500.
func TestPagingPastSizeLimit(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	require.NoError(t, srv.AddEntries(bulk(ou, 1200, "p")...))

	// The limit bites for a search without paging (on our own server; an
	// external one has unknown limits and uses its admin as reader).
	if !srv.External {
		c, err := ldap.DialURL(srv.URL)
		require.NoError(t, err)
		defer c.Close()
		dn, pw := srv.Reader()
		require.NoError(t, c.Bind(dn, pw))
		res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=*)", []string{"uid"}, nil))
		require.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded), "plain search: %v", err)
		require.Len(t, res.Entries, testldap.DefaultSizeLimit)
	}

	for _, pageSize := range []int{0, 100} {
		cfg := testConfig(srv, ou, false)
		cfg.PageSize = pageSize
		b := newBackend(t, cfg)
		users, err := b.Search(t.Context(), backend.Query{Limit: 5000})
		require.NoError(t, err)
		require.Len(t, users, 1200, "page size %d", pageSize)
		assert.Equal(t, "p00000", users[0].Login)
		assert.Equal(t, "p01199", users[1199].Login)
		users, err = b.Search(t.Context(), backend.Query{Search: "bulk"})
		require.NoError(t, err)
		require.Len(t, users, backend.DefaultLimit, "the default limit cuts after sorting")
		assert.Equal(t, "p00249", users[249].Login)
	}
}

// TestPartialResultIsFailure: when the server stops a paged search at its
// size limit, Search fails instead of returning 500 of 600 users.
func TestPartialResultIsFailure(t *testing.T) {
	srv := testldap.Private(t, testldap.Options{}) // size.prtotal left at the limit
	ou := srv.NewOU(t)
	require.NoError(t, srv.AddEntries(bulk(ou, 600, "q")...))
	b := newBackend(t, testConfig(srv, ou, false))
	users, err := b.Search(t.Context(), backend.Query{Limit: 1000})
	require.Error(t, err)
	assert.Nil(t, users)
	assert.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded), "%v", err)
	assert.Contains(t, err.Error(), "customeruser ldap-test: search:")
	// A result within the limit is fine.
	users, err = b.Search(t.Context(), backend.Query{Login: "q0001*"})
	require.NoError(t, err)
	assert.Len(t, users, 10)
}

// deadServer accepts connections and closes them at once, counting them.
func deadServer(t *testing.T) (url string, accepts *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	accepts = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			_ = c.Close()
		}
	}()
	return "ldap://" + l.Addr().String(), accepts
}

// refusedURL is an address where nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "ldap://" + addr
}

func TestFailover(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})

	t.Run("refused then live", func(t *testing.T) {
		cfg := testConfig(srv, ou, false)
		cfg.URLs = []string{refusedURL(t), srv.URL}
		b := newBackend(t, cfg)
		for range 5 {
			_, err := b.Get(t.Context(), "alice")
			require.NoError(t, err)
			_, err = b.Authenticate(t.Context(), "alice", "alice pw")
			require.NoError(t, err)
		}
	})
	t.Run("accepting but dead then live, backing off", func(t *testing.T) {
		dead, accepts := deadServer(t)
		cfg := testConfig(srv, ou, false)
		cfg.URLs = []string{dead, srv.URL}
		b := newBackend(t, cfg)
		const calls = 20
		for range calls {
			_, err := b.Get(t.Context(), "alice")
			require.NoError(t, err)
			// Authenticate dials a fresh connection every time.
			_, err = b.Authenticate(t.Context(), "alice", "alice pw")
			require.NoError(t, err)
		}
		// Without back-off every Authenticate would knock on the dead server first.
		assert.LessOrEqual(t, accepts.Load(), int64(3), "the dead URL is not retried on every call")
		assert.GreaterOrEqual(t, accepts.Load(), int64(1), "the dead URL was tried first")
	})
	t.Run("all down", func(t *testing.T) {
		dead, _ := deadServer(t)
		cfg := testConfig(srv, ou, false)
		cfg.URLs = []string{dead, refusedURL(t)}
		b := newBackend(t, cfg)
		_, err := b.Get(t.Context(), "alice")
		require.ErrorIs(t, err, backend.ErrUnavailable)
		_, err = b.Authenticate(t.Context(), "alice", "alice pw")
		require.ErrorIs(t, err, backend.ErrUnavailable)
		_, err = b.Search(t.Context(), backend.Query{})
		require.ErrorIs(t, err, backend.ErrUnavailable)
		assert.NotContains(t, err.Error(), "alice pw")
	})
}

// TestRestart: the same Backend survives a restart of slapd; while it is
// down, calls fail with ErrUnavailable.
func TestRestart(t *testing.T) {
	srv := testldap.Private(t, testldap.Options{PagedResultsUnlimited: true})
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	cfg := testConfig(srv, ou, true)
	cfg.DialTimeout = 2 * time.Second
	b := newBackend(t, cfg)
	ctx := t.Context()
	// Fill the pool with several connections.
	for range 10 {
		_, err := b.Search(ctx, backend.Query{})
		require.NoError(t, err)
	}

	require.NoError(t, srv.Stop())
	_, err := b.Get(ctx, "alice")
	require.ErrorIs(t, err, backend.ErrUnavailable)
	_, err = b.Authenticate(ctx, "alice", "alice pw")
	require.ErrorIs(t, err, backend.ErrUnavailable)
	err = b.SetPassword(ctx, "alice", "new pw")
	require.ErrorIs(t, err, backend.ErrUnavailable)

	require.NoError(t, srv.Restart())
	for range 10 { // every pooled connection is dead and must be replaced
		u, err := b.Get(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, "alice", u.Login)
	}
	_, err = b.Authenticate(ctx, "alice", "alice pw")
	require.NoError(t, err)
	require.NoError(t, b.SetPassword(ctx, "alice", "new pw"))
	_, err = b.Authenticate(ctx, "alice", "new pw")
	require.NoError(t, err)
}

// TestEmptyPasswordNeverBinds runs against a slapd that accepts a DN with
// an empty password as an anonymous bind: the backend must not.
func TestEmptyPasswordNeverBinds(t *testing.T) {
	srv := testldap.Private(t, testldap.Options{AllowBindAnonDN: true, PagedResultsUnlimited: true})
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{
		{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"},
		{person("nopw", "No", "Password", "nopw@example.org", "A"), ""},
	})
	// The fixture works: the server does accept the unauthenticated bind.
	c, err := ldap.DialURL(srv.URL)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.UnauthenticatedBind("uid=alice,"+ou), "server accepts DN + empty password")

	b := newBackend(t, testConfig(srv, ou, true))
	for _, login := range []string{"alice", "nopw", "nobody"} {
		for _, pw := range []string{"", " ", "\t\n", "\u00a0"} {
			_, err := b.Authenticate(t.Context(), login, pw)
			require.ErrorIs(t, err, backend.ErrInvalidCredentials, "%s with %q", login, pw)
		}
	}
	for _, pw := range []string{"", "   "} {
		err := b.SetPassword(t.Context(), "alice", pw)
		var ve *backend.ValidationError
		require.ErrorAs(t, err, &ve, "%q", pw)
	}
	_, err = b.Authenticate(t.Context(), "alice", "alice pw")
	require.NoError(t, err)

	// No network call at all: against an address that counts connections.
	dead, accepts := deadServer(t)
	cfg := testConfig(srv, ou, true)
	cfg.URLs = []string{dead}
	nb := newBackend(t, cfg)
	for _, pw := range []string{"", " "} {
		_, err := nb.Authenticate(t.Context(), "alice", pw)
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
		require.Error(t, nb.SetPassword(t.Context(), "alice", pw))
	}
	assert.Zero(t, accepts.Load(), "blank passwords never reach the network")
}

// blackHole accepts connections and never answers.
func blackHole(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "ldap://" + l.Addr().String()
}

func TestContextCancellation(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})

	// A server that never answers: only the context can end the call.
	cfg := testConfig(srv, ou, true)
	cfg.URLs = []string{blackHole(t)}
	cfg.RequestTimeout = time.Minute
	cfg.DialTimeout = time.Minute
	b := newBackend(t, cfg)
	ops := map[string]func(ctx context.Context) error{
		"get":          func(ctx context.Context) error { _, err := b.Get(ctx, "alice"); return err },
		"search":       func(ctx context.Context) error { _, err := b.Search(ctx, backend.Query{}); return err },
		"authenticate": func(ctx context.Context) error { _, err := b.Authenticate(ctx, "alice", "alice pw"); return err },
		"set password": func(ctx context.Context) error { return b.SetPassword(ctx, "alice", "x y") },
		"add": func(ctx context.Context) error {
			_, err := b.Add(ctx, person("bob", "B", "B", "b@example.org", "A"), "pw")
			return err
		},
	}
	for name, op := range ops {
		t.Run(name+" deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := op(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 5*time.Second, "returns promptly")
		})
		t.Run(name+" cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			err := op(ctx)
			require.ErrorIs(t, err, context.Canceled)
		})
	}

	// RequestTimeout applies without a context deadline, as ErrUnavailable.
	cfg.RequestTimeout = 200 * time.Millisecond
	cfg.DialTimeout = 200 * time.Millisecond
	tb := newBackend(t, cfg)
	_, err := tb.Get(t.Context(), "alice")
	require.ErrorIs(t, err, backend.ErrUnavailable)

	// A pooled connection cancelled mid-call is not reused broken.
	live := newBackend(t, testConfig(srv, ou, false))
	for i := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		if i%2 == 0 {
			cancel()
		}
		_, _ = live.Get(ctx, "alice")
		cancel()
		_, err := live.Get(t.Context(), "alice")
		require.NoError(t, err)
	}
}

func TestGroupDN(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{
		{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"},
		{person("bob", "Bob", "Brown", "bob@example.org", "A"), "bob pw"},
	})
	group := "cn=customers (portal)," + ou
	g := ldap.NewAddRequest("cn="+ldap.EscapeDN("customers (portal)")+","+ou, nil)
	g.Attribute("objectClass", []string{"groupOfNames"})
	g.Attribute("cn", []string{"customers (portal)"})
	g.Attribute("member", []string{"uid=alice," + ou})
	require.NoError(t, srv.AddEntries(g))

	cfg := testConfig(srv, ou, false)
	cfg.GroupDN = group
	b := newBackend(t, cfg)
	users, err := b.Search(t.Context(), backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice"}, loginsOf(users))
	_, err = b.Get(t.Context(), "bob")
	require.ErrorIs(t, err, backend.ErrNotFound, "non-members are not customers")
	_, err = b.Authenticate(t.Context(), "bob", "bob pw")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	_, err = b.Authenticate(t.Context(), "alice", "alice pw")
	require.NoError(t, err)
}

func TestValidFilter(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	off := person("off", "Off", "Line", "off@example.org", "A")
	off.Comment = "disabled"
	seed(t, srv, ou, []withPW{
		{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"},
		{off, "off pw"},
	})
	cfg := testConfig(srv, ou, false)
	cfg.ValidAttribute = ""
	cfg.ValidFilter = "(!(description=disabled))"
	b := newBackend(t, cfg)

	users, err := b.Search(t.Context(), backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice"}, loginsOf(users))
	users, err = b.Search(t.Context(), backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	require.Equal(t, []string{"alice", "off"}, loginsOf(users))
	assert.Equal(t, backend.Valid, users[0].Valid)
	assert.Equal(t, backend.Invalid, users[1].Valid)
	u, err := b.Get(t.Context(), "off")
	require.NoError(t, err)
	assert.Equal(t, backend.Invalid, u.Valid)
	_, err = b.Authenticate(t.Context(), "off", "off pw")
	require.ErrorIs(t, err, backend.ErrAccountInvalid)
	_, err = b.Authenticate(t.Context(), "off", "wrong")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
}

func TestPasswordAttributeFallback(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	cfg := testConfig(srv, ou, true)
	cfg.DisablePasswordModify = true
	b := newBackend(t, cfg)
	require.NoError(t, b.SetPassword(t.Context(), "alice", "replaced pw"))
	_, err := b.Authenticate(t.Context(), "alice", "replaced pw")
	require.NoError(t, err)
	_, err = b.Authenticate(t.Context(), "alice", "alice pw")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
}

func TestFieldsAndTimestamps(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	b := newBackend(t, testConfig(srv, ou, true))
	u := person("full", "Fiona", "Full", "fiona@example.org", "F1")
	u.CustomerIDs = []string{"F2", "F3"}
	u.Title, u.Phone, u.Fax, u.Mobile = "Prof.", "+1 555 0100", "+1 555 0101", "+1 555 0102"
	u.Street, u.Zip, u.City, u.Country, u.Comment = "1 Main St", "12345", "Springfield", "United States", "vip"
	before := time.Now().Add(-2 * time.Second)
	added, err := b.Add(t.Context(), u, "pw")
	require.NoError(t, err)
	assert.Equal(t, "ldap-test", added.Source)
	assert.True(t, added.CreatedAt.After(before), "%v", added.CreatedAt)
	assert.False(t, added.ChangedAt.Before(added.CreatedAt))
	got, err := b.Get(t.Context(), "FULL")
	require.NoError(t, err)
	added.Source, got.Source = "", ""
	assert.Equal(t, added, got)
	assert.Equal(t, []string{"F1", "F2", "F3"}, got.AllCustomerIDs())

	// The entry really uses the configured attributes.
	c, err := srv.AdminConn()
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest("uid=full,"+ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*"}, nil))
	require.NoError(t, err)
	e := res.Entries[0]
	assert.Equal(t, "Fiona Full", e.GetAttributeValue("cn"))
	assert.Equal(t, "F1", e.GetAttributeValue("customerID"))
	assert.ElementsMatch(t, []string{"F2", "F3"}, e.GetAttributeValues("customerIDs"))
	assert.Equal(t, "1", e.GetAttributeValue("customerValid"))
	assert.NotEqual(t, "pw", e.GetAttributeValue("userPassword"), "the server hashed the password (Password Modify)")
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() ldapbackend.Config {
		c := ldapbackend.OpenLDAP()
		c.URLs = []string{"ldap://127.0.0.1:389"}
		c.BaseDN = "dc=example,dc=com"
		return c
	}
	for name, mutate := range map[string]func(*ldapbackend.Config){
		"no URLs":                  func(c *ldapbackend.Config) { c.URLs = nil },
		"bad scheme":               func(c *ldapbackend.Config) { c.URLs = []string{"http://x"} },
		"no host":                  func(c *ldapbackend.Config) { c.URLs = []string{"ldap://"} },
		"no base":                  func(c *ldapbackend.Config) { c.BaseDN = "" },
		"bad base":                 func(c *ldapbackend.Config) { c.BaseDN = "not a dn" },
		"bad user filter":          func(c *ldapbackend.Config) { c.UserFilter = "(objectClass=person" },
		"bad valid filter":         func(c *ldapbackend.Config) { c.ValidFilter = "uid=x)" },
		"no login attribute":       func(c *ldapbackend.Config) { c.LoginAttribute = "" },
		"bind DN without password": func(c *ldapbackend.Config) { c.BindDN = "cn=x,dc=example,dc=com" },
		"bad CA":                   func(c *ldapbackend.Config) { c.TLS.CACertificatesPEM = []byte("nope") },
		"writable without object classes": func(c *ldapbackend.Config) {
			c.ReadOnly = ldapbackend.Bool(false)
			c.ObjectClasses = nil
			c.CustomerIDAttribute = "o"
		},
		"writable without customer ID": func(c *ldapbackend.Config) { c.ReadOnly = ldapbackend.Bool(false) },
		"no first name attribute":      func(c *ldapbackend.Config) { c.Attributes.FirstName = "" },
		"no last name attribute":       func(c *ldapbackend.Config) { c.Attributes.LastName = "" },
		"no email attribute":           func(c *ldapbackend.Config) { c.Attributes.Email = "" },
		"page size above the maximum":  func(c *ldapbackend.Config) { c.PageSize = ldapbackend.MaxPageSize + 1 },
	} {
		cfg := good()
		mutate(&cfg)
		_, err := ldapbackend.New(cfg)
		require.Error(t, err, name)
		require.ErrorIs(t, err, backend.ErrInvalidInput, name)
		assert.True(t, strings.HasPrefix(err.Error(), "customeruser ldap: config: "), "%s: %v", name, err)
		var ve *backend.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.True(t, strings.HasPrefix(ve.Field, "Config."), "%s: field %q", name, ve.Field)
	}

	// Every problem at once, each naming its field: a config that maps
	// nothing (it would read users without names or emails) is refused.
	_, err := ldapbackend.New(ldapbackend.Config{Name: "dir", URLs: []string{"ldap://127.0.0.1"}, BaseDN: "dc=example,dc=com"})
	var ves backend.ValidationErrors
	require.ErrorAs(t, err, &ves)
	assert.Equal(t, []string{"Config.LoginAttribute", "Config.Attributes.FirstName", "Config.Attributes.LastName", "Config.Attributes.Email"}, ves.Fields())
	assert.True(t, strings.HasPrefix(err.Error(), "customeruser dir: config: "), err.Error())
	assert.NotContains(t, fmt.Sprint(err), "s3cret")
	_, err = ldapbackend.New(ldapbackend.Config{BindDN: "cn=x", BindPassword: "s3cret"})
	require.ErrorAs(t, err, &ves)
	assert.Subset(t, ves.Fields(), []string{"Config.URLs", "Config.BaseDN", "Config.LoginAttribute"})
	assert.NotContains(t, err.Error(), "s3cret", "a config error never shows the bind password")

	b, err := ldapbackend.New(good())
	require.NoError(t, err, "New does not connect")
	assert.True(t, b.ReadOnly(), "read-only by default")
	assert.Equal(t, "ldap", b.Name())
	require.NoError(t, b.Close())
	_, err = b.Get(context.Background(), "x")
	require.Error(t, err, "a closed backend refuses calls")
	assert.False(t, errors.Is(err, backend.ErrNotFound))
}

// TestActiveDirectoryPresetImitation runs the ActiveDirectory preset's
// login attribute and validity filter (userAccountControl bit 2, a bitwise
// matching rule) against OpenLDAP with an imitation of the AD attributes.
// Not covered (OpenLDAP has no equivalent): objectCategory in the user
// filter, nested groups through 1.2.840.113556.1.4.1941, unicodePwd writes,
// AD's refusal to bind disabled accounts.
func TestActiveDirectoryPresetImitation(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	entry := func(login, cn, company, uac, pw string) *ldap.AddRequest {
		r := ldap.NewAddRequest("cn="+ldap.EscapeDN(cn)+","+ou, nil)
		r.Attribute("objectClass", []string{"inetOrgPerson", "adLikeUser"})
		r.Attribute("cn", []string{cn})
		r.Attribute("sn", []string{cn[strings.LastIndex(cn, " ")+1:]})
		r.Attribute("givenName", []string{cn[:strings.Index(cn, " ")]})
		r.Attribute("sAMAccountName", []string{login})
		r.Attribute("mail", []string{login + "@corp.example.com"})
		r.Attribute("company", []string{company})
		r.Attribute("userAccountControl", []string{uac})
		r.Attribute("userPassword", []string{pw})
		return r
	}
	require.NoError(t, srv.AddEntries(
		entry("alice", "Alice Anders", "ACME", "512", "alice pw"),   // NORMAL_ACCOUNT
		entry("bob", "Bob Brown", "ACME", "514", "bob pw"),          // NORMAL_ACCOUNT | ACCOUNTDISABLE
		entry("carol", "Carol Clark", "OTHER", "66048", "carol pw"), // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
	))
	cfg := ldapbackend.ActiveDirectory()
	cfg.Name = "ad-imitation"
	cfg.URLs = []string{srv.URL}
	cfg.BindDN, cfg.BindPassword = srv.Reader()
	cfg.BaseDN = ou
	cfg.UserFilter = "(objectClass=adLikeUser)" // AD: (&(objectCategory=person)(objectClass=user))
	cfg.CustomerIDAttribute = "company"
	b := newBackend(t, cfg)
	ctx := t.Context()

	users, err := b.Search(ctx, backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice", "carol"}, loginsOf(users), "the disabled account is left out")
	users, err = b.Search(ctx, backend.Query{CustomerID: "acme", IncludeInvalid: true})
	require.NoError(t, err)
	require.Equal(t, []string{"alice", "bob"}, loginsOf(users))
	assert.Equal(t, backend.Valid, users[0].Valid)
	assert.Equal(t, backend.Invalid, users[1].Valid)
	assert.Equal(t, "alice@corp.example.com", users[0].Email)

	u, err := b.Get(ctx, "BOB")
	require.NoError(t, err)
	assert.Equal(t, backend.Invalid, u.Valid)
	_, err = b.Authenticate(ctx, "alice", "alice pw")
	require.NoError(t, err)
	_, err = b.Authenticate(ctx, "bob", "bob pw")
	require.ErrorIs(t, err, backend.ErrAccountInvalid, "OpenLDAP lets bob bind; AD itself would refuse the bind (ErrInvalidCredentials)")
	_, err = b.Authenticate(ctx, "carol", "wrong")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	require.ErrorIs(t, b.SetPassword(ctx, "alice", "x y z"), backend.ErrReadOnly)
}

// TestRefusedUpdateUndoesRename: when the directory refuses the attribute
// change that follows a rename, the rename is undone.
func TestRefusedUpdateUndoesRename(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	cfg := testConfig(srv, ou, true)
	cfg.Attributes.Phone = "telephoneNumber"
	b := newBackend(t, cfg)
	u, err := b.Get(t.Context(), "alice")
	require.NoError(t, err)
	u.Login = "alicia"
	u.Phone = "not a phone number: ü" // telephoneNumber syntax refuses it
	_, err = b.Update(t.Context(), "alice", u)
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	_, err = b.Get(t.Context(), "alicia")
	require.ErrorIs(t, err, backend.ErrNotFound)
	got, err := b.Get(t.Context(), "alice")
	require.NoError(t, err)
	assert.Empty(t, got.Phone)
	_, err = b.Authenticate(t.Context(), "alice", "alice pw")
	require.NoError(t, err)
}

// TestClientCertificate: a server that demands a client certificate
// accepts the configured one and refuses connections without it.
func TestClientCertificate(t *testing.T) {
	srv := testldap.Private(t, testldap.Options{RequireClientCert: true, PagedResultsUnlimited: true})
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	for _, withCert := range []bool{true, false} {
		for _, url := range []string{srv.LDAPSURL, srv.URL} {
			cfg := testConfig(srv, ou, false)
			cfg.URLs = []string{url}
			cfg.StartTLS = url == srv.URL
			cfg.TLS.RootCAs = srv.CAPool
			if withCert {
				cert := srv.ClientCert
				cfg.TLS.ClientCertificate = &cert
			}
			b := newBackend(t, cfg)
			_, err := b.Get(t.Context(), "alice")
			if withCert {
				require.NoError(t, err, url)
				_, err = b.Authenticate(t.Context(), "alice", "alice pw")
				require.NoError(t, err, url)
			} else {
				require.ErrorIs(t, err, backend.ErrUnavailable, url)
			}
		}
	}
}

// TestAttributeNamesCaseInsensitive: configured attribute names match the
// server's spelling whatever their case.
func TestAttributeNamesCaseInsensitive(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	u := person("alice", "Alice", "Anders", "alice@example.org", "ACME")
	u.CustomerIDs = []string{"ACME-EU"}
	seed(t, srv, ou, []withPW{{u, "alice pw"}})
	cfg := testConfig(srv, ou, false)
	cfg.LoginAttribute = "UID"
	cfg.Attributes.FirstName = "GIVENNAME"
	cfg.Attributes.LastName = "SN"
	cfg.Attributes.Email = "customermail"
	cfg.CustomerIDAttribute = "CUSTOMERID"
	cfg.CustomerIDsAttribute = "customerids"
	cfg.ValidAttribute = "CustomerValid"
	b := newBackend(t, cfg)
	got, err := b.Get(t.Context(), "Alice")
	require.NoError(t, err)
	assert.Equal(t, "alice", got.Login)
	assert.Equal(t, "Alice", got.FirstName)
	assert.Equal(t, "Anders", got.LastName)
	assert.Equal(t, "alice@example.org", got.Email)
	assert.Equal(t, []string{"ACME", "ACME-EU"}, got.AllCustomerIDs())
	assert.False(t, got.CreatedAt.IsZero())
	users, err := b.Search(t.Context(), backend.Query{Search: "acme-eu"})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice"}, loginsOf(users))
}

// stallProxy forwards TCP to target; while stalled, answers from the server
// are swallowed, so requests on open connections never get a reply.
type stallProxy struct {
	url     string
	stalled atomic.Bool
	open    atomic.Int64 // client connections not yet closed by the client
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &stallProxy{url: "ldap://" + l.Addr().String()}
	var conns sync.Map
	t.Cleanup(func() {
		_ = l.Close()
		conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			conns.Store(in, nil)
			conns.Store(out, nil)
			p.open.Add(1)
			go func() { _, _ = io.Copy(out, in); _ = out.Close(); p.open.Add(-1) }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := out.Read(buf)
					if n > 0 && !p.stalled.Load() {
						if _, werr := in.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				_ = in.Close()
			}()
		}
	}()
	return p
}

// TestRequestTimeout: a server that stops answering on an open pooled
// connection costs RequestTimeout, gives ErrUnavailable, and the connection
// is replaced once the server answers again.
func TestRequestTimeout(t *testing.T) {
	srv := testldap.Shared(t)
	if srv.External {
		t.Skip("needs the address of a private server")
	}
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	p := newStallProxy(t, srv.Addr())
	cfg := testConfig(srv, ou, false)
	cfg.URLs = []string{p.url}
	cfg.RequestTimeout = 300 * time.Millisecond
	cfg.DialTimeout = 300 * time.Millisecond
	cfg.PoolSize = 1
	b := newBackend(t, cfg)
	_, err := b.Get(t.Context(), "alice")
	require.NoError(t, err)

	p.stalled.Store(true)
	start := time.Now()
	_, err = b.Get(t.Context(), "alice")
	require.ErrorIs(t, err, backend.ErrUnavailable)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context did not expire")
	assert.Less(t, time.Since(start), 5*time.Second)

	p.stalled.Store(false)
	u, err := b.Get(t.Context(), "alice")
	require.NoError(t, err, "the timed-out connection was replaced")
	assert.Equal(t, "alice", u.Login)
}

// TestServiceAccount: an empty BindDN searches anonymously; a wrong service
// password is reported as such (the server answered), not as an outage.
func TestServiceAccount(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})

	cfg := testConfig(srv, ou, false)
	cfg.BindDN, cfg.BindPassword = "", ""
	b := newBackend(t, cfg)
	u, err := b.Get(t.Context(), "alice")
	require.NoError(t, err, "anonymous search")
	assert.Equal(t, "alice", u.Login)
	_, err = b.Authenticate(t.Context(), "alice", "alice pw")
	require.NoError(t, err)

	cfg = testConfig(srv, ou, false)
	cfg.BindPassword = "wrong service password"
	b = newBackend(t, cfg)
	_, err = b.Get(t.Context(), "alice")
	require.Error(t, err)
	assert.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials), "%v", err)
	assert.NotErrorIs(t, err, backend.ErrUnavailable)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
	assert.NotContains(t, err.Error(), "wrong service password")
}

// TestLargeResultWithValidFilter: beyond the limit, the logins-first path
// still sorts, cuts and works out validity per entry.
func TestLargeResultWithValidFilter(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	var reqs []*ldap.AddRequest
	for i := range 300 {
		u := person(fmt.Sprintf("v%03d", 299-i), "Many", "Users", fmt.Sprintf("v%d@example.org", i), "MANY")
		if (299-i)%3 == 0 {
			u.Comment = "disabled"
		}
		reqs = append(reqs, seedEntry(ou, u, ""))
	}
	require.NoError(t, srv.AddEntries(reqs...))
	cfg := testConfig(srv, ou, false)
	cfg.ValidAttribute = ""
	cfg.ValidFilter = "(!(description=disabled))"
	b := newBackend(t, cfg)

	users, err := b.Search(t.Context(), backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	require.Len(t, users, backend.DefaultLimit)
	for i, u := range users {
		require.Equal(t, fmt.Sprintf("v%03d", i), u.Login)
		want := backend.Valid
		if i%3 == 0 {
			want = backend.Invalid
		}
		require.Equal(t, want, u.Valid, u.Login)
		require.Equal(t, "Many", u.FirstName, "read whole")
	}
	users, err = b.Search(t.Context(), backend.Query{Limit: 150})
	require.NoError(t, err)
	require.Len(t, users, 150)
	assert.Equal(t, "v001", users[0].Login)
	assert.Equal(t, "v224", users[149].Login) // 150th valid login: skips every multiple of 3
	for _, u := range users {
		require.Equal(t, backend.Valid, u.Valid)
	}
}

// TestCloseDrainsPool: Close closes the idle service connections, and the
// ones in use when they come back; later calls fail.
func TestCloseDrainsPool(t *testing.T) {
	srv := testldap.Shared(t)
	if srv.External {
		t.Skip("needs the address of a private server")
	}
	ou := srv.NewOU(t)
	seed(t, srv, ou, []withPW{{person("alice", "Alice", "Anders", "alice@example.org", "A"), "alice pw"}})
	p := newStallProxy(t, srv.Addr())
	cfg := testConfig(srv, ou, false)
	cfg.URLs = []string{p.url}
	cfg.PoolSize = 4
	b, err := ldapbackend.New(cfg)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.Get(t.Context(), "alice")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, p.open.Load(), int64(4), "PoolSize bounds the service connections")
	require.Positive(t, p.open.Load())

	require.NoError(t, b.Close())
	require.Eventually(t, func() bool { return p.open.Load() == 0 }, 10*time.Second, 10*time.Millisecond,
		"every pooled connection is closed")
	_, err = b.Get(t.Context(), "alice")
	require.Error(t, err)
	require.NoError(t, b.Close(), "Close twice is fine")
}
