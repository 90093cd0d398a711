package memorybackend

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func searchFixture(t testing.TB, prefix bool) *Backend {
	hans := person("hhuber", "Hans", "Huber", "hans.huber@example.com", "ACME")
	hans.CustomerIDs = []string{"Initech"}
	anna := person("Amaier", "Anna", "Maier", "anna@example.org", "acme")
	otto := person("otto", "Otto", "Hubertus", "otto@example.com", "Globex")
	otto.Valid = backend.Invalid
	pct := person("p%_x", "Per", "Cent", "pct@example.com", "100%_off")
	return newBackend(t, Config{MatchPrefix: prefix, Users: []User{{CustomerUser: hans}, {CustomerUser: anna}, {CustomerUser: otto}, {CustomerUser: pct}}})
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		q         backend.Query
		substring []string
		prefix    []string
	}{
		{"empty lists valid users", backend.Query{}, []string{"Amaier", "hhuber", "p%_x"}, nil},
		{"include invalid", backend.Query{IncludeInvalid: true}, []string{"Amaier", "hhuber", "otto", "p%_x"}, nil},
		{"one word", backend.Query{Search: "HUBER", IncludeInvalid: true}, []string{"hhuber", "otto"}, []string{"hhuber", "otto"}},
		{"inner substring", backend.Query{Search: "uber"}, []string{"hhuber"}, []string{}},
		{"two words across fields", backend.Query{Search: "hans huber"}, []string{"hhuber"}, nil},
		{"plus", backend.Query{Search: "hans+huber"}, []string{"hhuber"}, nil},
		{"negation", backend.Query{Search: "example !hans", IncludeInvalid: true}, []string{"Amaier", "otto", "p%_x"}, []string{}},
		{"negation of a prefix", backend.Query{Search: "!hu", IncludeInvalid: true}, []string{"Amaier", "p%_x"}, []string{"Amaier", "p%_x"}},
		{"phrase", backend.Query{Search: `"hans.huber@"`}, []string{"hhuber"}, []string{"hhuber"}},
		{"wildcard in the middle", backend.Query{Search: "h*r"}, []string{"hhuber"}, []string{"hhuber"}},
		{"wildcard does not span fields", backend.Query{Search: "hans*maier"}, []string{}, nil},
		{"leading wildcard", backend.Query{Search: "*ber"}, []string{"hhuber"}, []string{"hhuber"}},
		{"only a wildcard", backend.Query{Search: "*"}, []string{"Amaier", "hhuber", "p%_x"}, nil},
		{"percent is literal", backend.Query{Search: "%"}, []string{"p%_x"}, []string{}},
		{"underscore is literal", backend.Query{Search: "_x"}, []string{"p%_x"}, []string{}},
		{"further customer ID is searched", backend.Query{Search: "initech"}, []string{"hhuber"}, []string{"hhuber"}},
		{"NUL matches nothing", backend.Query{Search: "hans\x00huber"}, []string{}, nil},
		{"negated NUL excludes nothing", backend.Query{Search: "!a\x00b"}, []string{"Amaier", "hhuber", "p%_x"}, nil},
		{"login exact", backend.Query{Login: "AMAIER"}, []string{"Amaier"}, nil},
		{"login not a substring", backend.Query{Login: "maier"}, []string{}, nil},
		{"login pattern", backend.Query{Login: "*MAI*"}, []string{"Amaier"}, nil},
		{"customer ID exact, any case", backend.Query{CustomerID: "ACME"}, []string{"Amaier", "hhuber"}, nil},
		{"customer ID further", backend.Query{CustomerID: "initech"}, []string{"hhuber"}, nil},
		{"customer ID pattern", backend.Query{CustomerID: "glo*", IncludeInvalid: true}, []string{"otto"}, nil},
		{"customer ID percent literal", backend.Query{CustomerID: "100%_OFF"}, []string{"p%_x"}, nil},
		{"customer ID percent is no wildcard", backend.Query{CustomerID: "100%"}, []string{}, nil},
		{"email exact", backend.Query{Email: "HANS.HUBER@example.com"}, []string{"hhuber"}, nil},
		{"email suffix finds nothing", backend.Query{Email: "huber@example.com"}, []string{}, nil},
		{"email star is literal", backend.Query{Email: "*@example.com"}, []string{}, nil},
		{"email of invalid user", backend.Query{Email: "otto@example.com"}, []string{}, nil},
		{"email of invalid user included", backend.Query{Email: "otto@example.com", IncludeInvalid: true}, []string{"otto"}, nil},
		{"criteria are ANDed", backend.Query{CustomerID: "acme", Search: "anna"}, []string{"Amaier"}, nil},
		{"limit", backend.Query{Limit: 2}, []string{"Amaier", "hhuber"}, nil},
	} {
		for _, prefix := range []bool{false, true} {
			want := tc.substring
			if prefix && tc.prefix != nil {
				want = tc.prefix
			}
			t.Run(fmt.Sprintf("%s/prefix=%v", tc.name, prefix), func(t *testing.T) {
				got, err := searchFixture(t, prefix).Search(ctx, tc.q)
				require.NoError(t, err)
				assert.Equal(t, want, logins(got))
			})
		}
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	b := searchFixture(t, false)
	for _, q := range []backend.Query{
		{Search: `"unbalanced`},
		{Search: "!"},
		{Search: strings.Repeat("w ", 33)},
		{Search: strings.Repeat("x", 1025)},
		{Login: "\xff"},
		{Email: strings.Repeat("e", 1025)},
		{Limit: -1},
	} {
		_, err := b.Search(context.Background(), q)
		require.ErrorIs(t, err, backend.ErrInvalidInput, "%+v", q)
		assert.Contains(t, err.Error(), "customeruser memory: search: ")
	}
}

