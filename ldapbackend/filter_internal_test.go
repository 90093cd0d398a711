package ldapbackend

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func filterBackend(t *testing.T, mutate func(*Config)) *Backend {
	t.Helper()
	cfg := OpenLDAP()
	cfg.URLs = []string{"ldap://127.0.0.1:1"}
	cfg.BaseDN = "dc=example,dc=com"
	cfg.CustomerIDAttribute = "o"
	cfg.SearchFields = []string{"uid", "sn"}
	if mutate != nil {
		mutate(&cfg)
	}
	b, err := New(cfg)
	require.NoError(t, err)
	return b
}

// TestFilterEscapedOnce pins the filters the search language compiles to:
// every user value escaped exactly once, wildcards only where '*' was.
func TestFilterEscapedOnce(t *testing.T) {
	b := filterBackend(t, nil)
	prefix := filterBackend(t, func(c *Config) { c.MatchPrefix = true })
	cases := []struct {
		name   string
		b      *Backend
		q      backend.Query
		filter string
	}{
		// Letters may stand for accented ones, which no LDAP matching rule
		// equates: a word of letters narrows nothing on the server (the
		// client checks every candidate); digits and punctuation narrow,
		// one rune per piece.
		{"word", b, backend.Query{Search: "huber"}, `(objectClass=inetOrgPerson)`},
		{"prefix word", prefix, backend.Query{Search: "huber"}, `(objectClass=inetOrgPerson)`},
		{"wildcard", b, backend.Query{Search: "h*b**r"}, `(objectClass=inetOrgPerson)`},
		{"digits", b, backend.Query{Search: "C-1001"}, `(&(objectClass=inetOrgPerson)(|(uid=*-*1*0*0*1*)(sn=*-*1*0*0*1*)))`},
		{"prefix digits", prefix, backend.Query{Search: "10*1"}, `(&(objectClass=inetOrgPerson)(|(uid=*1*0*1*)(sn=*1*0*1*)))`},
		{"only star", b, backend.Query{Search: "*"}, `(objectClass=inetOrgPerson)`},
		{"negated words are checked on the client only", b, backend.Query{Search: "!12"}, `(objectClass=inetOrgPerson)`},
		{"injection", b, backend.Query{Search: "*)(|(uid=*"}, `(&(objectClass=inetOrgPerson)(|(uid=*\29*\28*|*\28*)(sn=*\29*\28*|*\28*)))`},
		{"backslash and NUL", b, backend.Query{Search: "a\\b\x00"}, `(&(objectClass=inetOrgPerson)(|(uid=*\5c*)(sn=*\5c*)))`},
		{"escaped hex stays literal", b, backend.Query{Search: `\2a`}, `(&(objectClass=inetOrgPerson)(|(uid=*\5c*2*)(sn=*\5c*2*)))`},
		{"non-ASCII letter", b, backend.Query{Search: "ü"}, `(objectClass=inetOrgPerson)`},
		// カ is ガ without its voicing mark (SearchFold removes it): not a
		// literal; ヤ has no such form.
		{"uncased script", b, backend.Query{Search: "カヤ1"}, `(&(objectClass=inetOrgPerson)(|(uid=*\e3\83\a4*1*)(sn=*\e3\83\a4*1*)))`},
		{"login exact", b, backend.Query{Login: "a(b)"}, `(&(objectClass=inetOrgPerson)(uid=a\28b\29))`},
		{"login wildcard", b, backend.Query{Login: "h*r"}, `(&(objectClass=inetOrgPerson)(uid=h*r))`},
		{"login star", b, backend.Query{Login: "*"}, `(&(objectClass=inetOrgPerson)(uid=*))`},
		{"email star literal", b, backend.Query{Email: "*@x.org"}, `(&(objectClass=inetOrgPerson)(mail=\2a@x.org))`},
		{"customer id", b, backend.Query{CustomerID: "AC*"}, `(&(objectClass=inetOrgPerson)(o=AC*))`},
		{"valid filter", filterBackend(t, func(c *Config) { c.ValidFilter = "(!(description=off))" }), backend.Query{Login: "x"},
			`(&(objectClass=inetOrgPerson)(!(description=off))(uid=x))`},
		{"valid attribute", filterBackend(t, func(c *Config) { c.ValidAttribute = "employeeType" }), backend.Query{Login: "x"},
			`(&(objectClass=inetOrgPerson)(|(employeeType=1)(!(employeeType=*)))(uid=x))`},
		{"group", filterBackend(t, func(c *Config) { c.GroupDN = "cn=a\\,b (x),dc=example,dc=com" }), backend.Query{Login: "x"},
			`(&(objectClass=inetOrgPerson)(memberOf=cn=a\5c,b \28x\29,dc=example,dc=com)(uid=x))`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expr, _, err := backend.CheckQuery(c.q, 0)
			require.NoError(t, err)
			parts := c.b.baseFilter()
			parts = append(parts, c.b.validOnly()...)
			crit, none := c.b.criteria(c.q, expr)
			require.False(t, none)
			got := and(append(parts, crit...))
			assert.Equal(t, c.filter, got)
			_, err = ldap.CompileFilter(got)
			require.NoError(t, err, "the filter compiles")
		})
	}
}

