package sqlbackend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/helpdeskkit/customeruser/backend"
)

// likeEscaper escapes the LIKE metacharacters of user input, so that '%',
// '_' and '\' match themselves (the ESCAPE character is '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likePattern turns a pattern into a LIKE pattern: its '*' wildcards become
// '%', everything else is literal. anchorStart and anchorEnd as in
// backend.Pattern.Match.
func likePattern(p backend.Pattern, anchorStart, anchorEnd bool) string {
	var sb strings.Builder
	if !anchorStart {
		sb.WriteByte('%')
	}
	for i, part := range p.Parts {
		if i > 0 {
			sb.WriteByte('%')
		}
		sb.WriteString(likeEscaper.Replace(part))
	}
	if !anchorEnd {
		sb.WriteByte('%')
	}
	return sb.String()
}

// where is a WHERE clause under construction: ANDed conditions and their
// arguments. User input only ever goes into args.
type where struct {
	conds []string
	args  []any
	// further holds, per term of the search expression, the logins whose
	// further customer IDs match it (compile's pre-query).
	further []furtherMatch
}

// furtherMatch is what the further-ID pre-query of one term found: the
// logins, complete unless there were more than maxFurtherIDUsers (then
// the query says EXISTS).
type furtherMatch struct {
	logins   []any
	complete bool
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// maxFurtherIDUsers caps the logins a further-customer-ID match is inlined
// as ("login IN (...)", index-friendly); beyond it the query uses EXISTS.
const maxFurtherIDUsers = 500

// furtherIDUsers returns the logins whose further customer IDs match pred
// (on alias c) with arg; ok is false when there are more than
// maxFurtherIDUsers of them. For a search word pat (nil: not a word) it
// is answered from the further IDs' trigram index when it can.
func (b *Backend) furtherIDUsers(ctx context.Context, pat *backend.Pattern, pred string, args []any) (logins []any, ok bool, err error) {
	if pat != nil && b.idsNgram {
		found, ok, err := b.furtherByNgram(ctx, *pat, pred, args)
		if err != nil {
			return nil, false, err
		}
		if ok {
			for _, l := range found {
				logins = append(logins, l)
			}
			return logins[:min(len(logins), maxFurtherIDUsers+1)], len(logins) <= maxFurtherIDUsers, nil
		}
	}
	rows, err := b.reader(ctx).QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT c.user_id FROM %s c WHERE %s LIMIT %d",
		b.idsTable, pred, maxFurtherIDUsers+1), args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, false, err
		}
		logins = append(logins, l)
	}
	return logins, len(logins) <= maxFurtherIDUsers, rows.Err()
}

// furtherIDCond gives the condition "one of the user's further customer IDs
// matches pred with arg". The matching logins are looked up first and put
// into the query as "login IN (...)", so that the whole OR stays answerable
// from indexes (MariaDB cannot merge an EXISTS into an index_merge); "" when
// no user matches.
func (b *Backend) furtherIDCond(ctx context.Context, w *where, pred string, arg any) (string, error) {
	return b.furtherIDCondArgs(ctx, w, pred, []any{arg})
}

func (b *Backend) furtherIDCondArgs(ctx context.Context, w *where, pred string, args []any) (string, error) {
	cond, _, err := b.furtherIDCondMatch(ctx, w, nil, pred, args)
	return cond, err
}

// furtherIDCondMatch is furtherIDCondArgs that also returns the logins it
// found.
func (b *Backend) furtherIDCondMatch(ctx context.Context, w *where, pat *backend.Pattern, pred string, args []any) (string, furtherMatch, error) {
	logins, ok, err := b.furtherIDUsers(ctx, pat, pred, args)
	if err != nil {
		return "", furtherMatch{}, err
	}
	m := furtherMatch{logins: logins, complete: ok}
	if !ok {
		w.args = append(w.args, args...)
		return fmt.Sprintf("EXISTS (SELECT 1 FROM %s c WHERE c.user_id = t.%s AND %s)", b.idsTable, quote(b.cfg.cols[FieldLogin]), pred), m, nil
	}
	if len(logins) == 0 {
		return "", m, nil
	}
	w.args = append(w.args, logins...)
	return fmt.Sprintf("t.%s IN (%s)", quote(b.cfg.cols[FieldLogin]), placeholders(len(logins))), m, nil
}

