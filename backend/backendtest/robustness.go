package backendtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func (s *suite) robustnessCases() []testCase {
	return []testCase{
		{"Context/Cancelled", s.testCancelled},
		{"Concurrency/MixedReadsAndWrites", s.testConcurrency},
		{"BadInput/Corpus", s.testBadInput},
		{"Security/PrintsNoSecrets", s.testPrintsNoSecrets},
	}
}

func (s *suite) testCancelled(t *testing.T) {
	h := s.open(t, fixture())
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	check := func(op string, err error) {
		t.Helper()
		require.Error(t, err, op)
		assert.Truef(t, errors.Is(err, context.Canceled), "%s: want an error wrapping context.Canceled, got %v", op, err)
	}
	_, err := h.Backend.Get(c, "hhuber")
	check("Get", err)
	_, err = h.Backend.Search(c, backend.Query{Search: "hans"})
	check("Search", err)
	_, err = h.Backend.Authenticate(c, "hhuber", pwHans)
	check("Authenticate", err)
	if h.Caps.ReadOnly {
		return
	}
	before := snapshot(t, h.Backend)
	_, err = h.Backend.Add(c, newUser("cancelled"), "pw")
	check("Add", err)
	u := seedUser("hhuber")
	u.City = "Cancelled"
	_, err = h.Backend.Update(c, "hhuber", u)
	check("Update", err)
	check("SetPassword", h.Backend.SetPassword(c, "hhuber", "cancelled"))
	assert.Equal(t, before, snapshot(t, h.Backend), "cancelled writes change nothing")
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
	require.NoError(t, err)
}