func TestFixedCustomerID(t *testing.T) {
	b := filterBackend(t, func(c *Config) { c.CustomerIDAttribute = ""; c.FixedCustomerID = "ACME" })
	for q, none := range map[string]bool{"acme": false, "AC*": false, "other": true, "*": false} {
		_, none2 := b.criteria(backend.Query{CustomerID: q}, backend.SearchExpr{})
		assert.Equal(t, none, none2, q)
	}
}

func TestParseGeneralizedTime(t *testing.T) {
	for in, want := range map[string]string{
		"20261127005100Z":     "2026-11-27T00:51:00Z",
		"20261127005100.0Z":   "2026-11-27T00:51:00Z",
		"20261127015100+0100": "2026-11-27T00:51:00Z",
		"20261127005100.123Z": "2026-11-27T00:51:00.123Z",
		"garbage":             "0001-01-01T00:00:00Z",
		"":                    "0001-01-01T00:00:00Z",
	} {
		assert.Equal(t, want, parseGeneralizedTime(in).Format("2006-01-02T15:04:05.999Z07:00"), in)
	}
}

func TestADPasswordEncoding(t *testing.T) {
	assert.Equal(t, "\"\x00a\x00\xfc\x00\"\x00", adPassword("aü"))
}

func TestBackoff(t *testing.T) {
	now := time.Unix(0, 0)
	d := &dialer{servers: make([]server, 2), state: make([]urlState, 2), now: func() time.Time { return now }}
	assert.Equal(t, []int{0, 1}, d.order())
	d.report(0, errors.New("down"))
	assert.Equal(t, []int{1, 0}, d.order(), "a failed URL goes last while it backs off")
	now = now.Add(backoffMin + time.Millisecond)
	assert.Equal(t, []int{0, 1}, d.order(), "and is tried first again afterwards")
	d.report(0, errors.New("down"))
	now = now.Add(backoffMin + time.Millisecond)
	assert.Equal(t, []int{1, 0}, d.order(), "the back-off doubles while it keeps failing")
	for range 20 {
		d.report(0, errors.New("down"))
	}
	assert.Equal(t, now.Add(backoffMax), d.state[0].downUntil, "capped")
	d.report(0, nil)
	assert.Equal(t, []int{0, 1}, d.order(), "success resets")
}

// FuzzFilter: whatever a caller searches for, the compiled filter is valid
// LDAP filter syntax, and decompiling it gives the same text (every value
// was escaped exactly once).
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"huber", "*", "*)(|(uid=*", ")(uid=*", `\`, "a\x00b", "ü", "カス", `"a b" !c`, "h*b**r", `\2a`, "((", "**"} {
		f.Add(s, "x*y", "c%", "m@x.org", false)
	}
	plain := filterBackendF(f, false)
	prefix := filterBackendF(f, true)
	f.Fuzz(func(t *testing.T, search, login, customerID, email string, usePrefix bool) {
		q := backend.Query{Search: search, Login: login, CustomerID: customerID, Email: email}
		expr, _, err := backend.CheckQuery(q, 0)
		if err != nil {
			return
		}
		b := plain
		if usePrefix {
			b = prefix
		}
		crit, none := b.criteria(q, expr)
		if none {
			return
		}
		filter := and(append(b.baseFilter(), crit...))
		packet, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("filter %q does not compile: %v", filter, err)
		}
		back, err := ldap.DecompileFilter(packet)
		if err != nil {
			t.Fatalf("filter %q does not decompile: %v", filter, err)
		}
		if back != filter {
			t.Fatalf("filter %q decompiles to %q", filter, back)
		}
	})
}

func filterBackendF(f *testing.F, prefix bool) *Backend {
	cfg := OpenLDAP()
	cfg.URLs = []string{"ldap://127.0.0.1:1"}
	cfg.BaseDN = "dc=example,dc=com"
	cfg.CustomerIDAttribute = "o"
	cfg.CustomerIDsAttribute = "ou"
	cfg.MatchPrefix = prefix
	b, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzWordCandidates: whenever a search word matches a value by the shared
// rule (SearchFold on both sides), the value itself holds the literal
// pieces of the word's candidate filter, in order: the directory, which
// compares them literally (or more loosely), never drops a match.
func FuzzWordCandidates(f *testing.F) {
	for _, s := range [][2]string{{"Müller", "muller"}, {"Maria", "mária"}, {"C-1001", "c-1001"}, {"1\u03012", "12"},
		{"Dvořák", "dvorak"}, {"Straße", "strasse"}, {"ガス1", "カス1"}, {"x\u037ey", "x;y"}, {"a≠b", "a=b"}, {"①", "①"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, value, word string) {
		p := backend.NewPattern(word).Fold()
		if !p.Match(backend.SearchFold(value), false, false) {
			return
		}
		rest := value
		for _, piece := range wordCandidates(p) {
			i := strings.Index(rest, piece)
			if i < 0 {
				t.Fatalf("%q matches %q by SearchFold, but the value lacks the literal piece %q (pieces %q)", word, value, piece, wordCandidates(p))
			}
			rest = rest[i+len(piece):]
		}
	})
}
