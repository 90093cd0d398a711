package sqlbackend

import (
	"context"

	"github.com/helpdeskkit/customeruser/backend"
)

// SearchSQL exposes the generated search query to the tests (EXPLAIN, and
// the raw-SQL floor of the benchmarks).
func (b *Backend) SearchSQL(ctx context.Context, q backend.Query) (string, []any, error) {
	expr, limit, err := backend.CheckQuery(q, b.cfg.DefaultLimit)
	if err != nil {
		return "", nil, err
	}
	query, args, err := b.searchSQL(ctx, q, expr, limit, false)
	if err == nil && query != "" && b.sortIdx != "" && !b.cfg.MatchPrefix && b.mariadb && b.probing(q) {
		query = b.probeSQL(query, limit)
	}
	return query, args, err
}

// GetSQL exposes the query of Get.
func (b *Backend) GetSQL() string { return b.selectBy(b.login.exact, false) }

// ChooseCollation exposes the collation choice on a list of server names.
func ChooseIdentityCollation(names []string) string {
	return chooseCollation(names, identityCollations, "utf8mb4_unicode_ci")
}

// ChooseSearchCollation exposes the search collation choice.
func ChooseSearchCollation(names []string) string {
	return chooseCollation(names, searchCollations, "")
}

// DupKeyIndex exposes dupKeyIndex.
var DupKeyIndex = dupKeyIndex

// LikePattern exposes likePattern.
var LikePattern = likePattern

// PlainGetSQL is the floor of Get: the user's columns by the login's index,
// without its further customer IDs.
func (b *Backend) PlainGetSQL() string {
	return "SELECT " + b.userList + " FROM " + b.table + " t WHERE " + b.login.exact
}

// QueryTimeSearchSQL is the search query in the order computed at query
// time (the former ordering, a filesort of every match).
func (b *Backend) QueryTimeSearchSQL(ctx context.Context, q backend.Query) (string, []any, error) {
	expr, limit, err := backend.CheckQuery(q, b.cfg.DefaultLimit)
	if err != nil {
		return "", nil, err
	}
	return b.searchSQL(ctx, q, expr, limit, true)
}

// UsesNgram reports whether a search for s would be answered from the
// trigram index.
func UsesNgram(ctx context.Context, b *Backend, s string) bool {
	expr, err := backend.ParseSearch(s)
	if err != nil || !b.ngram || !b.probing(backend.Query{Search: s}) {
		return false
	}
	_, _, ok, err := b.ngramPlan(ctx, expr)
	return ok && err == nil
}

// SetNgramDense sets the least number of trigram candidates above which a
// search reads in login order first, and returns a func that restores it.
func SetNgramDense(n int) (restore func()) {
	old := ngramDenseMin
	ngramDenseMin = n
	return func() { ngramDenseMin = old }
}

// ForgetStale drops the stale rows the backend remembers (staleMemoFor), as
// if a second had passed since the last search.
func ForgetStale(b *Backend) { b.forgetStale() }
