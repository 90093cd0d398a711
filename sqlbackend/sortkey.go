package sqlbackend

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/helpdeskkit/customeruser/backend"
)

// The sort key: searches return users in login order (backend.CompareLogins:
// the identity key, NFC and simple case folding, compared bytewise), which
// the server cannot compute. So the backend stores it, on every write, in
// two columns of the customer-user table that CreateSchema adds to new
// tables:
//
//	<login>_ikey     the identity key of the login, utf8mb4_bin
//	<login>_ikey_of  the login the key was computed from, utf8mb4_bin
//	<login>_isort    VIRTUAL: the key while <login>_ikey_of is still
//	                 byte for byte the login, else NULL
//
// with an index on (<login>_isort, <login>). A search orders by that index,
// so that LIMIT stops after the first page instead of sorting every match.
//
// Rows written by another application (Znuny sharing the table) have no
// key, and a login another application renamed no longer equals its
// <login>_ikey_of: in both cases the server computes <login>_isort as
// NULL, and NULL sorts first. A search that finds such a row among its
// matches therefore sees it in its first batch, logs LogStaleSortKeys and
// answers with the order computed at query time instead (a sort of every
// match, exact as before); Reindex fills the missing keys. A row that is
// stale but matches nothing cannot change a result, so the check costs
// nothing. Tables without the columns (an OTRS table CreateSchema did not
// create) are searched the slow way, and New logs the ALTER TABLE that
// adds them (then run Reindex).

// LogStaleSortKeys is the message of the warning a search logs (at most
// every staleLogEvery) when it found rows without a current sort key.
const LogStaleSortKeys = "customeruser: rows without a current sort key (written by another application?); searches sort at query time until Reindex runs"

// staleLogEvery spaces the LogStaleSortKeys warnings.
const staleLogEvery = 10 * time.Minute

// maxSortKeyChars is the width of the key columns. A key longer than that
// (a 191-character login that NFC expands) is not stored: the row stays
// stale and searches matching it sort at query time.
const maxSortKeyChars = 500

func sortKeyColumn(login string) string   { return login + "_ikey" }
func sortKeyOfColumn(login string) string { return login + "_ikey_of" }
func sortColumn(login string) string      { return login + "_isort" }

// sortKeyDefs returns the column definitions of the sort key and its index
// for the login column login, or nil when a name would be too long.
func sortKeyDefs(table, login string) (cols []string, index string) {
	if len(sortKeyOfColumn(login)) > 64 {
		return nil, ""
	}
	q := quote
	cols = []string{
		fmt.Sprintf("%s VARCHAR(%d) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL", q(sortKeyColumn(login)), maxSortKeyChars),
		fmt.Sprintf("%s VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL", q(sortKeyOfColumn(login))),
		fmt.Sprintf("%s VARCHAR(%d) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin AS (IF(CAST(%s AS BINARY) = CAST(%s AS BINARY), %s, NULL)) VIRTUAL",
			q(sortColumn(login)), maxSortKeyChars, q(sortKeyOfColumn(login)), q(login), q(sortKeyColumn(login))),
	}
	name := table + "_isort"
	if len(name) > 64 {
		name = name[:64]
	}
	return cols, fmt.Sprintf("KEY %s (%s, %s)", q(name), q(sortColumn(login)), q(login))
}

// sortKeyAlter is the statement that adds the sort key to an existing
// table.
func sortKeyAlter(table, login string) string {
	cols, index := sortKeyDefs(table, login)
	if cols == nil {
		return ""
	}
	parts := make([]string, 0, 4)
	for _, c := range cols {
		parts = append(parts, "ADD COLUMN "+c)
	}
	parts = append(parts, "ADD "+index)
	return fmt.Sprintf("ALTER TABLE %s %s", quote(table), strings.Join(parts, ", "))
}

// sortKeyValue is the value stored in the key column for login: its
// identity key, or nil (NULL) when it does not fit.
func sortKeyValue(login string) any {
	k := backend.IdentityKey(login)
	if utf8.RuneCountInString(k) > maxSortKeyChars {
		return nil
	}
	return k
}

// sortKeySet returns ", key = ?, key_of = ?" for an INSERT or UPDATE of
// login, with its arguments; nothing when the table has no sort key.
func (b *Backend) sortKeySet(login string) (cols []string, args []any) {
	if !b.sorted {
		return nil, nil
	}
	l := b.cfg.cols[FieldLogin]
	return []string{quote(sortKeyColumn(l)), quote(sortKeyOfColumn(l))}, []any{sortKeyValue(login), login}
}

// staleSeen records a search that met a stale row (and rate-limits the
// warning).
func (b *Backend) staleSeen(ctx context.Context) {
	b.warnEvery(ctx, &b.staleLogged, LogStaleSortKeys)
}

