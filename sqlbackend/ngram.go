package sqlbackend

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// The trigram index: a substring search ('%word%', the default) cannot use
// a B-tree index, so the OTRS query and a plain LIKE scan the table. For
// such searches the backend keeps a side table of the trigrams of every
// user's search values:
//
//	<table>_ngram (gram INT UNSIGNED, uid INT, PRIMARY KEY (gram, uid))
//
// gram is the FNV-1a hash of three consecutive runes of a value folded by
// backend.SearchFold (the search fields and the full name "first last";
// not the further customer IDs, which a search matches through their own
// table), uid the user's id. A word of three or more runes can only be in
// the values of users that have every trigram of it, so the rarest
// trigrams of a word give a short list of candidates, which the query's
// own conditions and the Go re-check then decide on: the index only ever
// selects too many, never too few. A hash collision costs a candidate,
// not a result.
//
// The index is exact only for rows the backend wrote. Two columns of the
// customer-user table tell which rows it covers:
//
//	ngram_sum    the MD5 of the search columns the trigrams were computed
//	             from, which the backend stores after writing them
//	ngram_stale  VIRTUAL, indexed: 1 when ngram_sum is NULL or no longer
//	             the MD5 of the columns (a row another application, such
//	             as Znuny, added or changed), else 0
//
// A search through the index takes the stale rows as candidates too (a
// range of the ngram_stale index: nothing when all rows are current), so
// its answer is exact whoever wrote the table; with more than
// maxNgramStale stale rows it logs LogStaleNgrams and scans instead.
// Reindex stores the trigrams of the stale rows. Trigrams of values a row
// no longer has (a change by another application) stay behind as harmless
// extra candidates.

// LogStaleNgrams is the message of the warning a search logs (at most every
// staleLogEvery) when more than maxNgramStale rows are not covered by the
// trigram index (written by another application, or an Import with
// DeferSearchIndex); substring searches then scan until Reindex runs.
const LogStaleNgrams = "customeruser: many rows are not in the trigram index (written by another application?); substring searches scan the table until Reindex runs"

const (
	ngramSumColumn   = "ngram_sum"
	ngramStaleColumn = "ngram_stale"

	// maxNgramDriver is the number of users (as the optimizer estimates
	// it) a trigram may have to drive a search: a word whose every trigram
	// is more frequent is a frequent word, which the search in login order
	// answers faster (it fills a page early).
	maxNgramDriver = 20000
	// maxNgramJoin caps the trigrams of a word the candidate query
	// intersects (the rarest ones): each one more costs a lookup per
	// surviving candidate and rarely removes any.
	maxNgramJoin = 6
	// maxNgramCands caps the candidates a search through the index reads;
	// a word with more is answered in login order (or by a scan).
	maxNgramCands = 10000
	// maxNgramStale is the number of stale rows a search through the index
	// takes as candidates before it gives up on the index.
	maxNgramStale = 10000
	// maxNgramGrams caps the distinct trigrams of a query that are counted.
	maxNgramGrams = 48
)

// ngramTable is the name of the trigram table of table ("" when too long).
func ngramTable(table string) string {
	if n := table + "_ngram"; len(n) <= 64 {
		return n
	}
	return ""
}

// ngramSumExpr is the expression of the MD5 of the columns cols (of alias
// prefix, "" or "t.") that ngram_sum is compared with.
func ngramSumExpr(prefix string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "CAST(COALESCE(" + prefix + quote(c) + ", '') AS BINARY)"
	}
	return "CAST(MD5(CONCAT_WS(0x1f, " + strings.Join(parts, ", ") + ")) AS BINARY)"
}

// ngramColumns returns the columns whose values the trigram index holds,
// in a fixed order: the search columns, then the first and last name (the
// full name a phrase may match); and the field (or attribute) of each.
func (r *resolved) ngramColumns() (cols, fields []string) {
	cols = slices.Clone(r.searchCols)
	fields = slices.Clone(r.SearchFields)
	for _, f := range []string{FieldFirstName, FieldLastName} {
		if c, ok := r.cols[f]; ok && !slices.Contains(cols, c) {
			cols = append(cols, c)
			fields = append(fields, f)
		}
	}
	return cols, fields
}

