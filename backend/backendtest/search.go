package backendtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func (s *suite) searchCases() []testCase {
	return []testCase{
		{"Search/Words", s.testSearchWords},
		{"Search/Criteria", s.testSearchCriteria},
		{"Search/EmptyQueryListsValidUsersInOrder", s.testSearchEmpty},
		{"Search/Limit", s.testSearchLimit},
		{"Search/DefaultLimit", s.testSearchDefaultLimit},
		{"Search/Malformed", s.testSearchMalformed},
	}
}

// searchCase is one search with its expected logins, in result order, for
// substring and for prefix matching.
type searchCase struct {
	q                 backend.Query
	substring, prefix []string
}

func both(logins ...string) ([]string, []string) { return logins, logins }

func (s *suite) runSearches(t *testing.T, h Harness, cases []searchCase) {
	t.Helper()
	for _, c := range cases {
		want := c.substring
		if h.Caps.MatchPrefix {
			want = c.prefix
		}
		got, err := h.Backend.Search(ctx(t), c.q)
		require.NoError(t, err, "%+v", c.q)
		assert.Equal(t, nilIfEmpty(want), nilIfEmpty(logins(got)), "query %+v (prefix mode %v)", c.q, h.Caps.MatchPrefix)
		for _, u := range got {
			assertSource(t, h, u)
		}
	}
}

func words(search string, substring, prefix []string) searchCase {
	return searchCase{q: backend.Query{Search: search}, substring: substring, prefix: prefix}
}

func wordsBoth(search string, logins ...string) searchCase {
	return searchCase{q: backend.Query{Search: search}, substring: logins, prefix: logins}
}

