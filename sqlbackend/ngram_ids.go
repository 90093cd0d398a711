package sqlbackend

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/helpdeskkit/customeruser/backend"
)

// The trigram index of the further customer IDs: a search word also
// matches a user whose further customer IDs contain it, which the backend
// finds in the further-IDs table before the search proper (compile's
// pre-query). Without an index that is a scan of that table per word. So
// the backend keeps the same kind of index for it:
//
//	<idsTable>_ngram (gram INT UNSIGNED, uid INT, PRIMARY KEY (gram, uid))
//
// uid being the further-ID row's id, with the columns ngram_sum and
// ngram_stale on the further-IDs table (over user_id and customer_id, so
// that a row another application adds, changes or moves to another user
// is stale). A word's candidates are the rows with all of its rarest
// trigrams plus the stale rows, narrowed by the word's own LIKE. Rows the
// backend deletes (an update of a user's further IDs replaces them) leave
// their trigrams behind; they point to no row and cost nothing but space.

// idsNgramSumExpr is the MD5 of a further-ID row's user_id and customer_id
// (of alias prefix).
func idsNgramSumExpr(prefix string) string {
	return ngramSumExpr(prefix, []string{"user_id", "customer_id"})
}

// idsNgramDefs returns the column definitions and the index CreateSchema
// adds to the further-IDs table, and the statement that creates its
// trigram table; nothing when the trigram index does not apply.
func idsNgramDefs(r *resolved) (cols []string, index, table string) {
	nt := ngramTable(r.CustomerIDsTable)
	if nt == "" || r.MatchPrefix || r.CustomerIDsTable == NoColumn || !slices.Contains(r.SearchFields, FieldCustomerID) {
		return nil, "", ""
	}
	cols = []string{
		fmt.Sprintf("%s CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL", quote(ngramSumColumn)),
		fmt.Sprintf("%s TINYINT AS (%s IS NULL OR CAST(%s AS BINARY) <> %s) VIRTUAL", quote(ngramStaleColumn),
			quote(ngramSumColumn), quote(ngramSumColumn), idsNgramSumExpr("")),
	}
	name := r.CustomerIDsTable + "_ngstale"
	if len(name) > 64 {
		name = name[:64]
	}
	index = fmt.Sprintf("KEY %s (%s)", quote(name), quote(ngramStaleColumn))
	table = fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  gram INT UNSIGNED NOT NULL,\n  uid BIGINT NOT NULL,\n  PRIMARY KEY (gram, uid)\n) ENGINE=InnoDB", quote(nt))
	return cols, index, table
}