// warnEvery logs msg for a search unless it was logged (last, UnixNano)
// less than staleLogEvery ago.
func (b *Backend) warnEvery(ctx context.Context, last *atomic.Int64, msg string) {
	now := time.Now().UnixNano()
	prev := last.Load()
	if prev != 0 && now-prev < int64(staleLogEvery) {
		return
	}
	if last.CompareAndSwap(prev, now) {
		b.log.WarnContext(ctx, msg, "op", "search", "table", b.cfg.Table)
	}
}

// ReindexOptions tunes Reindex.
type ReindexOptions struct {
	// BatchSize is the number of rows per transaction. Default 1000.
	BatchSize int
	// Progress, when not nil, is called after each batch with the number of
	// rows fixed so far.
	Progress func(done int)
}

// Reindex stores the sort key of every row that lacks a current one (rows
// another application added or renamed) and the trigrams of every row the
// trigram index does not cover (rows another application added or
// changed, or an Import with DeferSearchIndex), in batches of one
// transaction each, and returns how many rows it fixed (a row counts once
// per index). It reads the rows to fix from the indexes on the sort key
// and on ngram_stale, so on a table without stale rows it costs two index
// lookups.
// Run it after another application wrote to the table (for example from a
// cron job, or after a migration), or once after adding the sort key
// columns to an existing table; searches are exact without it, only
// slower when they match a stale row. It fails on a table without the
// sort key columns and without the trigram index (see New's warning for
// the statements that add them).
func (b *Backend) Reindex(ctx context.Context, opt ReindexOptions) (int, error) {
	const op = "reindex"
	if b.cfg.ReadOnly {
		return 0, backend.OpError(b.cfg.Name, op, backend.ErrReadOnly)
	}
	if !b.sorted && !b.ngram {
		return 0, backend.OpError(b.cfg.Name, op, fmt.Errorf("table %q has no sort key columns; add them with: %s", b.cfg.Table, sortKeyAlter(b.cfg.Table, b.cfg.cols[FieldLogin])))
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	done := 0
	if b.sorted {
		n, err := b.reindexSortKeys(ctx, opt)
		done += n
		if err != nil {
			return done, err
		}
	}
	if b.ngram {
		base := done
		progress := opt.Progress
		if progress != nil {
			progress = func(n int) { opt.Progress(base + n) }
		}
		n, err := b.reindexNgrams(ctx, opt.BatchSize, progress)
		done += n
		if err != nil {
			return done, b.opError(ctx, op, err)
		}
	}
	defer b.forgetStale()
	if b.idsNgram {
		base := done
		progress := opt.Progress
		if progress != nil {
			progress = func(n int) { opt.Progress(base + n) }
		}
		n, err := b.reindexIDsNgrams(ctx, opt.BatchSize, progress)
		done += n
		if err != nil {
			return done, b.opError(ctx, op, err)
		}
	}
	return done, nil
}

// reindexSortKeys is the sort key part of Reindex.
func (b *Backend) reindexSortKeys(ctx context.Context, opt ReindexOptions) (int, error) {
	const op = "reindex"
	l := b.cfg.cols[FieldLogin]
	lc, sc := quote(l), quote(sortColumn(l))
	// In the order of the sort index (NULL, then the login's collation).
	// On a case-insensitive column a batch may end between two spellings
	// of one identity (a legacy table's duplicates) and skip the second:
	// it stays stale, which searches detect.
	sel := fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NULL AND %s > ? ORDER BY %s LIMIT %d",
		lc, b.table, sc, lc, lc, opt.BatchSize)
	upd := fmt.Sprintf("UPDATE %s SET %s = ?, %s = %s WHERE %s = ? AND CAST(%s AS BINARY) = CAST(? AS BINARY)",
		b.table, quote(sortKeyColumn(l)), quote(sortKeyOfColumn(l)), lc, lc, lc)
	done := 0
	after := ""
	for {
		logins, err := queryStrings(ctx, b.db, sel, after)
		if err != nil {
			return done, b.opError(ctx, op, err)
		}
		if len(logins) == 0 {
			return done, nil
		}
		tx, err := b.db.BeginTx(ctx, nil)
		if err != nil {
			return done, b.opError(ctx, op, err)
		}
		st, err := tx.PrepareContext(ctx, upd)
		if err != nil {
			_ = tx.Rollback()
			return done, b.opError(ctx, op, err)
		}
		for _, s := range logins {
			if _, err := st.ExecContext(ctx, sortKeyValue(s), s, s); err != nil {
				_ = tx.Rollback()
				return done, b.opError(ctx, op, err)
			}
		}
		_ = st.Close()
		if err := tx.Commit(); err != nil {
			return done, b.opError(ctx, op, err)
		}
		done += len(logins)
		after = logins[len(logins)-1]
		if opt.Progress != nil {
			opt.Progress(done)
		}
		if len(logins) < opt.BatchSize {
			return done, nil
		}
	}
}

// hasSortKey reports whether the table has the three sort key columns.
func hasSortKey(cols map[string]colInfo, login string) bool {
	for _, c := range []string{sortKeyColumn(login), sortKeyOfColumn(login), sortColumn(login)} {
		if _, ok := cols[strings.ToLower(c)]; !ok {
			return false
		}
	}
	return true
}