// eqCond gives the condition "col equals arg" of a lookup for a search:
// the indexed predicate, or with the wide one too when the collation does
// not find every spelling of an identity (a scan).
func eqCond(w *where, l lookup, arg any) string {
	wide := l.readWide()
	if wide == "" {
		w.args = append(w.args, arg)
		return l.exact
	}
	w.args = append(w.args, arg, arg)
	return "(" + l.exact + " OR " + wide + ")"
}

// compile turns a query into a WHERE clause that selects a superset of the
// users the query asks for; match decides on each row. none is true when
// the query cannot match anything (a negated "*"), so no SQL needs to run.
// Excluded words are left to match: a collation that matches more than
// search folding would exclude too much.
func (b *Backend) compile(ctx context.Context, q backend.Query, expr backend.SearchExpr) (w where, none bool, err error) {
	if !q.IncludeInvalid {
		w.add(b.validOnly)
	}
	w.further = make([]furtherMatch, len(expr.Terms))
	for i, t := range expr.Terms {
		w.further[i].complete = true
		if t.Pattern.MatchAll() {
			if t.Negate {
				return w, true, nil
			}
			continue
		}
		if t.Negate {
			continue
		}
		pat := likePattern(t.Pattern, b.cfg.MatchPrefix, false)
		parts := make([]string, 0, len(b.searchLike)+2)
		for _, like := range b.searchLike {
			parts = append(parts, like)
			w.args = append(w.args, pat)
		}
		// The full name "first last": a phrase may match it, and so may a
		// pattern whose wildcard spans the two names.
		if strings.ContainsFunc(t.Pattern.String(), unicode.IsSpace) || t.Pattern.HasWildcard() {
			parts = append(parts, b.fullLike)
			w.args = append(w.args, pat)
		}
		if b.searchIDs {
			cond, m, err := b.furtherIDCondMatch(ctx, &w, &t.Pattern, b.idsCustLike, []any{pat})
			if err != nil {
				return w, false, err
			}
			w.further[i] = m
			if cond != "" {
				parts = append(parts, cond)
			}
		}
		w.conds = append(w.conds, "("+strings.Join(parts, " OR ")+")")
	}
	if login := strings.TrimSpace(q.Login); login != "" {
		if p := backend.NewPattern(login); p.HasWildcard() {
			if !p.MatchAll() {
				w.add(b.loginLike, likePattern(p, true, true))
			}
		} else {
			login = norm.NFC.String(login)
			w.conds = append(w.conds, eqCond(&w, b.login, login))
		}
	}
	if id := strings.TrimSpace(q.CustomerID); id != "" {
		p := backend.NewPattern(id)
		if !p.MatchAll() {
			var own string
			var further lookup
			var arg any
			if p.HasWildcard() {
				arg = likePattern(p, true, true)
				w.args = append(w.args, arg)
				own, further = b.custLike, lookup{exact: b.idsCustLike}
			} else {
				arg = norm.NFC.String(id)
				own, further = eqCond(&w, b.cust, arg), b.idsCust
			}
			cond := own
			if b.ids {
				pred := further.exact
				if wide := further.readWide(); wide != "" {
					pred = "(" + further.exact + " OR " + wide + ")"
				}
				fc, err := b.furtherIDCondN(ctx, &w, pred, arg, strings.Count(pred, "?"))
				if err != nil {
					return w, false, err
				}
				if fc != "" {
					cond = "(" + own + " OR " + fc + ")"
				}
			}
			w.conds = append(w.conds, cond)
		}
	}
	if email := strings.TrimSpace(q.Email); email != "" {
		w.conds = append(w.conds, eqCond(&w, b.email, norm.NFC.String(email)))
	}
	return w, false, nil
}

