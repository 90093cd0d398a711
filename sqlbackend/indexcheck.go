package sqlbackend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// LogMissingIndexes is the message of the warning New logs when the table
// lacks an index or column that the configured queries need, so that they
// would scan the table (an OTRS table CreateSchema did not extend). The
// attributes name what is missing ("missing") and the statements that add
// it ("statements").
const LogMissingIndexes = "customeruser: the table lacks indexes the backend's queries use; those queries scan the table"

// missingIndex is one finding of checkIndexes.
type missingIndex struct {
	what string // what is missing, for the log
	stmt string // the statement that adds it ("" when none can)
}

// checkIndexes lists what the generated queries would need and the tables
// lack: the index of every column a prefix search compares (MatchPrefix),
// the sort key of searches, and the indexes of the further-IDs table.
func (b *Backend) checkIndexes(ctx context.Context, cols map[string]colInfo) ([]missingIndex, error) {
	r := b.cfg
	first, err := b.indexedColumns(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	var out []missingIndex
	addIndex := func(table, col string) {
		name := table + "_" + col
		if len(name) > 64 {
			name = name[:64]
		}
		out = append(out, missingIndex{what: fmt.Sprintf("index on %s.%s", table, col),
			stmt: fmt.Sprintf("CREATE INDEX %s ON %s (%s)", quote(name), quote(table), quote(col))})
	}
	if r.MatchPrefix {
		for _, c := range r.searchCols {
			col := c
			if _, ok := cols[strings.ToLower(foldColumn(c))]; ok {
				col = foldColumn(c)
			} else if info := cols[strings.ToLower(c)]; !info.collation.Valid || !accentInsensitive(info.collation.String) {
				// Compared converted to an accent-insensitive collation: no
				// index on the column can serve it.
				out = append(out, missingIndex{what: fmt.Sprintf("%s.%s has the accent-sensitive collation %s; a prefix search on it converts every row (an accent-insensitive column or a virtual copy %s with an index serves it)",
					r.Table, c, info.collation.String, foldColumn(c))})
				continue
			}
			if !first[strings.ToLower(col)] {
				addIndex(r.Table, col)
			}
		}
	}
	if b.sorted && b.sortIdx == "" {
		_, idx := sortKeyDefs(r.Table, r.cols[FieldLogin])
		out = append(out, missingIndex{what: "index on the sort key " + sortColumn(r.cols[FieldLogin]) + " (searches sort every match)",
			stmt: fmt.Sprintf("ALTER TABLE %s ADD %s", quote(r.Table), idx)})
	}
	if !b.sorted {
		if stmt := sortKeyAlter(r.Table, r.cols[FieldLogin]); stmt != "" {
			out = append(out, missingIndex{what: fmt.Sprintf("sort key columns %s, %s, %s (searches sort every match; then run Reindex)",
				sortKeyColumn(r.cols[FieldLogin]), sortKeyOfColumn(r.cols[FieldLogin]), sortColumn(r.cols[FieldLogin])), stmt: stmt})
		}
	}
	if !b.ngram && !r.MatchPrefix {
		if stmts := ngramAlter(&b.cfg); stmts != nil {
			out = append(out, missingIndex{what: "trigram index " + ngramTable(r.Table) + " with the columns " + ngramSumColumn + ", " + ngramStaleColumn +
				" (substring searches scan the table; then run Reindex)", stmt: strings.Join(stmts, "; ")})
		}
	}
	if b.ngram && b.searchIDs && b.ids && !b.idsNgram {
		if stmts := idsNgramAlter(&b.cfg); stmts != nil {
			out = append(out, missingIndex{what: "trigram index " + ngramTable(r.CustomerIDsTable) + " of the further customer IDs (substring searches scan " +
				r.CustomerIDsTable + "; then run Reindex)", stmt: strings.Join(stmts, "; ")})
		}
	}
	if b.ids {
		idFirst, err := b.indexedColumns(ctx, r.CustomerIDsTable)
		if err != nil {
			return nil, err
		}
		for _, c := range []string{"user_id", "customer_id"} {
			if !idFirst[c] {
				addIndex(r.CustomerIDsTable, c)
			}
		}
	}
	return out, nil
}

// indexedColumns returns the columns (lower case) that an index of table
// starts with.
func (b *Backend) indexedColumns(ctx context.Context, table string) (map[string]bool, error) {
	cols, err := queryStrings(ctx, b.db, `SELECT COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1`, table)
	out := make(map[string]bool, len(cols))
	for _, c := range cols {
		out[strings.ToLower(c)] = true
	}
	return out, err
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	return queryColumn[string](ctx, q, query, args...)
}

// queryColumn runs a query of one column and returns its values.
func queryColumn[T any](ctx context.Context, q queryer, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// warnMissingIndexes logs LogMissingIndexes when checkIndexes found
// something.
func (b *Backend) warnMissingIndexes(ctx context.Context, cols map[string]colInfo) error {
	missing, err := b.checkIndexes(ctx, cols)
	if err != nil || len(missing) == 0 {
		return err
	}
	whats := make([]string, 0, len(missing))
	var stmts []string
	for _, m := range missing {
		whats = append(whats, m.what)
		if m.stmt != "" {
			stmts = append(stmts, m.stmt)
		}
	}
	b.log.WarnContext(ctx, LogMissingIndexes, "op", "new", "table", b.cfg.Table,
		"missing", strings.Join(whats, "; "), "statements", strings.Join(stmts, "; "))
	return nil
}

// indexStartingWith returns the name of an index of table whose first
// column is col, or "".
func (b *Backend) indexStartingWith(ctx context.Context, table, col string) (string, error) {
	var name string
	err := b.db.QueryRowContext(ctx, `SELECT INDEX_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ? ORDER BY INDEX_NAME LIMIT 1`,
		table, col).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}