// testConcurrency runs 50 goroutines of mixed reads and writes; run it under
// -race. Each writer owns its own user, so the final state is known.
func (s *suite) testConcurrency(t *testing.T) {
	h := s.open(t, fixture())
	const workers = 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*8)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := ctx(t)
			fail := func(op string, err error) { errs <- fmt.Errorf("worker %d %s: %w", i, op, err) }
			if _, err := h.Backend.Get(c, "hhuber"); err != nil {
				fail("get", err)
			}
			if res, err := h.Backend.Search(c, backend.Query{Search: "hans"}); err != nil || len(res) < 1 {
				fail("search", fmt.Errorf("%d results: %w", len(res), err))
			}
			if _, err := h.Backend.Authenticate(c, "mmuster", pwMax); err != nil {
				fail("authenticate", err)
			}
			if h.Caps.ReadOnly || i%2 == 1 {
				return
			}
			login := fmt.Sprintf("worker%02d", i)
			u := newUser(login)
			if _, err := h.Backend.Add(c, u, "pw-"+login); err != nil {
				fail("add", err)
				return
			}
			u.City = "City " + login
			if _, err := h.Backend.Update(c, login, u); err != nil {
				fail("update", err)
			}
			if err := h.Backend.SetPassword(c, login, "new-"+login); err != nil {
				fail("set password", err)
			}
			if _, err := h.Backend.Authenticate(c, login, "new-"+login); err != nil {
				fail("authenticate own", err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if h.Caps.ReadOnly {
		return
	}
	res, err := h.Backend.Search(ctx(t), backend.Query{Login: "worker*", Limit: 1000})
	require.NoError(t, err)
	require.Len(t, res, workers/2)
	for _, u := range res {
		assert.Equal(t, "City "+u.Login, u.City)
	}
	assert.Len(t, snapshot(t, h.Backend), len(fixture())+workers/2)
}

// badInputs are values no backend may choke on: SQL and LDAP metacharacters,
// NUL, invalid UTF-8, a megabyte, empty and white-space values.
func badInputs() map[string]string {
	return map[string]string{
		"sql drop":       "'; DROP TABLE customer_user; --",
		"sql or":         "' OR '1'='1",
		"sql comment":    "x'/*",
		"ldap or":        "*)(|(uid=*",
		"ldap close":     ")(uid=*",
		"ldap star":      "*",
		"backslash":      `\`,
		"backslash x":    `\2a`,
		"nul":            "a\x00b",
		"invalid utf8":   "a\xff\xfeb",
		"lone surrogate": "\xed\xa0\x80",
		"megabyte":       strings.Repeat("m", 1<<20),
		"empty":          "",
		"spaces":         "   ",
		"white space":    "\t\n\r ",
		"percent":        "%",
		"underscore":     "_",
		"quote":          `"`,
		"dn chars":       `cn=x,ou=y+z<>#;`,
		"control":        "a\x01b",
		"unicode":        "ü カス 🔑",
		"bidi override":  "admin\u202egnp.exe",
		"zero width":     "ad\u200bmin",
		"bom":            "\ufeffroot",
		"private use":    "a\ue000b",
	}
}

func (s *suite) testBadInput(t *testing.T) {
	h := s.open(t, fixture())
	before := snapshot(t, h.Backend)
	stored := len(before)
	// readOK accepts a typed refusal or an ordinary answer, never another error.
	readOK := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, backend.ErrNotFound) {
			return
		}
		requireValidation(t, err, what)
	}
	for name, v := range badInputs() {
		_, err := h.Backend.Get(ctx(t), v)
		readOK("Get "+name, err)
		for _, q := range []backend.Query{{Search: v}, {Login: v}, {CustomerID: v}, {Email: v}, {Search: `"` + v + `"`}} {
			res, err := h.Backend.Search(ctx(t), q)
			readOK(fmt.Sprintf("Search %s in %+.40v", name, q), err)
			for _, u := range res {
				assertSource(t, h, u)
			}
		}
		_, err = h.Backend.Authenticate(ctx(t), v, v)
		requireKind(t, err, backend.ErrInvalidCredentials, "Authenticate %s", name)
		_, err = h.Backend.Authenticate(ctx(t), "hhuber", v)
		requireKind(t, err, backend.ErrInvalidCredentials, "Authenticate hhuber with %s", name)
		if err != nil && len(v) > 2 {
			assert.NotContains(t, err.Error(), v, "the password is never in an error")
		}
	}
	require.Equal(t, before, snapshot(t, h.Backend), "reads change nothing")
	if h.Caps.ReadOnly {
		return
	}

	// Writes: each value is refused with a *ValidationError or stored exactly.
	i := 0
	for name, v := range badInputs() {
		i++
		type variant struct {
			field string
			set   func(u *backend.CustomerUser)
			get   func(u backend.CustomerUser) string
		}
		for _, f := range []variant{
			{"login", func(u *backend.CustomerUser) { u.Login = v }, func(u backend.CustomerUser) string { return u.Login }},
			{"first name", func(u *backend.CustomerUser) { u.FirstName = v }, func(u backend.CustomerUser) string { return u.FirstName }},
			{"last name", func(u *backend.CustomerUser) { u.LastName = v }, func(u backend.CustomerUser) string { return u.LastName }},
			{"customer ID", func(u *backend.CustomerUser) { u.CustomerID = v }, func(u backend.CustomerUser) string { return u.CustomerID }},
			{"comment", func(u *backend.CustomerUser) { u.Comment = v }, func(u backend.CustomerUser) string { return u.Comment }},
			{"email", func(u *backend.CustomerUser) { u.Email = v }, func(u backend.CustomerUser) string { return u.Email }},
		} {
			u := newUser(fmt.Sprintf("bad%02d-%s", i, strings.ReplaceAll(f.field, " ", "")))
			f.set(&u)
			if f.field == "login" && strings.TrimSpace(v) == "" && h.Caps.AutoLoginPrefix != "" {
				continue // an empty login asks for a generated one
			}
			added, err := h.Backend.Add(ctx(t), u, "")
			what := fmt.Sprintf("Add with %s = %s", f.field, name)
			if err != nil {
				if errors.Is(err, backend.ErrDuplicateLogin) && f.field == "login" {
					continue // the value is already a fixture login ("*" is not, but backends may differ in nothing else)
				}
				requireValidation(t, err, what)
				assert.NotContains(t, err.Error(), strings.Repeat("m", 100), "errors never quote megabytes")
				continue
			}
			stored++
			want := strings.TrimSpace(v)
			assert.Equal(t, want, f.get(added), what)
			got, err := h.Backend.Get(ctx(t), added.Login)
			require.NoError(t, err, what)
			assert.Equal(t, want, f.get(got), "%s is stored exactly", what)
		}
		// Updating a fixture user with the value: refused or stored exactly; a refusal changes nothing.
		u, err := h.Backend.Get(ctx(t), "mmuster")
		require.NoError(t, err)
		orig := u
		u.LastName = v
		_, err = h.Backend.Update(ctx(t), "mmuster", u)
		if err != nil {
			requireValidation(t, err, "Update last name = "+name)
			got, err := h.Backend.Get(ctx(t), "mmuster")
			require.NoError(t, err)
			assertSameUser(t, orig, got)
		} else {
			got, err := h.Backend.Get(ctx(t), "mmuster")
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSpace(v), got.LastName)
			orig.ChangedAt = time.Time{} // restore unconditionally (the update above moved ChangedAt)
			_, err = h.Backend.Update(ctx(t), "mmuster", orig)
			require.NoError(t, err)
		}
		// A password: refused or set exactly.
		err = h.Backend.SetPassword(ctx(t), "mmuster", v)
		if err != nil {
			requireValidation(t, err, "SetPassword "+name)
		} else {
			_, err = h.Backend.Authenticate(ctx(t), "mmuster", v)
			require.NoError(t, err, "password %s set and verified", name)
		}
	}
	after := snapshot(t, h.Backend)
	assert.Len(t, after, stored, "only accepted adds were stored")
	for _, seed := range fixture() {
		if seed.User.Login == "mmuster" {
			continue
		}
		got, err := h.Backend.Get(ctx(t), seed.User.Login)
		require.NoError(t, err)
		assertSameUser(t, seed.User, got, "fixture user %s intact", seed.User.Login)
	}
}

// testPrintsNoSecrets: printing the backend, with any verb, shows no
// password and no stored hash.
func (s *suite) testPrintsNoSecrets(t *testing.T) {
	h := s.open(t, fixture())
	_, err := h.Backend.Authenticate(ctx(t), "hhuber", pwHans) // a rehash may have stored a new hash
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(h.Backend), fmt.Sprintf("%+v", h.Backend), fmt.Sprintf("%#v", h.Backend)} {
		for _, secret := range []string{pwHans, pwMax, pwAnna, pwTom, "$2a$", "$2b$", "BCRYPT:", "{SSHA}"} {
			assert.NotContains(t, out, secret, "printing the backend")
		}
	}
}