// ngramDefs returns the column definitions and the index CreateSchema adds
// to the customer-user table for the trigram index, and the statement that
// creates the trigram table.
func ngramDefs(r *resolved) (cols []string, index, table string) {
	nt := ngramTable(r.Table)
	if nt == "" || r.MatchPrefix {
		return nil, "", ""
	}
	cols = []string{
		fmt.Sprintf("%s CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL", quote(ngramSumColumn)),
		fmt.Sprintf("%s TINYINT AS (%s IS NULL OR CAST(%s AS BINARY) <> %s) VIRTUAL", quote(ngramStaleColumn),
			quote(ngramSumColumn), quote(ngramSumColumn), ngramSumExpr("", ngramCols(r))),
	}
	name := r.Table + "_ngstale"
	if len(name) > 64 {
		name = name[:64]
	}
	index = fmt.Sprintf("KEY %s (%s)", quote(name), quote(ngramStaleColumn))
	table = fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  gram INT UNSIGNED NOT NULL,\n  uid INT NOT NULL,\n  PRIMARY KEY (gram, uid)\n) ENGINE=InnoDB", quote(nt))
	return cols, index, table
}

func ngramCols(r *resolved) []string {
	cols, _ := r.ngramColumns()
	return cols
}

// ngramAlter returns the statements that add the trigram index to an
// existing table (then run Reindex).
func ngramAlter(r *resolved) []string {
	cols, index, table := ngramDefs(r)
	if cols == nil {
		return nil
	}
	parts := make([]string, 0, 3)
	for _, c := range cols {
		parts = append(parts, "ADD COLUMN "+c)
	}
	parts = append(parts, "ADD "+index)
	return []string{table, fmt.Sprintf("ALTER TABLE %s %s", quote(r.Table), strings.Join(parts, ", "))}
}

// hasNgram reports whether the tables have what the trigram index needs.
func hasNgram(cols, ngCols map[string]colInfo) bool {
	for _, c := range []string{"id", ngramSumColumn, ngramStaleColumn} {
		if _, ok := cols[c]; !ok {
			return false
		}
	}
	_, g := ngCols["gram"]
	_, u := ngCols["uid"]
	return g && u
}

