package memorybackend

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

// FuzzSearch checks that any search either gives a *backend.ValidationError
// or exactly the users a direct evaluation of the parsed expression selects,
// in both matching modes.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"hans", "hans huber", "!hans", `"hans huber"`, "h*r", "*", "**", "%", "_x",
		"a\x00b", "ü", "İ", "+", "!\"a b\"", "acme-eu", "hans.huber@", `\`, "(", "\xff"} {
		f.Add(s)
	}
	backends := map[bool]*Backend{}
	var model []backend.CustomerUser
	for _, prefix := range []bool{false, true} {
		b := searchFixture(f, prefix)
		backends[prefix] = b
		if model == nil {
			var err error
			model, err = b.Search(context.Background(), backend.Query{IncludeInvalid: true, Limit: 1000})
			require.NoError(f, err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		expr, _, perr := backend.CheckQuery(backend.Query{Search: s}, 0)
		for prefix, b := range backends {
			got, err := b.Search(context.Background(), backend.Query{Search: s, IncludeInvalid: true})
			if perr != nil {
				require.ErrorIs(t, err, backend.ErrInvalidInput)
				continue
			}
			require.NoError(t, err)
			folded := expr.Fold()
			want := []string{}
			for _, u := range model {
				fields := []string{u.Login, u.FirstName, u.LastName, u.CustomerID}
				fields = append(fields, u.CustomerIDs...)
				fields = append(fields, u.Email, u.FirstName+" "+u.LastName)
				for i := range fields {
					fields[i] = backend.SearchFold(fields[i])
				}
				if folded.Match(fields, prefix) {
					want = append(want, u.Login)
				}
			}
			require.Equal(t, want, logins(got), "search %q prefix=%v", s, prefix)
		}
	})
}