func (s *suite) testSearchWords(t *testing.T) {
	h := s.open(t, fixture())
	all := validFixtureLogins()
	s.runSearches(t, h, []searchCase{
		wordsBoth("huber", "hhuber"),
		wordsBoth("hans huber", "hhuber"),
		wordsBoth("  hans   huber  ", "hhuber"),
		wordsBoth("huber hans", "hhuber"),
		wordsBoth("hans+huber", "hhuber"),
		wordsBoth("hans + huber", "hhuber"),
		wordsBoth("hans", "hans.meier", "hhuber"),
		wordsBoth("hans !huber", "hans.meier"),
		wordsBoth("hans !meier", "hhuber"),
		wordsBoth("!hans !huber mustermann", "mmuster"),
		wordsBoth("mustermann max", "mmuster"),
		wordsBoth(`"van der"`, "vdberg"),
		wordsBoth(`"der van"`),
		words(`der van`, []string{"vdberg"}, nil),
		words(`"der berg"`, []string{"vdberg"}, nil),
		wordsBoth(`!"van der"`, without(all, "vdberg")...),
		wordsBoth("hu*er", "hhuber"),
		wordsBoth("*uber", "hhuber"),
		wordsBoth("hub*", "hhuber"),
		wordsBoth("h*b*r", "hhuber"),
		wordsBoth("*", all...),
		wordsBoth("HUBER", "hhuber"),
		wordsBoth("HuBeR", "hhuber"),
		wordsBoth("müller", "jürgen"),
		wordsBoth("MÜLLER", "jürgen"),
		wordsBoth("jürgen", "jürgen"),
		wordsBoth("ヤマダ", "カス"),
		wordsBoth("カス", "カス"),
		wordsBoth("per%", "pct"),
		wordsBoth("per%c", "pct"),
		wordsBoth("per_"),
		wordsBoth("h_uber"),
		wordsBoth("hh%"),
		words("%", []string{"pct"}, nil),
		words("r%c", []string{"pct"}, nil),
		words("_", []string{"pct"}, nil),
		words("r_s", []string{"pct"}, nil),
		words(`\`, []string{"pct"}, nil),
		wordsBoth(`c%_\`, "pct"),
		wordsBoth("paren(", "meta"),
		wordsBoth("star)", "meta"),
		words("(", []string{"meta"}, nil),
		words(")", []string{"meta"}, nil),
		wordsBoth("schmidt"),
		{q: backend.Query{Search: "schmidt", IncludeInvalid: true}, substring: []string{"aschmidt"}, prefix: []string{"aschmidt"}},
		{q: backend.Query{Search: "temp", IncludeInvalid: true}, substring: []string{"ttemp"}, prefix: []string{"ttemp"}},
		wordsBoth("acme", "hans.meier", "hhuber"),
		wordsBoth("acme-eu", "hhuber"),
		words("example", all, nil),
		words("muster.example.net", []string{"mmuster"}, nil),
		wordsBoth("max@muster", "mmuster"),
		words("uber", []string{"hhuber"}, nil),
		wordsBoth("nomatch"),
		wordsBoth("hans nomatch"),
	})
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, l := range all {
		keep := true
		for _, d := range drop {
			if l == d {
				keep = false
			}
		}
		if keep {
			out = append(out, l)
		}
	}
	return out
}

func (s *suite) testSearchCriteria(t *testing.T) {
	h := s.open(t, fixture())
	q := func(q backend.Query, logins ...string) searchCase {
		return searchCase{q: q, substring: logins, prefix: logins}
	}
	s.runSearches(t, h, []searchCase{
		q(backend.Query{Login: "HHUBER"}, "hhuber"),
		q(backend.Query{Login: " hhuber "}, "hhuber"),
		q(backend.Query{Login: "hh*"}, "hhuber"),
		q(backend.Query{Login: "*muster"}, "mmuster"),
		q(backend.Query{Login: "h*r"}, "hans.meier", "hhuber"),
		q(backend.Query{Login: "h*uber"}, "hhuber"),
		q(backend.Query{Login: "*"}, validFixtureLogins()...),
		q(backend.Query{Login: "hhube"}),
		q(backend.Query{Login: "huber"}),
		q(backend.Query{Login: "hans.meier"}, "hans.meier"),
		q(backend.Query{Login: "hans_meier"}),
		q(backend.Query{Login: "aschmidt"}),
		q(backend.Query{Login: "aschmidt", IncludeInvalid: true}, "aschmidt"),

		q(backend.Query{CustomerID: "acme"}, "hans.meier", "hhuber"),
		q(backend.Query{CustomerID: "ACME-EU"}, "hhuber"),
		q(backend.Query{CustomerID: "AC*"}, "hans.meier", "hhuber"),
		q(backend.Query{CustomerID: "*-eu"}, "hhuber"),
		q(backend.Query{CustomerID: "acm"}),
		q(backend.Query{CustomerID: `c%_\`}, "pct"),
		q(backend.Query{CustomerID: "c%*"}, "pct"),
		q(backend.Query{CustomerID: "c__*"}),
		q(backend.Query{CustomerID: "müller-ag"}, "jürgen"),
		q(backend.Query{CustomerID: "SCHMIDT"}),
		q(backend.Query{CustomerID: "SCHMIDT", IncludeInvalid: true}, "aschmidt"),

		q(backend.Query{Email: "HANS.HUBER@acme.example.org"}, "hhuber"),
		q(backend.Query{Email: " hans.huber@acme.example.org "}, "hhuber"),
		q(backend.Query{Email: "huber@acme.example.org"}),
		q(backend.Query{Email: "hans.huber@acme"}),
		q(backend.Query{Email: "*@acme.example.org"}),
		q(backend.Query{Email: "hans.huber@acme.example.or_"}),
		q(backend.Query{Email: "hans.huber@acme.example.or%"}),
		q(backend.Query{Email: "anna@schmidt.example.com"}),
		q(backend.Query{Email: "anna@schmidt.example.com", IncludeInvalid: true}, "aschmidt"),

		q(backend.Query{Search: "hans", CustomerID: "ACME", Email: "hmeier@acme.example.org"}, "hans.meier"),
		q(backend.Query{Search: "hans", Login: "hhuber"}, "hhuber"),
		q(backend.Query{Search: "max", CustomerID: "ACME"}),
		q(backend.Query{Login: "hhuber", Email: "max@muster.example.net"}),
	})
}

func (s *suite) testSearchEmpty(t *testing.T) {
	h := s.open(t, fixture())
	got, err := h.Backend.Search(ctx(t), backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, validFixtureLogins(), logins(got))
	for _, in := range []string{"   ", "+", " + + "} {
		got, err = h.Backend.Search(ctx(t), backend.Query{Search: in})
		require.NoError(t, err, "%q", in)
		assert.Equal(t, validFixtureLogins(), logins(got), "%q", in)
	}
	got, err = h.Backend.Search(ctx(t), backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	assert.Len(t, got, len(fixture()))
	for i := 1; i < len(got); i++ {
		assert.Less(t, backend.LoginKey(got[i-1].Login), backend.LoginKey(got[i].Login), "ordered by lower-cased login")
	}
	// Search results carry the whole record.
	for _, u := range got {
		if u.Login == "hhuber" {
			assertSameUser(t, seedUser("hhuber"), u)
		}
	}
}

func (s *suite) testSearchLimit(t *testing.T) {
	h := s.open(t, fixture())
	all := validFixtureLogins()
	got, err := h.Backend.Search(ctx(t), backend.Query{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, all[:2], logins(got), "the first two in login order")
	got, err = h.Backend.Search(ctx(t), backend.Query{Search: "hans", Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"hans.meier"}, logins(got))
	got, err = h.Backend.Search(ctx(t), backend.Query{Search: "example", Limit: 3, IncludeInvalid: true})
	require.NoError(t, err)
	if !h.Caps.MatchPrefix {
		assert.Equal(t, []string{"aschmidt", "hans.meier", "hhuber"}, logins(got))
	}
	got, err = h.Backend.Search(ctx(t), backend.Query{Limit: 1000})
	require.NoError(t, err)
	assert.Equal(t, all, logins(got))
	_, err = h.Backend.Search(ctx(t), backend.Query{Limit: -1})
	requireValidation(t, err)
}

func (s *suite) testSearchDefaultLimit(t *testing.T) {
	probe := s.open(t, nil)
	limit := probe.Caps.DefaultLimit
	if limit == 0 {
		limit = backend.DefaultLimit
	}
	var seed []Seed
	for i := 0; i < limit+5; i++ {
		u := newUser(fmt.Sprintf("bulk%04d", i))
		seed = append(seed, Seed{User: u})
	}
	h := s.open(t, seed)
	got, err := h.Backend.Search(ctx(t), backend.Query{})
	require.NoError(t, err)
	require.Len(t, got, limit, "Limit 0 means the backend's default limit")
	assert.Equal(t, "bulk0000", got[0].Login)
	assert.Equal(t, fmt.Sprintf("bulk%04d", limit-1), got[limit-1].Login)
	got, err = h.Backend.Search(ctx(t), backend.Query{Limit: limit + 100})
	require.NoError(t, err)
	assert.Len(t, got, limit+5, "an explicit limit above the default is honoured")
}

func (s *suite) testSearchMalformed(t *testing.T) {
	h := s.open(t, fixture())
	for _, in := range []string{`"unbalanced`, `hans "huber`, `!`, `hans !`, `! hans`, `""`, `!""`,
		strings.Repeat("w ", backend.MaxSearchWords+1), strings.Repeat("x", backend.MaxQueryBytes+1), "bad\xffutf8"} {
		_, err := h.Backend.Search(ctx(t), backend.Query{Search: in})
		ve := requireValidation(t, err, "%.40q", in)
		assert.Equal(t, backend.FieldSearch, ve.Field)
		if len(in) > 3 {
			assert.NotContains(t, err.Error(), in, "the error does not quote the input")
		}
	}
	for _, q := range []backend.Query{
		{Login: "bad\xff"}, {Email: "bad\xff"}, {CustomerID: "bad\xff"},
		{Login: strings.Repeat("l", backend.MaxQueryBytes+1)},
	} {
		_, err := h.Backend.Search(ctx(t), q)
		requireValidation(t, err)
	}
}