// gramOf hashes one trigram.
func gramOf(s string) uint32 {
	h := uint32(2166136261) // FNV-1a, 32 bits
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// addGrams adds the trigrams of the folded text s to set.
func addGrams(set map[uint32]struct{}, s string) {
	// Byte offsets of the runes.
	var starts [3]int
	n := 0
	for i := range s {
		if n >= 3 {
			set[gramOf(s[starts[(n-3)%3]:i])] = struct{}{}
		}
		starts[n%3] = i
		n++
	}
	if n >= 3 {
		set[gramOf(s[starts[(n-3)%3]:])] = struct{}{}
	}
}

// ngramValues returns the values of u the trigram index holds, in the order
// of ngramColumns, unfolded.
func (b *Backend) ngramValues(u backend.CustomerUser) []string {
	text := textFields(u)
	out := make([]string, 0, len(b.ngramFields))
	for _, f := range b.ngramFields {
		v, ok := text[f]
		if !ok {
			v = u.Attributes[f]
		}
		out = append(out, v)
	}
	return out
}

// gramSet returns the trigrams of values (in the order of ngramColumns):
// of each value folded, and of the full name.
func (b *Backend) gramSet(values []string) map[uint32]struct{} {
	set := make(map[uint32]struct{}, 64)
	first, last := "", ""
	for i, v := range values {
		addGrams(set, backend.SearchFold(v))
		switch b.ngramFields[i] {
		case FieldFirstName:
			first = v
		case FieldLastName:
			last = v
		}
	}
	addGrams(set, backend.SearchFold(first+" "+last))
	return set
}

// execer is what the index maintenance writes through (*sql.Tx or *sql.DB).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertGrams stores the trigrams grams of user uid (existing pairs are
// kept), in statements of at most 20,000 pairs.
func (b *Backend) insertGrams(ctx context.Context, ex execer, pairs [][2]uint64) error {
	return b.insertGramsInto(ctx, ex, b.ngTable, pairs)
}

// insertGramsInto is insertGrams into the trigram table table.
func (b *Backend) insertGramsInto(ctx context.Context, ex execer, table string, pairs [][2]uint64) error {
	const per = 20000
	for start := 0; start < len(pairs); start += per {
		chunk := pairs[start:min(start+per, len(pairs))]
		var sb strings.Builder
		fmt.Fprintf(&sb, "INSERT IGNORE INTO %s (gram, uid) VALUES ", table)
		args := make([]any, 0, 2*len(chunk))
		for i, p := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?)")
			args = append(args, p[0], p[1])
		}
		if _, err := ex.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// pairsOf returns the (gram, uid) pairs of set, sorted (the table's order).
func pairsOf(uid int64, set map[uint32]struct{}, out [][2]uint64) [][2]uint64 {
	for g := range set {
		out = append(out, [2]uint64{uint64(g), uint64(uid)})
	}
	return out
}

func sortPairs(p [][2]uint64) {
	slices.SortFunc(p, func(a, b [2]uint64) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
}

// markIndexed stores ngram_sum for the rows ids, computed by the server
// from their columns.
func (b *Backend) markIndexed(ctx context.Context, ex execer, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := ex.ExecContext(ctx, fmt.Sprintf("UPDATE %s t SET t.%s = %s WHERE t.id IN (%s)", b.table,
		quote(ngramSumColumn), b.ngSum, placeholders(len(ids))), args...)
	return err
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// ngramWrite keeps the trigram index of the row of login (just written
// inside tx with the values now) current: it adds the trigrams of now,
// removes those of before (the values the row had, nil for a new row)
// that now lacks, and marks the row indexed. Nothing when the index is
// off or the values did not change.
func (b *Backend) ngramWrite(ctx context.Context, tx *sql.Tx, login string, before, now []string) error {
	if !b.ngram || (before != nil && slices.Equal(before, now)) {
		return nil
	}
	id, err := b.rowID(ctx, tx, login)
	if err != nil || id == 0 {
		return err
	}
	set := b.gramSet(now)
	if before != nil {
		var gone []any
		for g := range b.gramSet(before) {
			if _, ok := set[g]; !ok {
				gone = append(gone, g)
			}
		}
		if len(gone) > 0 {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE uid = ? AND gram IN (%s)", b.ngTable, placeholders(len(gone))),
				append([]any{id}, gone...)...); err != nil {
				return err
			}
		}
	}
	pairs := pairsOf(id, set, nil)
	sortPairs(pairs)
	if err := b.insertGrams(ctx, tx, pairs); err != nil {
		return err
	}
	return b.markIndexed(ctx, tx, []int64{id})
}

// rowID returns the id of the row stored under exactly login (0 when none).
func (b *Backend) rowID(ctx context.Context, q queryer, login string) (int64, error) {
	lc := quote(b.cfg.cols[FieldLogin])
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT id, %s FROM %s WHERE %s = ?", lc, b.table, lc), login)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var l string
		if err := rows.Scan(&id, &l); err != nil {
			return 0, err
		}
		if l == login {
			return id, nil
		}
	}
	return 0, rows.Err()
}

// termGrams returns the trigrams of each positive term of expr (folded):
// nil for a term without any (every part shorter than three runes, or a
// negated or match-all term).
func termGrams(expr backend.SearchExpr) [][]uint32 {
	out := make([][]uint32, len(expr.Terms))
	for i, t := range expr.Terms {
		if t.Negate || t.Pattern.MatchAll() {
			continue
		}
		set := map[uint32]struct{}{}
		for _, p := range t.Pattern.Fold().Parts {
			addGrams(set, p)
		}
		for g := range set {
			out[i] = append(out[i], g)
		}
		slices.Sort(out[i])
	}
	return out
}

// gramCounts estimates how many users have each trigram, in one round
// trip: the optimizer's row estimates of "gram = ?" (two dives into the
// primary key per trigram, whatever its size) for an EXPLAIN of one
// SELECT per trigram. They are estimates (within a factor of about two),
// good for choosing the rarest trigram; the candidates themselves are read
// exactly.
func (b *Backend) gramCounts(ctx context.Context, table string, grams []uint32) (map[uint32]int, error) {
	parts := make([]string, len(grams))
	args := make([]any, len(grams))
	for i, g := range grams {
		parts[i] = "SELECT 1 FROM " + table + " WHERE gram = ?"
		args[i] = g
	}
	rows, err := b.reader(ctx).QueryContext(ctx, "EXPLAIN "+strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	idCol, rowsCol := slices.Index(cols, "id"), slices.Index(cols, "rows")
	if idCol < 0 || rowsCol < 0 {
		return nil, fmt.Errorf("EXPLAIN without id or rows column: %v", cols)
	}
	out := make(map[uint32]int, len(grams))
	for rows.Next() {
		vals := make([]sql.NullInt64, len(cols))
		dest := make([]any, len(cols))
		for i := range dest {
			if i == idCol || i == rowsCol {
				dest[i] = &vals[i]
			} else {
				dest[i] = new(sql.RawBytes)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if id := vals[idCol]; id.Valid && id.Int64 >= 1 && int(id.Int64) <= len(grams) {
			// NULL rows: the optimizer found no row at all.
			out[grams[id.Int64-1]] = int(vals[rowsCol].Int64)
		}
	}
	return out, rows.Err()
}

// ngramPlan chooses the term of a query whose trigrams drive a search
// through the index: the one with the rarest trigram. ok is false when the
// index cannot help (no term has a trigram, or every term's rarest trigram
// is more frequent than maxNgramDriver).
func (b *Backend) ngramPlan(ctx context.Context, expr backend.SearchExpr) (term int, grams []uint32, ok bool, err error) {
	per := termGrams(expr)
	var all []uint32
	for _, g := range per {
		all = append(all, g...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if len(all) == 0 {
		return 0, nil, false, nil
	}
	if len(all) > maxNgramGrams {
		all = all[:maxNgramGrams]
	}
	counts, err := b.gramCounts(ctx, b.ngTable, all)
	if err != nil {
		return 0, nil, false, err
	}
	best, bestN := -1, maxNgramDriver+1
	for i, gs := range per {
		for _, g := range gs {
			if n, known := counts[g]; known && n < bestN {
				best, bestN = i, n
			}
		}
	}
	if best < 0 {
		return 0, nil, false, nil
	}
	gs := slices.DeleteFunc(slices.Clone(per[best]), func(g uint32) bool { _, known := counts[g]; return !known })
	slices.SortStableFunc(gs, func(a, b uint32) int { return counts[a] - counts[b] })
	if len(gs) > maxNgramJoin {
		gs = gs[:maxNgramJoin]
	}
	return best, gs, true, nil
}

// ngramCandidates returns the ids of the users that have every trigram of
// grams (the rarest first: it drives the join), plus the stale rows; ok is
// false when there are more than maxNgramStale of those.
func (b *Backend) ngramCandidates(ctx context.Context, grams []uint32) (ids []any, ok bool, err error) {
	if ids, err = b.gramJoin(ctx, b.ngTable, grams, maxNgramCands+1); err != nil {
		return nil, false, err
	}
	if len(ids) > maxNgramCands {
		// A frequent word after all (the estimates were low).
		return ids, true, nil
	}
	stale, err := b.staleRows(ctx, &b.staleMain, fmt.Sprintf("SELECT id FROM %s WHERE %s = 1 LIMIT %d", b.table, quote(ngramStaleColumn), maxNgramStale+1))
	if err != nil {
		return nil, false, err
	}
	if len(stale) > maxNgramStale {
		return nil, false, nil
	}
	return append(ids, stale...), true, nil
}

// gramJoin returns the uids of the trigram table table that have every
// trigram of grams, the first driving the join, at most limit (0: all).
func (b *Backend) gramJoin(ctx context.Context, table string, grams []uint32, limit int) ([]any, error) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "SELECT STRAIGHT_JOIN n0.uid FROM %s n0", table)
	args := make([]any, 0, len(grams))
	for i := 1; i < len(grams); i++ {
		fmt.Fprintf(&sb, " JOIN %s n%d ON n%d.gram = ? AND n%d.uid = n0.uid", table, i, i, i)
		args = append(args, grams[i])
	}
	sb.WriteString(" WHERE n0.gram = ?")
	args = append(args, grams[0])
	if limit > 0 {
		fmt.Fprintf(&sb, " LIMIT %d", limit)
	}
	return queryInts(ctx, b.reader(ctx), sb.String(), args...)
}

func queryInts(ctx context.Context, q queryer, query string, args ...any) ([]any, error) {
	ids, err := queryColumn[int64](ctx, q, query, args...)
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out, err
}

// ngramHits is what the trigram index found for a search: the candidate
// rows of its driving term (see ngramPlan) with the stale ones, and the
// query's compiled conditions.
type ngramHits struct {
	term int
	ids  []any
	w    where
	none bool
}

// ngramLookup looks a substring search up in the trigram index; nil when
// the index cannot narrow it (no trigram, only frequent ones, more than
// maxNgramCands candidates, too many stale rows).
func (b *Backend) ngramLookup(ctx context.Context, q backend.Query, expr backend.SearchExpr) (*ngramHits, error) {
	term, grams, ok, err := b.ngramPlan(ctx, expr)
	if err != nil || !ok {
		return nil, err
	}
	ids, ok, err := b.ngramCandidates(ctx, grams)
	if err != nil || !ok {
		if err == nil {
			b.ngramStaleSeen(ctx)
		}
		return nil, err
	}
	if len(ids) > maxNgramCands {
		return nil, nil
	}
	w, none, err := b.compile(ctx, q, expr)
	if err != nil {
		return nil, err
	}
	if !none && !w.further[term].complete {
		return nil, nil
	}
	return &ngramHits{term: term, ids: ids, w: w, none: none}, nil
}

// ngramDense is the number of candidates above which a search reads in
// login order first (a bounded probe, which a word that many users have
// fills early) and pages the candidates only when the probe comes up
// short.
func ngramDense(limit int) int { return max(8*limit, ngramDenseMin) }

// ngramDenseMin is the least ngramDense (a variable for the tests).
var ngramDenseMin = 2000

// pageNgram answers a search from its trigram candidates and the users
// whose further customer IDs match the driving term: narrowed by the
// query's own conditions, their logins are ordered and paged as
// searchByKeys does.
func (b *Backend) pageNgram(ctx context.Context, q backend.Query, expr backend.SearchExpr, limit int, h *ngramHits) ([]backend.CustomerUser, error) {
	if h.none {
		return []backend.CustomerUser{}, ctx.Err()
	}
	further := h.w.further[h.term]
	lc := "t." + quote(b.cfg.cols[FieldLogin])
	var logins []string
	const chunk = 5000
	for start := 0; start < len(h.ids) || (start == 0 && len(further.logins) > 0); start += chunk {
		part := h.ids[start:min(start+chunk, len(h.ids))]
		cw := where{conds: slices.Clone(h.w.conds), args: slices.Clone(h.w.args)}
		var alt []string
		if len(part) > 0 {
			alt = append(alt, "t.id IN ("+placeholders(len(part))+")")
			cw.args = append(cw.args, part...)
		}
		if start == 0 && len(further.logins) > 0 {
			alt = append(alt, lc+" IN ("+placeholders(len(further.logins))+")")
			cw.args = append(cw.args, further.logins...)
		}
		cw.conds = append(cw.conds, "("+strings.Join(alt, " OR ")+")")
		got, err := queryStrings(ctx, b.reader(ctx), fmt.Sprintf("SELECT %s FROM %s t%s", lc, b.table, cw.sql()), cw.args...)
		if err != nil {
			return nil, err
		}
		logins = append(logins, got...)
	}
	return b.pageByLogins(ctx, q, expr, h.w, logins, limit)
}

// ngramStaleSeen rate-limits the LogStaleNgrams warning.
func (b *Backend) ngramStaleSeen(ctx context.Context) {
	b.warnEvery(ctx, &b.ngramLogged, LogStaleNgrams)
}

// reindexNgrams stores the trigrams of every stale row, in batches of
// batch rows, one transaction each, and returns how many rows it indexed.
// A batch's rows are read FOR UPDATE, so that no other writer changes them
// between the read and the mark.
func (b *Backend) reindexNgrams(ctx context.Context, batch int, progress func(int)) (int, error) {
	cols := ngramCols(&b.cfg)
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "t." + quote(c)
	}
	query := fmt.Sprintf("SELECT t.id, %s FROM %s t WHERE t.%s = 1 AND t.id > ? ORDER BY t.id LIMIT %d FOR UPDATE",
		strings.Join(sel, ", "), b.table, quote(ngramStaleColumn), batch)
	done := 0
	var after int64
	for {
		n, last, err := b.reindexNgramBatch(ctx, query, after, len(cols))
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, nil
		}
		done += n
		after = last
		if progress != nil {
			progress(done)
		}
		if n < batch {
			return done, nil
		}
	}
}

// reindexNgramBatch indexes the stale rows after id after (query of
// reindexNgrams) in one transaction.
func (b *Backend) reindexNgramBatch(ctx context.Context, query string, after int64, ncols int) (n int, last int64, err error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	rows, err := tx.QueryContext(ctx, query, after)
	if err != nil {
		return 0, 0, err
	}
	var pairs [][2]uint64
	var ids []int64
	vals := make([]sql.NullString, ncols)
	dest := make([]any, 0, ncols+1)
	var id int64
	dest = append(dest, &id)
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	plain := make([]string, ncols)
	for rows.Next() {
		if err = rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, 0, err
		}
		for i, v := range vals {
			plain[i] = v.String
		}
		pairs = pairsOf(id, b.gramSet(plain), pairs)
		ids = append(ids, id)
	}
	rows.Close()
	if err = rows.Err(); err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	sortPairs(pairs)
	if err = b.insertGrams(ctx, tx, pairs); err != nil {
		return 0, 0, err
	}
	for start := 0; start < len(ids); start += 5000 {
		if err = b.markIndexed(ctx, tx, ids[start:min(start+5000, len(ids))]); err != nil {
			return 0, 0, err
		}
	}
	if err = tx.Commit(); err != nil {
		return 0, 0, err
	}
	return len(ids), ids[len(ids)-1], nil
}

// staleMemo keeps the answer of a stale-rows query for staleMemoFor, so
// that a burst of searches asks once (the index range of ngram_stale can
// be slow to read for a while after many rows changed state, until InnoDB
// has purged it).
type staleMemo struct {
	mu   sync.Mutex
	at   time.Time
	db   *sql.DB
	rows []any
}

// staleMemoFor is how long a stale-rows answer is reused: a row another
// application writes is found by searches through the trigram index at
// most that long after it was written.
const staleMemoFor = time.Second

// staleRows runs query (the ids of the stale rows) on the reader, or
// returns its answer of less than staleMemoFor ago.
func (b *Backend) staleRows(ctx context.Context, m *staleMemo, query string) ([]any, error) {
	db := b.reader(ctx)
	m.mu.Lock()
	if m.db == db && time.Since(m.at) < staleMemoFor {
		rows := m.rows
		m.mu.Unlock()
		return rows, nil
	}
	m.mu.Unlock()
	rows, err := queryInts(ctx, db, query)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.at, m.db, m.rows = time.Now(), db, rows
	m.mu.Unlock()
	return rows, nil
}

// forgetStale drops the remembered stale rows (a write of this backend
// changed which rows are stale).
func (b *Backend) forgetStale() {
	for _, m := range []*staleMemo{&b.staleMain, &b.staleIDs} {
		m.mu.Lock()
		m.db = nil
		m.mu.Unlock()
	}
}