// TestSearchMatchesModel runs random searches against random data after
// random writes and compares each result with a direct evaluation of the
// query (backend.SearchExpr.Match over the search fields), in both modes.
func TestSearchMatchesModel(t *testing.T) {
	ctx := context.Background()
	syll := []string{"an", "na", "hu", "ber", "ma", "ier", "o", "x", "%", "_", "ä", "Ö"}
	word := func(r *rand.Rand) string {
		var sb strings.Builder
		for range 1 + r.IntN(3) {
			sb.WriteString(syll[r.IntN(len(syll))])
		}
		return sb.String()
	}
	for _, mode := range []struct{ prefix, ngram bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		prefix := mode.prefix
		t.Run(fmt.Sprintf("prefix=%v/ngram=%v", prefix, mode.ngram), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(fmt.Sprint(prefix)))))
			model := map[string]backend.CustomerUser{}
			randomUser := func(login string) backend.CustomerUser {
				u := person(login, word(r), word(r), fmt.Sprintf("%s%d@example.com", word(r), r.IntN(1e6)), strings.ToUpper(word(r)))
				if r.IntN(3) == 0 {
					u.CustomerIDs = []string{word(r)}
				}
				if r.IntN(4) == 0 {
					u.Valid = backend.Invalid
				}
				return u
			}
			// 1,200 users, more than one chunk of every index holds: the
			// first 900 loaded in bulk by New, the others added one by one.
			login := func(i int) string {
				l := fmt.Sprintf("%s%d", word(r), i)
				if i%4 == 0 {
					l = strings.ToUpper(l)
				}
				return l
			}
			var initial []User
			for i := range 900 {
				initial = append(initial, User{CustomerUser: randomUser(login(i))})
			}
			b := newBackend(t, Config{MatchPrefix: prefix, NGramIndex: mode.ngram, Users: initial})
			if mode.ngram {
				// Weigh small candidate sets against a scan too (sample,
				// bounded scan, fallback), which 1,200 users otherwise never
				// reach.
				b.s.fewCandidates = 8
			}
			for _, u := range initial {
				got, err := b.Get(ctx, u.Login)
				require.NoError(t, err)
				model[backend.LoginKey(got.Login)] = got
			}
			for i := 900; i < 1200; i++ {
				u, err := b.Add(ctx, randomUser(login(i)), "")
				require.NoError(t, err)
				model[backend.LoginKey(u.Login)] = u
			}
			// Random updates, half of them renames.
			keys := make([]string, 0, len(model))
			for k := range model {
				keys = append(keys, k)
			}
			for i := range 400 {
				if i == 200 && b.s.ngram != nil {
					b.mu.Lock()
					b.s.ngram.renumber() // what many updates lead to
					b.mu.Unlock()
					checkInvariants(t, b)
				}
				old := keys[r.IntN(len(keys))]
				if _, ok := model[old]; !ok {
					continue
				}
				login := model[old].Login
				if i%2 == 0 {
					login = fmt.Sprintf("ren%s%d", word(r), i)
				}
				u, err := b.Update(ctx, old, randomUser(login))
				require.NoError(t, err)
				delete(model, old)
				model[backend.LoginKey(u.Login)] = u
				keys = append(keys, backend.LoginKey(u.Login))
			}
			checkInvariants(t, b)

			// The model's users with their keys and folded fields, computed once.
			type modelUser struct {
				u        backend.CustomerUser
				key      string
				custKeys []string
				fields   []string
			}
			var users []modelUser
			for _, u := range model {
				mu := modelUser{u: u, key: backend.IdentityKey(u.Login)}
				for _, id := range u.AllCustomerIDs() {
					mu.custKeys = append(mu.custKeys, backend.IdentityKey(id))
				}
				mu.fields = []string{u.Login, u.FirstName, u.LastName, u.CustomerID}
				mu.fields = append(mu.fields, u.CustomerIDs...)
				mu.fields = append(mu.fields, u.Email, u.FirstName+" "+u.LastName)
				for j := range mu.fields {
					mu.fields[j] = backend.SearchFold(mu.fields[j])
				}
				users = append(users, mu)
			}

			for i := range 300 {
				var q backend.Query
				var terms []string
				for range 1 + r.IntN(2) {
					w := word(r)
					switch r.IntN(6) {
					case 0:
						w = "!" + w
					case 1:
						rs := []rune(w)
						w = string(rs[:len(rs)/2]) + "*" + string(rs[len(rs)/2:])
					case 2:
						w = "*" + w
					}
					terms = append(terms, w)
				}
				q.Search = strings.Join(terms, " ")
				q.IncludeInvalid = i%2 == 0
				if i%5 == 0 {
					q.CustomerID = word(r) + "*"
				}
				q.Limit = []int{0, 3, 1000}[i%3]
				if i%7 == 3 {
					q.After = strings.ToUpper(keys[r.IntN(len(keys))]) // a keyset cursor, in another case
				}
				got, err := b.Search(ctx, q)
				require.NoError(t, err)

				expr, limit, err := backend.CheckQuery(q, 250)
				require.NoError(t, err)
				expr = expr.Fold()
				var want []backend.CustomerUser
				after := backend.IdentityKey(q.After)
				for _, mu := range users {
					u := mu.u
					if !q.IncludeInvalid && u.Valid != backend.Valid {
						continue
					}
					if after != "" && mu.key <= after { // backend.AfterLogin
						continue
					}
					if q.CustomerID != "" {
						p := backend.NewPattern(backend.IdentityKey(q.CustomerID))
						hit := false
						for _, k := range mu.custKeys {
							hit = hit || p.Match(k, true, true)
						}
						if !hit {
							continue
						}
					}
					if expr.Match(mu.fields, prefix) {
						want = append(want, u)
					}
				}
				backend.SortByLogin(want)
				want = want[:min(len(want), limit)]
				require.Equal(t, logins(want), logins(got), "query %+v", q)
			}
		})
	}
}