// furtherIDCondN is furtherIDCond for a predicate with n placeholders, all
// taking arg.
func (b *Backend) furtherIDCondN(ctx context.Context, w *where, pred string, arg any, n int) (string, error) {
	if n <= 1 {
		return b.furtherIDCond(ctx, w, pred, arg)
	}
	args := make([]any, n)
	for i := range args {
		args[i] = arg
	}
	return b.furtherIDCondArgs(ctx, w, pred, args)
}

// matcher re-checks in Go what the SQL of a query selected: the identity
// criteria by backend.IdentityKey, the search words by backend.SearchFold.
type matcher struct {
	b       *Backend
	expr    backend.SearchExpr // folded
	login   string             // identity key, or "" (see loginPat)
	loginP  *backend.Pattern   // a Login with wildcards, folded
	cust    string
	custP   *backend.Pattern
	email   string
	after   string
	hasExpr bool
}

func (b *Backend) newMatcher(q backend.Query, expr backend.SearchExpr) *matcher {
	m := &matcher{b: b, expr: expr.Fold(), hasExpr: !expr.Empty(), after: q.After}
	if login := strings.TrimSpace(q.Login); login != "" {
		if p := backend.NewPattern(login); p.HasWildcard() {
			fp := foldPattern(p)
			m.loginP = &fp
		} else {
			m.login = backend.IdentityKey(login)
		}
	}
	if id := strings.TrimSpace(q.CustomerID); id != "" {
		if p := backend.NewPattern(id); p.HasWildcard() {
			fp := foldPattern(p)
			m.custP = &fp
		} else {
			m.cust = backend.IdentityKey(id)
		}
	}
	if email := strings.TrimSpace(q.Email); email != "" {
		m.email = backend.IdentityKey(email)
	}
	return m
}

// foldPattern folds the parts of a Login or CustomerID pattern by the
// identity rule (case, normalisation), keeping their white space.
func foldPattern(p backend.Pattern) backend.Pattern {
	parts := make([]string, len(p.Parts))
	for i, s := range p.Parts {
		parts[i] = identityFold(s)
	}
	return backend.Pattern{Parts: parts}
}

// identityFold is backend.IdentityKey without the trimming.
func identityFold(s string) string {
	core := strings.TrimSpace(s)
	if core == "" {
		return s
	}
	i := strings.Index(s, core)
	return s[:i] + backend.IdentityKey(core) + s[i+len(core):]
}