// idsNgramAlter returns the statements that add the further IDs' trigram
// index to an existing further-IDs table (then run Reindex).
func idsNgramAlter(r *resolved) []string {
	cols, index, table := idsNgramDefs(r)
	if cols == nil {
		return nil
	}
	return []string{table, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s, ADD COLUMN %s, ADD %s", quote(r.CustomerIDsTable), cols[0], cols[1], index)}
}

// idGrams returns the (gram, row id) pairs of further-ID rows.
func idGrams(rows []idRow, out [][2]uint64) [][2]uint64 {
	for _, r := range rows {
		set := make(map[uint32]struct{}, 16)
		addGrams(set, backend.SearchFold(r.customerID))
		out = pairsOf(r.id, set, out)
	}
	return out
}

// idRow is a further-ID row: its id and customer ID.
type idRow struct {
	id         int64
	customerID string
}

// idsIndexUser indexes the further-ID rows of login that are not marked
// indexed (those just inserted, or all of them after a rename: their
// user_id changed) inside tx, and marks them.
func (b *Backend) idsIndexUser(ctx context.Context, tx *sql.Tx, login string) error {
	if !b.idsNgram {
		return nil
	}
	list, err := b.idRowsOf(ctx, tx, []string{login}, " AND c."+quote(ngramStaleColumn)+" = 1")
	if err != nil {
		return err
	}
	return b.idsIndexRows(ctx, tx, list)
}

// idRowsOf returns the further-ID rows stored under exactly the logins
// (with the extra condition cond, "" or " AND ..." on alias c).
func (b *Backend) idRowsOf(ctx context.Context, q queryer, logins []string, cond string) ([]idRow, error) {
	want := make(map[string]bool, len(logins))
	args := make([]any, len(logins))
	for i, l := range logins {
		want[l] = true
		args[i] = l
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT c.id, c.customer_id, c.user_id FROM %s c WHERE c.user_id IN (%s)%s",
		b.idsTable, placeholders(len(logins)), cond), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []idRow
	for rows.Next() {
		var r idRow
		var owner string
		if err := rows.Scan(&r.id, &r.customerID, &owner); err != nil {
			return nil, err
		}
		if want[owner] {
			list = append(list, r)
		}
	}
	return list, rows.Err()
}

// idsIndexRows stores the trigrams of further-ID rows and marks them.
func (b *Backend) idsIndexRows(ctx context.Context, ex execer, list []idRow) error {
	if len(list) == 0 {
		return nil
	}
	pairs := idGrams(list, nil)
	sortPairs(pairs)
	if err := b.insertGramsInto(ctx, ex, b.idsNgTable, pairs); err != nil {
		return err
	}
	for start := 0; start < len(list); start += 5000 {
		chunk := list[start:min(start+5000, len(list))]
		args := make([]any, len(chunk))
		for i, r := range chunk {
			args[i] = r.id
		}
		if _, err := ex.ExecContext(ctx, fmt.Sprintf("UPDATE %s c SET c.%s = %s WHERE c.id IN (%s)", b.idsTable,
			quote(ngramSumColumn), idsNgramSumExpr("c."), placeholders(len(chunk))), args...); err != nil {
			return err
		}
	}
	return nil
}

// furtherByNgram answers the further-ID pre-query of a search word from
// the further IDs' trigram index: the logins whose further IDs match pred
// (on alias c, with args), at most maxFurtherIDUsers+1 of them. ok is
// false when the index cannot answer (no trigram in the word, only
// frequent ones, too many stale rows); the caller then scans.
func (b *Backend) furtherByNgram(ctx context.Context, pat backend.Pattern, pred string, args []any) (logins []string, ok bool, err error) {
	set := map[uint32]struct{}{}
	for _, p := range pat.Fold().Parts {
		addGrams(set, p)
	}
	if len(set) == 0 {
		return nil, false, nil
	}
	grams := make([]uint32, 0, len(set))
	for g := range set {
		grams = append(grams, g)
	}
	slices.Sort(grams)
	if len(grams) > maxNgramGrams {
		grams = grams[:maxNgramGrams]
	}
	counts, err := b.gramCounts(ctx, b.idsNgTable, grams)
	if err != nil {
		return nil, false, err
	}
	slices.SortStableFunc(grams, func(a, b uint32) int { return counts[a] - counts[b] })
	if counts[grams[0]] > maxNgramDriver {
		return nil, false, nil
	}
	stale, err := b.staleRows(ctx, &b.staleIDs, fmt.Sprintf("SELECT c.id FROM %s c WHERE c.%s = 1 LIMIT %d",
		b.idsTable, quote(ngramStaleColumn), maxNgramStale+1))
	if err != nil || len(stale) > maxNgramStale {
		return nil, false, err
	}
	ids, err := b.gramJoin(ctx, b.idsNgTable, grams[:min(len(grams), maxNgramJoin)], 0)
	if err != nil {
		return nil, false, err
	}
	ids = append(ids, stale...)
	seen := map[string]bool{}
	for start := 0; start < len(ids) && len(logins) <= maxFurtherIDUsers; start += 5000 {
		chunk := ids[start:min(start+5000, len(ids))]
		got, err := queryStrings(ctx, b.reader(ctx), fmt.Sprintf("SELECT DISTINCT c.user_id FROM %s c WHERE c.id IN (%s) AND %s",
			b.idsTable, placeholders(len(chunk)), pred), append(slices.Clone(chunk), args...)...)
		if err != nil {
			return nil, false, err
		}
		for _, l := range got {
			if !seen[l] {
				seen[l] = true
				logins = append(logins, l)
			}
		}
	}
	return logins, true, nil
}

// reindexIDsNgrams indexes the stale further-ID rows in batches of batch,
// one transaction each (rows read FOR UPDATE), and returns how many.
func (b *Backend) reindexIDsNgrams(ctx context.Context, batch int, progress func(int)) (int, error) {
	query := fmt.Sprintf("SELECT c.id, c.customer_id FROM %s c WHERE c.%s = 1 AND c.id > ? ORDER BY c.id LIMIT %d FOR UPDATE",
		b.idsTable, quote(ngramStaleColumn), batch)
	done := 0
	var after int64
	for {
		tx, err := b.db.BeginTx(ctx, nil)
		if err != nil {
			return done, err
		}
		rows, err := tx.QueryContext(ctx, query, after)
		if err != nil {
			_ = tx.Rollback()
			return done, err
		}
		var list []idRow
		for rows.Next() {
			var r idRow
			if err := rows.Scan(&r.id, &r.customerID); err != nil {
				rows.Close()
				_ = tx.Rollback()
				return done, err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			_ = tx.Rollback()
			return done, err
		}
		if len(list) == 0 {
			_ = tx.Rollback()
			return done, nil
		}
		if err := b.idsIndexRows(ctx, tx, list); err != nil {
			_ = tx.Rollback()
			return done, err
		}
		if err := tx.Commit(); err != nil {
			return done, err
		}
		done += len(list)
		after = list[len(list)-1].id
		if progress != nil {
			progress(done)
		}
		if len(list) < batch {
			return done, nil
		}
	}
}