func (m *matcher) match(u backend.CustomerUser) bool {
	if m.after != "" && !backend.AfterLogin(u.Login, m.after) {
		return false
	}
	if m.login != "" && backend.IdentityKey(u.Login) != m.login {
		return false
	}
	if m.loginP != nil && !m.loginP.Match(identityFold(u.Login), true, true) {
		return false
	}
	if m.email != "" && backend.IdentityKey(u.Email) != m.email {
		return false
	}
	if m.cust != "" || m.custP != nil {
		hit := false
		for _, id := range u.AllCustomerIDs() {
			if m.cust != "" && backend.IdentityKey(id) == m.cust || m.custP != nil && m.custP.Match(identityFold(id), true, true) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	if m.hasExpr {
		return m.expr.Match(m.b.searchValues(u), m.b.cfg.MatchPrefix)
	}
	return true
}

// searchValues gives the values of u's search fields folded by
// backend.SearchFold, with the further customer IDs when the customer ID is
// a search field, and the full name "first last" (a phrase may match it).
func (b *Backend) searchValues(u backend.CustomerUser) []string {
	vals := make([]string, 0, len(b.cfg.SearchFields)+len(u.CustomerIDs)+1)
	text := textFields(u)
	for _, f := range b.cfg.SearchFields {
		v, ok := text[f]
		if !ok {
			v = u.Attributes[f]
		}
		if f == FieldCustomerID {
			for _, id := range u.CustomerIDs {
				vals = append(vals, backend.SearchFold(id))
			}
		}
		vals = append(vals, backend.SearchFold(v))
	}
	return append(vals, backend.SearchFold(u.FirstName+" "+u.LastName))
}

// searchSQL generates the query of a search: the rows of q after the
// keyset position, in the order of the sort index (b.sorted and not
// atQueryTime) or of the lower-cased login computed at query time, at most
// limit; "" when nothing can match. See orderKeys.
func (b *Backend) searchSQL(ctx context.Context, q backend.Query, expr backend.SearchExpr, limit int, atQueryTime bool) (string, []any, error) {
	w, none, err := b.compile(ctx, q, expr)
	if err != nil || none {
		return "", nil, err
	}
	key, tie := b.orderKeys(atQueryTime)
	if q.After != "" {
		if key == b.isort {
			// The stored identity key: the contract's order; rows of the
			// cursor's own key are re-checked by match (the tie by the raw
			// login). Stale rows (NULL) are kept, so that they show.
			w.add("("+key+" IS NULL OR "+key+" >= ?)", backend.IdentityKey(q.After))
		} else {
			// The identity key of the cursor against the lower-cased
			// login: the same order but for a few characters that the
			// server lower-cases differently from Unicode case folding;
			// match re-checks.
			w.add(key+" > ?", backend.IdentityKey(q.After))
		}
	}
	return fmt.Sprintf("SELECT %s, %s, %s FROM %s t%s ORDER BY %s, %s LIMIT %d", b.selectList, key, tie,
		b.table, w.sql(), key, tie, limit), w.args, nil
}

// orderKeys returns the two expressions a search orders by: the stored
// sort key and the login (the sort index), or, without the sort key
// columns or when atQueryTime, the lower-cased login and the login in
// code-point order, computed for every match (a filesort).
func (b *Backend) orderKeys(atQueryTime bool) (key, tie string) {
	if b.sortIdx != "" && !atQueryTime {
		return b.isort, b.ilogin
	}
	return b.sortKey, b.loginBin
}

// errProbeShort ends a bounded probe (see probeRows) that found less than
// a page: the matches are few or far apart in login order, and only a
// scan of every row tells.
var errProbeShort = errors.New("probe found less than a page")

// probeRows bounds the rows a substring search reads in the order of the
// sort index before it gives up (LIMIT ... ROWS EXAMINED): a word that
// many users have fills a page early; a rare word (or none) would read the
// whole index row by row, slower than the scan the order computed at query
// time does, which then runs.
func probeRows(limit int) int { return min(max(100*limit, 5000), 50000) }

// probing reports whether a search reads in index order only with the
// bound of probeRows: a substring search (no index serves its words) of
// words only (a Login, Email or CustomerID criterion is answered from
// their indexes, and the optimizer then sorts what they select, which a
// bound would cut), on MariaDB. On MySQL, which has no such bound, such a
// search orders at query time.
func (b *Backend) probing(q backend.Query) bool {
	return !b.cfg.MatchPrefix && strings.TrimSpace(q.Login) == "" && strings.TrimSpace(q.Email) == "" &&
		strings.TrimSpace(q.CustomerID) == ""
}

// errStale ends a search in index order that met a row without a current
// sort key; Search runs it again in the order computed at query time.
var errStale = errors.New("stale sort key")

// searchOn is Search (replica.go) on the database b.reader(ctx) picks.
// Search returns the users matching q in login order (backend.CompareLogins),
// after q.After, capped by q.Limit (or Config.DefaultLimit). Each search
// word becomes one "(col1 LIKE ? OR col2 LIKE ? ...)" group with the word as
// a parameter, its '%', '_' and '\' escaped, on the columns' accent- and
// case-insensitive forms; in prefix mode the pattern has no leading '%', so
// MariaDB can use the indexes. Every row is then re-checked in Go (search
// folding, the identity rule for Login, Email and CustomerID, the cursor),
// and further rows are read until the limit is reached or none are left.
func (b *Backend) searchOn(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	const op = "search"
	expr, limit, err := backend.CheckQuery(q, b.cfg.DefaultLimit)
	if err != nil {
		return nil, backend.OpError(b.cfg.Name, op, err)
	}
	if strings.TrimSpace(q.Login) != "" && !strings.Contains(q.Login, "*") {
		if _, err := backend.NormalizeLogin(q.Login); err != nil {
			return nil, backend.OpError(b.cfg.Name, op, err)
		}
	}
	// A substring search the trigram index narrows: few candidates are
	// paged at once; many (a frequent word) only when the read in login
	// order comes up short.
	var hits *ngramHits
	if b.ngram && b.probing(q) {
		if hits, err = b.ngramLookup(ctx, q, expr); err != nil {
			return nil, b.opError(ctx, op, err)
		}
		if hits != nil && len(hits.ids) <= ngramDense(limit) {
			users, err := b.pageNgram(ctx, q, expr, limit, hits)
			if err != nil {
				return nil, b.opError(ctx, op, err)
			}
			return users, nil
		}
	}
	users, err := b.search(ctx, q, expr, limit, false)
	if errors.Is(err, errStale) && hits == nil {
		b.staleSeen(ctx)
	}
	if errors.Is(err, errStale) || errors.Is(err, errProbeShort) {
		if hits != nil {
			users, err = b.pageNgram(ctx, q, expr, limit, hits)
		} else {
			users, err = b.searchByKeys(ctx, q, expr, limit)
		}
	}
	if err != nil {
		return nil, b.opError(ctx, op, err)
	}
	return users, nil
}

// search runs a search in index order or (atQueryTime) in the order
// computed at query time; in index order it fails with errStale when a
// matching row has no current sort key.
func (b *Backend) search(ctx context.Context, q backend.Query, expr backend.SearchExpr, limit int, atQueryTime bool) ([]backend.CustomerUser, error) {
	query, args, err := b.searchSQL(ctx, q, expr, limit, atQueryTime)
	if err != nil {
		return nil, err
	}
	if query == "" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []backend.CustomerUser{}, nil
	}
	probe := false
	if !atQueryTime && b.sortIdx == "" {
		return b.searchByKeys(ctx, q, expr, limit)
	}
	if !atQueryTime && !b.cfg.MatchPrefix {
		if !b.mariadb || !b.probing(q) {
			return b.searchByKeys(ctx, q, expr, limit)
		}
		probe = true
	}
	key, tie := b.orderKeys(atQueryTime)
	m := b.newMatcher(q, expr)
	users := []backend.CustomerUser{}
	// The keyset continuation of a batch: rows after the last one read, in
	// the SQL order.
	i := strings.LastIndex(query, " ORDER BY ")
	glue := " AND "
	if !strings.Contains(query[strings.LastIndex(query, " FROM "+b.table+" t"):i], " WHERE ") {
		glue = " WHERE "
	}
	keyset := glue + "(" + key + " > ? OR (" + key + " = ? AND " + tie + " > ?))"
	cont := query[:i] + keyset + query[i:]
	batch := limit
	var lastKey, lastBin string
	for round := 0; ; round++ {
		qs, qa := query, args
		if round == 0 && probe {
			qs = b.probeSQL(qs, limit)
		}
		if round > 0 {
			qs = strings.Replace(cont, fmt.Sprintf(" LIMIT %d", limit), fmt.Sprintf(" LIMIT %d", batch), 1)
			qa = append(slices.Clone(args), lastKey, lastKey, lastBin)
		}
		n, stale, err := b.searchBatch(ctx, qs, qa, m, &users, &lastKey, &lastBin)
		if err != nil {
			return nil, err
		}
		if stale && !atQueryTime {
			return nil, errStale
		}
		if round == 0 && probe && n < batch {
			return nil, errProbeShort
		}
		if len(users) >= limit || n < batch {
			break
		}
		batch = min(batch*4, backend.MaxLimit)
	}
	backend.SortByLogin(users)
	if len(users) > limit {
		users = users[:limit]
	}
	return users, nil
}

// searchBatch reads one batch of a search, appends the users that match
// and returns how many rows it read.
func (b *Backend) searchBatch(ctx context.Context, query string, args []any, m *matcher, users *[]backend.CustomerUser, lastKey, lastBin *string) (n int, stale bool, err error) {
	rows, err := b.scanRows(ctx, b.reader(ctx), query, false, true, args...)
	if err != nil {
		return 0, false, err
	}
	for _, f := range rows {
		if !f.keyOK {
			// Only the stored sort key is ever NULL (stale); it sorts first.
			return len(rows), true, nil
		}
		*lastKey, *lastBin = f.key, f.bin
		// The further IDs are complete: the CustomerID criterion and the
		// search words look at them too.
		if m.match(f.u) {
			*users = append(*users, f.u)
		}
	}
	return len(rows), false, nil
}

// probeSQL bounds a search query in index order to probeRows rows
// examined. Forcing the sort index is what makes the bound exact: the
// rows read before it are the first ones.
func (b *Backend) probeSQL(query string, limit int) string {
	from := " FROM " + b.table + " t"
	return strings.Replace(query, from, from+" FORCE INDEX ("+quote(b.sortIdx)+")", 1) + fmt.Sprintf(" ROWS EXAMINED %d", probeRows(limit))
}

// searchByKeys answers a search exactly without the sort index: when the
// table has none, when a matching row's sort key is stale, or when a
// probe found less than a page. It reads the logins of every row the SQL
// selects (the scan or index ranges of the query, without sorting or
// reading whole rows), orders them in Go by backend.CompareLogins after
// q.After, and reads the whole rows of the first ones, a page at a time,
// until the page is full.
func (b *Backend) searchByKeys(ctx context.Context, q backend.Query, expr backend.SearchExpr, limit int) ([]backend.CustomerUser, error) {
	w, none, err := b.compile(ctx, q, expr)
	if err != nil {
		return nil, err
	}
	if none {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []backend.CustomerUser{}, nil
	}
	lc := "t." + quote(b.cfg.cols[FieldLogin])
	logins, err := queryStrings(ctx, b.reader(ctx), fmt.Sprintf("SELECT %s FROM %s t%s", lc, b.table, w.sql()), w.args...)
	if err != nil {
		return nil, err
	}
	return b.pageByLogins(ctx, q, expr, w, logins, limit)
}

// pageByLogins reads the page of q's result among logins, the logins of
// the rows that w selects (in any order, duplicates allowed): it orders
// them by backend.CompareLogins after q.After and reads the whole rows of
// the first ones, a chunk at a time, re-checked, until the page is full.
func (b *Backend) pageByLogins(ctx context.Context, q backend.Query, expr backend.SearchExpr, w where, logins []string, limit int) ([]backend.CustomerUser, error) {
	lc := "t." + quote(b.cfg.cols[FieldLogin])
	if q.After != "" {
		logins = slices.DeleteFunc(logins, func(l string) bool { return !backend.AfterLogin(l, q.After) })
	}
	slices.SortFunc(logins, backend.CompareLogins)
	logins = slices.Compact(logins)
	m := b.newMatcher(q, expr)
	users := []backend.CustomerUser{}
	for len(logins) > 0 && len(users) < limit {
		chunk := logins[:min(len(logins), max(limit-len(users), 50))]
		logins = logins[len(chunk):]
		want := make(map[string]bool, len(chunk))
		cw := where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
		ph := make([]string, len(chunk))
		for i, l := range chunk {
			want[l] = true
			ph[i] = "?"
			cw.args = append(cw.args, l)
		}
		cw.conds = append(cw.conds, lc+" IN ("+strings.Join(ph, ", ")+")")
		rows, err := b.scanRows(ctx, b.reader(ctx), fmt.Sprintf("SELECT %s FROM %s t%s", b.selectList, b.table, cw.sql()), false, false, cw.args...)
		if err != nil {
			return nil, err
		}
		for _, f := range rows {
			// The column's collation may match other spellings: the exact
			// ones only, each once.
			if want[f.u.Login] && m.match(f.u) {
				delete(want, f.u.Login)
				users = append(users, f.u)
			}
		}
	}
	backend.SortByLogin(users)
	if len(users) > limit {
		users = users[:limit]
	}
	return users, nil
}
