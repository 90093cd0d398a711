package sqlbackend

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/helpdeskkit/customeruser/backend"
)

var _ backend.CustomerUserBackend = (*Backend)(nil)

// Backend stores customer users in a MySQL/MariaDB table. It is safe for
// concurrent use; all SQL is generated once, in New.
type Backend struct {
	cfg   resolved
	db    *sql.DB
	log   *slog.Logger
	timer backend.RefusalTimer

	pool       Pool              // the settings New applied (zero with KeepPool)
	ids        bool              // a table of further customer IDs exists
	idsHasMeta bool              // ... with the OTRS create_/change_ columns
	idsOrder   string            // ORDER BY of further IDs ("" or "ORDER BY id")
	uniqueKeys map[string]string // unique index name (lower case) -> field it guards

	// Generated SQL.
	table       string   // quoted table name
	idsTable    string   // quoted further-IDs table name
	readCols    []string // fields in the order of selectList (attributes as "attr:<name>")
	readPos     map[string]int
	selectList  string // columns of readCols plus the further IDs and their count
	login       lookup
	email       lookup
	cust        lookup
	idsCust     lookup
	loginLike   string // predicate: login LIKE ? (case- and accent-insensitive superset)
	custLike    string
	idsCustLike string
	searchLike  []string // one LIKE predicate per search column
	fullLike    string   // LIKE predicate on "first_name last_name"
	searchIDs   bool     // the search fields include the customer ID (so the further IDs too)
	validOnly   string
	sortKey     string // expression: the lower-cased login in code-point order
	loginBin    string // expression: the login in code-point order
	escape      string // the ESCAPE clause of every LIKE
	idsFor      string // query: the further IDs of one login
	idsForMany  string // query: the further IDs of logins (%s: their placeholders)
	userList    string // columns of readCols only
	idsJoin     string // " LEFT JOIN <ids> c ON ..." of a lookup, or ""
	idsJoinCols string // ", c.user_id, c.customer_id, c.id" (NULL for what is missing)
	idsJoinOrd  string // " ORDER BY c.customer_id" of a lookup's joined rows, or ""

	stmts sync.Map // query -> *sql.Stmt prepared on db (the lookups)
	rep   *replica // the read replica (replica.go), nil without Config.ReadDB

	sorted      bool         // the table has the sort key columns (sortkey.go)
	sortIdx     string       // the index on (sort key, login), "" when missing (then searches sort at query time)
	mariadb     bool         // the server is MariaDB (LIMIT ... ROWS EXAMINED)
	isort       string       // expression: the stored sort key (NULL when stale)
	ilogin      string       // expression: the login, the second column of the sort index
	staleLogged atomic.Int64 // when LogStaleSortKeys was last logged (UnixNano)

	ngram       bool         // the trigram index exists (ngram.go) and substring searches use it
	ngTable     string       // quoted trigram table name
	ngSum       string       // expression: the MD5 of the row's indexed columns (alias t)
	ngramFields []string     // the fields of ngramColumns, in order
	ngramLogged atomic.Int64 // when LogStaleNgrams was last logged (UnixNano)
	idsNgram    bool         // the further IDs have their trigram index too (ngram_ids.go)
	idsNgTable  string       // quoted name of its table
	staleMain   staleMemo    // the stale rows of the customer-user table, reused for staleMemoFor
	staleIDs    staleMemo    // the stale rows of the further-IDs table
}

// lookup holds the equality predicates of an identity column: exact is
// answered from the column's index (col = ?), wide, when not empty, is the
// predicate that also finds the spellings the column's collation tells
// apart from the asked one though the identity rule does not (a scan; used
// when exact found no row of the identity, and in uniqueness checks).
type lookup struct {
	col   string // the indexed column expression exact compares
	exact string
	wide  string
	// ci: the collation ignores case, so exact finds every spelling but
	// exotic ones (the Kelvin sign on general_ci). Reads then skip wide,
	// which would scan the table for every unknown login (and make an
	// unknown login slower than a wrong password); uniqueness checks
	// still use it.
	ci bool
}

// readWide is the wide predicate reads use: on a case-sensitive collation
// only (there exact misses every other case of the login).
func (l lookup) readWide() string {
	if l.ci {
		return ""
	}
	return l.wide
}

// colInfo is what New learns about a column from information_schema.
type colInfo struct {
	name      string
	collation sql.NullString
}

// New returns a backend over db as cfg describes. It checks cfg, reads the
// table's columns (every mapped column must exist: the error names those
// that do not), detects each column's collation to choose its predicates,
// and, unless cfg.KeepPool, applies cfg.Pool to db. When the tables lack an
// index or the sort key columns that the configured queries need, New logs
// LogMissingIndexes with the statements that add them. Call CreateSchema first
// for a new database. New queries the server with a 30 s timeout.
// Configuration problems give an error matching backend.ErrInvalidInput,
// "customeruser <name>: config: ...", listing all of them.
func New(db *sql.DB, cfg Config) (*Backend, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := &Backend{cfg: r, db: db, log: backend.Logger(r.Logger, r.Name)}
	fail := func(err error) (*Backend, error) { return nil, opError(ctx, r.Name, "new", err) }

	cols, err := tableColumns(ctx, db, r.Table)
	if err != nil {
		return fail(err)
	}
	if len(cols) == 0 {
		return nil, backend.ConfigError(r.Name, &backend.ValidationError{Field: "Config.Table",
			Reason: fmt.Sprintf("table %q does not exist (CreateSchema creates it)", r.Table)})
	}
	var missing []string
	for _, f := range columnOrder {
		if col, ok := r.cols[f]; ok {
			if _, ok := cols[strings.ToLower(col)]; !ok {
				missing = append(missing, col)
			}
		}
	}
	for _, a := range r.attrNames {
		if _, ok := cols[strings.ToLower(r.Attributes[a])]; !ok {
			missing = append(missing, r.Attributes[a])
		}
	}
	if len(missing) > 0 {
		return nil, backend.ConfigError(r.Name, &backend.ValidationError{Field: "Config.Columns",
			Reason: fmt.Sprintf("table %q has no column(s) %s", r.Table, strings.Join(missing, ", "))})
	}
	var idCols map[string]colInfo
	if r.CustomerIDsTable != NoColumn {
		idCols, err = tableColumns(ctx, db, r.CustomerIDsTable)
		if err != nil {
			return fail(err)
		}
		if len(idCols) > 0 {
			for _, c := range []string{"user_id", "customer_id"} {
				if _, ok := idCols[c]; !ok {
					return nil, backend.ConfigError(r.Name, &backend.ValidationError{Field: "Config.CustomerIDsTable",
						Reason: fmt.Sprintf("table %q has no column %s", r.CustomerIDsTable, c)})
				}
			}
			b.ids = true
			_, b.idsHasMeta = idCols["create_time"]
			if _, ok := idCols["id"]; ok {
				b.idsOrder = "ORDER BY id"
			}
		}
	}
	if b.uniqueKeys, err = b.readUniqueKeys(ctx, cols); err != nil {
		return fail(err)
	}
	names, err := serverCollations(ctx, db)
	if err != nil {
		return fail(err)
	}

	var mode string
	if err := db.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		return fail(err)
	}
	if strings.Contains(strings.ToUpper(mode), "NO_BACKSLASH_ESCAPES") {
		b.escape = ` ESCAPE '\'`
	} else {
		b.escape = ` ESCAPE '\\'`
	}

	if !r.KeepPool {
		p := &b.pool
		*p = r.Pool
		var waitTimeout int64
		if err := db.QueryRowContext(ctx, "SELECT @@SESSION.wait_timeout").Scan(&waitTimeout); err != nil {
			return fail(err)
		}
		if half := time.Duration(waitTimeout) * time.Second / 2; half > 0 && p.ConnMaxLifetime > half {
			p.ConnMaxLifetime = half
		}
		db.SetMaxOpenConns(p.MaxOpenConns)
		db.SetMaxIdleConns(p.MaxIdleConns)
		db.SetConnMaxLifetime(p.ConnMaxLifetime)
		db.SetConnMaxIdleTime(p.ConnMaxIdleTime)
	}
	b.setReplica()
	b.build(cols, idCols, chooseCollation(names, identityCollations, ""), chooseCollation(names, searchCollations, ""))
	if nt := ngramTable(r.Table); nt != "" && !r.MatchPrefix {
		ngCols, err := tableColumns(ctx, db, nt)
		if err != nil {
			return fail(err)
		}
		if hasNgram(cols, ngCols) {
			var cs []string
			cs, b.ngramFields = b.cfg.ngramColumns()
			b.ngram, b.ngTable, b.ngSum = true, quote(nt), ngramSumExpr("t.", cs)
		}
	}
	if nt := ngramTable(r.CustomerIDsTable); b.ngram && b.searchIDs && nt != "" {
		ngCols, err := tableColumns(ctx, db, nt)
		if err != nil {
			return fail(err)
		}
		if hasNgram(idCols, ngCols) {
			b.idsNgram, b.idsNgTable = true, quote(nt)
		}
	}
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fail(err)
	}
	b.mariadb = strings.Contains(strings.ToLower(version), "mariadb")
	if b.sorted {
		if b.sortIdx, err = b.indexStartingWith(ctx, r.Table, sortColumn(r.cols[FieldLogin])); err != nil {
			return fail(err)
		}
	}
	if err := b.warnMissingIndexes(ctx, cols); err != nil {
		return fail(err)
	}
	return b, nil
}

// readUniqueKeys maps the unique indexes of the table to the field each
// guards (the email field when it holds the email column, else the login),
// so that a duplicate-key error is classified by the index it names.
func (b *Backend) readUniqueKeys(ctx context.Context, cols map[string]colInfo) (map[string]string, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0`, b.cfg.Table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[string]string{}
	emailCol := strings.ToLower(b.cfg.cols[FieldEmail])
	for rows.Next() {
		var idx, col string
		if err := rows.Scan(&idx, &col); err != nil {
			return nil, err
		}
		idx = strings.ToLower(idx)
		if strings.ToLower(col) == emailCol {
			keys[idx] = FieldEmail
		} else if _, ok := keys[idx]; !ok {
			keys[idx] = FieldLogin
		}
	}
	return keys, rows.Err()
}

func tableColumns(ctx context.Context, db *sql.DB, table string) (map[string]colInfo, error) {
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]colInfo{}
	for rows.Next() {
		var c colInfo
		if err := rows.Scan(&c.name, &c.collation); err != nil {
			return nil, err
		}
		cols[strings.ToLower(c.name)] = c
	}
	return cols, rows.Err()
}

func quote(name string) string { return "`" + name + "`" }

// build generates the SQL. Every predicate on an identity column selects a
// superset of the rows asked for; the backend re-checks each row in Go by
// the identity rule (or, for search words, by backend.SearchFold), so a
// collation looser than the rule never makes it return another identity.
//
//   - Equality: "col = ?" (the column's index). When the collation does not
//     find every spelling of an identity (utf8mb4_general_ci tells the
//     Kelvin sign from "k"; _bin and _cs collations tell case apart),
//     every uniqueness check also compares under the server's
//     accent-sensitive UCA collation (idColl), which scans the table, and
//     so do reads on a case-sensitive collation (lookup.readWide).
//   - Search: "col LIKE ?" when the column's collation ignores case and
//     accents (general_ci, unicode_ci), or on the virtual folded copy that
//     CreateSchema adds to new tables; otherwise the column converted to the
//     server's accent-insensitive collation (searchColl), which scans.
func (b *Backend) build(cols, idCols map[string]colInfo, idColl, searchColl string) {
	r := b.cfg
	b.table = quote(r.Table)
	b.idsTable = quote(r.CustomerIDsTable)
	conv := func(qcol, coll string) string {
		return "CONVERT(" + qcol + " USING utf8mb4) COLLATE " + coll
	}
	eq := func(info colInfo, qcol string) lookup {
		l := lookup{col: qcol, exact: qcol + " = ?", ci: info.collation.Valid && strings.HasSuffix(strings.ToLower(info.collation.String), "_ci")}
		if info.collation.Valid && coversIdentity(info.collation.String) {
			return l
		}
		if idColl != "" {
			l.wide = conv(qcol, idColl) + " = ?"
		} else {
			l.wide = "LOWER(CONVERT(" + qcol + " USING utf8mb4)) = LOWER(?)"
		}
		return l
	}
	like := func(info colInfo, qcol string, fold string) string {
		switch {
		case fold != "":
			return fold + " LIKE ?" + b.escape
		case info.collation.Valid && accentInsensitive(info.collation.String):
			return qcol + " LIKE ?" + b.escape
		case searchColl != "":
			return conv(qcol, searchColl) + " LIKE ?" + b.escape
		}
		return "LOWER(CONVERT(" + qcol + " USING utf8mb4)) LIKE LOWER(?)" + b.escape
	}
	foldOf := func(col string) string {
		if _, ok := cols[strings.ToLower(foldColumn(col))]; ok {
			return "t." + quote(foldColumn(col))
		}
		return ""
	}
	t := func(col string) (colInfo, string) { return cols[strings.ToLower(col)], "t." + quote(col) }
	// An identity column with a case-insensitive copy (CreateSchema's
	// default) is looked up through the copy's index.
	ident := func(col string) lookup {
		if info, ok := cols[strings.ToLower(identityColumn(col))]; ok {
			return eq(info, "t."+quote(identityColumn(col)))
		}
		return eq(t(col))
	}
	b.login = ident(r.cols[FieldLogin])
	b.email = ident(r.cols[FieldEmail])
	b.cust = ident(r.cols[FieldCustomerID])
	li, lq := t(r.cols[FieldLogin])
	b.loginLike = like(li, lq, foldOf(r.cols[FieldLogin]))
	ci, cq := t(r.cols[FieldCustomerID])
	b.custLike = like(ci, cq, foldOf(r.cols[FieldCustomerID]))
	if b.ids {
		b.idsCust = eq(idCols["customer_id"], "c.`customer_id`")
		idsFold := ""
		if _, ok := idCols[foldColumn("customer_id")]; ok {
			idsFold = "c." + quote(foldColumn("customer_id"))
		}
		b.idsCustLike = like(idCols["customer_id"], "c.`customer_id`", idsFold)
	}
	b.searchIDs = b.ids && slices.Contains(r.SearchFields, FieldCustomerID)
	for _, c := range r.searchCols {
		info, qc := t(c)
		b.searchLike = append(b.searchLike, like(info, qc, foldOf(c)))
	}
	full := fmt.Sprintf("CONCAT_WS(' ', t.%s, t.%s)", quote(r.cols[FieldFirstName]), quote(r.cols[FieldLastName]))
	if searchColl != "" {
		b.fullLike = conv(full, searchColl) + " LIKE ?" + b.escape
	} else {
		b.fullLike = "LOWER(CONVERT(" + full + " USING utf8mb4)) LIKE LOWER(?)" + b.escape
	}
	b.validOnly = "t." + quote(r.cols[FieldValid]) + " = 1"
	// Results are ordered by lower-cased login in code-point order, close
	// to backend.CompareLogins whatever the column's collation; the
	// backend sorts each page by CompareLogins itself.
	b.sortKey = "CONVERT(LOWER(t." + quote(r.cols[FieldLogin]) + ") USING utf8mb4) COLLATE utf8mb4_bin"
	b.loginBin = "CONVERT(t." + quote(r.cols[FieldLogin]) + " USING utf8mb4) COLLATE utf8mb4_bin"
	if b.sorted = hasSortKey(cols, r.cols[FieldLogin]); b.sorted {
		b.isort = "t." + quote(sortColumn(r.cols[FieldLogin]))
		b.ilogin = "t." + quote(r.cols[FieldLogin])
	}

	var list []string
	for _, f := range columnOrder {
		if f == FieldPassword || f == FieldCreateBy || f == FieldChangeBy {
			continue
		}
		if col, ok := r.cols[f]; ok {
			b.readCols = append(b.readCols, f)
			list = append(list, "t."+quote(col))
		}
	}
	for _, a := range r.attrNames {
		b.readCols = append(b.readCols, "attr:"+a)
		list = append(list, "t."+quote(r.Attributes[a]))
	}
	// The further customer IDs of a lookup come with the row, through a
	// LEFT JOIN (selectBy); those of a search's rows in one query per batch
	// (fillIDs). Either way each comes with the user_id it is stored under,
	// re-checked by the identity rule.
	b.userList = strings.Join(list, ", ")
	b.idsJoinCols = ", NULL, NULL, NULL"
	if b.ids {
		order := "ORDER BY c.customer_id"
		if b.idsOrder != "" {
			order = "ORDER BY c.id"
		}
		lc := quote(r.cols[FieldLogin])
		b.idsFor = fmt.Sprintf("SELECT c.user_id, c.customer_id FROM %s c WHERE c.user_id = ? %s", b.idsTable, order)
		b.idsForMany = fmt.Sprintf("SELECT c.user_id, c.customer_id FROM %s c WHERE c.user_id IN (%%s) %s", b.idsTable, order)
		b.idsJoin = fmt.Sprintf(" LEFT JOIN %s c ON c.user_id = t.%s", b.idsTable, lc)
		// With the id column the joined rows are put in order in Go (an
		// ORDER BY on the joined table costs a temporary table and a
		// filesort); on an OTRS table, by customer_id in SQL.
		if b.idsOrder != "" {
			b.idsJoinCols = ", c.user_id, c.customer_id, c.id"
		} else {
			b.idsJoinCols = ", c.user_id, c.customer_id, NULL"
			b.idsJoinOrd = " " + order
		}
	}
	list = append(list, "NULL", "0")
	b.readPos = make(map[string]int, len(b.readCols))
	for i, f := range b.readCols {
		b.readPos[f] = i
	}
	b.selectList = strings.Join(list, ", ")
}

// selectBy is the query of a lookup by one predicate: the user's columns
// and, through a LEFT JOIN on the index of user_id, one row per further
// customer ID (user_id and customer_id; NULL when it has none). So a Get
// is one indexed query with no subquery; see scanLookup.
func (b *Backend) selectBy(pred string, withPassword bool) string {
	pw := ""
	if withPassword {
		pw = ", t." + quote(b.cfg.cols[FieldPassword])
	}
	return fmt.Sprintf("SELECT %s%s%s FROM %s t%s WHERE %s%s LIMIT %d", b.userList, b.idsJoinCols, pw, b.table,
		b.idsJoin, pred, b.idsJoinOrd, maxLookupJoinRows)
}

// maxLookupRows caps the users a lookup reads: a unique index allows one
// per collation class, a legacy table without one a few.
const maxLookupRows = 100

// maxLookupJoinRows caps the joined rows of a lookup (users times their
// further IDs); when it is reached the further IDs are read again per user.
const maxLookupJoinRows = 2 * (backend.MaxCustomerIDs + 1)

// queryCached runs query on q; on the backend's own *sql.DB through a
// statement prepared once (database/sql prepares it again on each pooled
// connection as needed), so that a lookup costs one round trip even
// without interpolateParams in the DSN.
func (b *Backend) queryCached(ctx context.Context, q queryer, query string, args ...any) (*sql.Rows, error) {
	stmts := b.stmtsOf(q)
	if stmts == nil {
		return q.QueryContext(ctx, query, args...)
	}
	if st, ok := stmts.Load(query); ok {
		return st.(*sql.Stmt).QueryContext(ctx, args...)
	}
	st, err := q.(*sql.DB).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryContext(ctx, args...)
}

// scanLookup runs a lookup query (selectBy) and returns its users, each
// with its further customer IDs from the joined rows (only those stored
// under its identity, re-checked by the identity rule).
func (b *Backend) scanLookup(ctx context.Context, q queryer, query string, withPassword bool, args ...any) ([]found, error) {
	rows, err := b.queryCached(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	type furtherID struct {
		id  string
		seq int64
	}
	var out []found
	var ids [][]furtherID
	pos := map[string]int{}
	n := 0
	var owner, cid sql.NullString
	var seq sql.NullInt64
	for rows.Next() {
		n++
		r := b.newLookupRow(withPassword, &owner, &cid, &seq)
		if err := rows.Scan(r.dest...); err != nil {
			rows.Close()
			return nil, err
		}
		login := r.text[b.readPos[FieldLogin]].String
		i, ok := pos[login]
		if !ok {
			if len(out) == maxLookupRows {
				continue
			}
			u, _ := b.user(r)
			i = len(out)
			pos[login] = i
			out = append(out, found{u: u, pw: r.pw.String})
			ids = append(ids, nil)
		}
		if owner.Valid && cid.Valid && backend.IdentityKey(owner.String) == backend.IdentityKey(login) {
			ids[i] = append(ids[i], furtherID{cid.String, seq.Int64})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if n >= maxLookupJoinRows || len(ids[i]) > backend.MaxCustomerIDs {
			if err := b.readIDs(ctx, q, &out[i].u); err != nil {
				return nil, err
			}
			continue
		}
		list := ids[i]
		if b.idsJoinOrd == "" {
			slices.SortStableFunc(list, func(a, b furtherID) int { return cmp.Compare(a.seq, b.seq) })
		}
		plain := make([]string, len(list))
		for j, f := range list {
			plain[j] = f.id
		}
		b.setIDs(&out[i].u, plain)
		if len(out[i].u.AllCustomerIDs()) > backend.MaxCustomerIDs {
			return nil, errTooManyCustomerIDs(out[i].u.Login)
		}
	}
	return out, nil
}

// newLookupRow is the destination of a lookup's row: the user's columns,
// the joined user_id, customer_id and id, the hash when withPassword.
func (b *Backend) newLookupRow(withPassword bool, owner, cid *sql.NullString, seq *sql.NullInt64) *row {
	r := b.newRow(false)
	r.dest = append(r.dest[:len(b.readCols)], owner, cid, seq)
	if withPassword {
		r.dest = append(r.dest, &r.pw)
	}
	return r
}

// Close releases the statements the backend prepared. The backend stays
// usable (it prepares them again); the *sql.DB is the caller's to close.
func (b *Backend) Close() error {
	closeStmts(&b.stmts)
	if b.rep != nil {
		closeStmts(&b.rep.stmts)
	}
	return nil
}

// Name returns the configured name.
func (b *Backend) Name() string { return b.cfg.Name }

// String names the backend and nothing else: no stored hash, bind password
// or connection secret is ever printed, whatever the verb (%v, %+v, %#v).
func (b *Backend) String() string { return "sqlbackend.Backend(" + strconv.Quote(b.Name()) + ")" }

// GoString is String for %#v.
func (b *Backend) GoString() string { return b.String() }

// ReadOnly reports whether the backend refuses writes.
func (b *Backend) ReadOnly() bool { return b.cfg.ReadOnly }

// Pool returns the pool settings New applied to the database (the zero
// Pool when Config.KeepPool was set).
func (b *Backend) Pool() Pool { return b.pool }

// DB returns the database the backend works on (the primary; see ReadDB).
func (b *Backend) DB() *sql.DB { return b.db }

// row is the destination of one selected row: one sql.NullString per
// column of readCols (valid and the times use their own), the further IDs
// with their count, any extra columns and, for Authenticate, the hash.
type row struct {
	text  []sql.NullString
	valid sql.NullInt64
	times [2]dbTime // create_time, change_time
	ids   sql.NullString
	nIDs  sql.NullInt64
	pw    sql.NullString
	dest  []any
}

func (b *Backend) newRow(withPassword bool, extra ...any) *row {
	n := len(b.readCols)
	r := &row{text: make([]sql.NullString, n), dest: make([]any, n, n+3+len(extra))}
	for i, f := range b.readCols {
		switch f {
		case FieldValid:
			r.dest[i] = &r.valid
		case FieldCreateTime:
			r.dest[i] = &r.times[0]
		case FieldChangeTime:
			r.dest[i] = &r.times[1]
		default:
			r.dest[i] = &r.text[i]
		}
	}
	r.dest = append(r.dest, &r.ids, &r.nIDs)
	if withPassword {
		r.dest = append(r.dest, &r.pw)
	}
	r.dest = append(r.dest, extra...)
	return r
}

// user builds the user of a row. complete is false when the further
// customer IDs must be read again (readIDs): the row said they were cut, or
// there are more than a user may have.
func (b *Backend) user(r *row) (u backend.CustomerUser, complete bool) {
	s := func(f string) string {
		if i, ok := b.readPos[f]; ok {
			return r.text[i].String
		}
		return ""
	}
	u = backend.CustomerUser{
		Login: s(FieldLogin), Title: s(FieldTitle), FirstName: s(FieldFirstName), LastName: s(FieldLastName),
		Email: s(FieldEmail), CustomerID: s(FieldCustomerID), Phone: s(FieldPhone), Fax: s(FieldFax),
		Mobile: s(FieldMobile), Street: s(FieldStreet), Zip: s(FieldZip), City: s(FieldCity),
		Country: s(FieldCountry), Comment: s(FieldComment), Valid: backend.ValidState(r.valid.Int64),
		Source: b.cfg.Name, CreatedAt: r.times[0].t, ChangedAt: r.times[1].t,
	}
	for _, a := range b.cfg.attrNames {
		if v := r.text[b.readPos["attr:"+a]]; v.Valid {
			if u.Attributes == nil {
				u.Attributes = map[string]string{}
			}
			u.Attributes[a] = v.String
		}
	}
	if !r.ids.Valid || r.ids.String == "" {
		return u, r.nIDs.Int64 == 0
	}
	pieces := strings.Split(r.ids.String, "\x1f")
	if int64(len(pieces)) != r.nIDs.Int64 || len(pieces) > backend.MaxCustomerIDs {
		return u, false
	}
	key := backend.IdentityKey(u.Login)
	ids := make([]string, 0, len(pieces))
	for _, p := range pieces {
		owner, id, ok := strings.Cut(p, "\x1e")
		if !ok {
			return u, false // cut inside a piece
		}
		if backend.IdentityKey(owner) == key {
			ids = append(ids, id)
		}
	}
	b.setIDs(&u, ids)
	return u, true
}

// setIDs sets the further customer IDs of u from the stored ones: without
// duplicates by the identity rule and without the primary one (a legacy
// table may repeat it).
func (b *Backend) setIDs(u *backend.CustomerUser, ids []string) {
	all := (backend.CustomerUser{CustomerID: u.CustomerID, CustomerIDs: ids}).AllCustomerIDs()
	if len(all) > 1 && backend.IdentityKey(all[0]) == backend.IdentityKey(u.CustomerID) {
		u.CustomerIDs = all[1:]
	} else {
		u.CustomerIDs = nil
	}
}

// errTooManyCustomerIDs is the error of reading a user that has more customer
// IDs than backend.MaxCustomerIDs: they decide which tickets the user sees,
// so the backend does not return a part of them.
func errTooManyCustomerIDs(login string) error {
	return &backend.ValidationError{Field: backend.FieldCustomerIDs, Reason: fmt.Sprintf(
		"the stored user %q has more than %d customer IDs (backend.MaxCustomerIDs); remove some from the table of further customer IDs", login, backend.MaxCustomerIDs)}
}

// readIDs reads the further customer IDs of u completely (the rows of its
// identity only), or fails with errTooManyCustomerIDs.
func (b *Backend) readIDs(ctx context.Context, q queryer, u *backend.CustomerUser) error {
	rows, err := q.QueryContext(ctx, b.idsFor, u.Login)
	if err != nil {
		return err
	}
	defer rows.Close()
	key := backend.IdentityKey(u.Login)
	var ids []string
	for rows.Next() {
		var owner, id string
		if err := rows.Scan(&owner, &id); err != nil {
			return err
		}
		if backend.IdentityKey(owner) != key {
			continue
		}
		ids = append(ids, id)
		if len(ids) > backend.MaxCustomerIDs {
			return errTooManyCustomerIDs(u.Login)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	b.setIDs(u, ids)
	if len(u.AllCustomerIDs()) > backend.MaxCustomerIDs {
		return errTooManyCustomerIDs(u.Login)
	}
	return nil
}

// dbTime scans DATETIME columns whether or not the DSN has parseTime=true.
type dbTime struct{ t time.Time }

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.t = time.Time{}
	case time.Time:
		d.t = x
	case []byte:
		return d.parse(string(x))
	case string:
		return d.parse(x)
	default:
		return fmt.Errorf("sqlbackend: cannot scan %T into a time", v)
	}
	return nil
}

func (d *dbTime) parse(s string) error {
	if s == "" || strings.HasPrefix(s, "0000-00-00") {
		d.t = time.Time{}
		return nil
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("sqlbackend: bad DATETIME %q: %w", s, err)
	}
	d.t = t
	return nil
}

// queryer is *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// found is a row a query returned: the user, its hash (withPassword) and
// its keyset position (a search's sortKey and loginBin).
type found struct {
	u        backend.CustomerUser
	pw       string
	key, bin string
	keyOK    bool // key is not NULL
}

// scanRows runs a search query and returns its users, their further
// customer IDs complete. withKeys reads the two keyset columns a search
// query ends with.
func (b *Backend) scanRows(ctx context.Context, q queryer, query string, withPassword, withKeys bool, args ...any) ([]found, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []found
	var again []int
	for rows.Next() {
		var key, bin sql.NullString
		var extra []any
		if withKeys {
			extra = []any{&key, &bin}
		}
		r := b.newRow(withPassword, extra...)
		if err := rows.Scan(r.dest...); err != nil {
			rows.Close()
			return nil, err
		}
		u, complete := b.user(r)
		if !complete {
			again = append(again, len(out))
		}
		out = append(out, found{u, r.pw.String, key.String, bin.String, key.Valid})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, i := range again {
		if err := b.readIDs(ctx, q, &out[i].u); err != nil {
			return nil, err
		}
	}
	if err := b.fillIDs(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fillIDs reads the further customer IDs of the users of a search batch in
// one indexed query (user_id IN (...)), each stored under its identity.
func (b *Backend) fillIDs(ctx context.Context, q queryer, out []found) error {
	if !b.ids || len(out) == 0 {
		return nil
	}
	args := make([]any, 0, len(out))
	byKey := make(map[string][]int, len(out))
	for i := range out {
		k := backend.IdentityKey(out[i].u.Login)
		if _, ok := byKey[k]; !ok {
			args = append(args, out[i].u.Login)
		}
		byKey[k] = append(byKey[k], i)
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(b.idsForMany, strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")), args...)
	if err != nil {
		return err
	}
	ids := make(map[string][]string, len(byKey))
	for rows.Next() {
		var owner, id string
		if err := rows.Scan(&owner, &id); err != nil {
			rows.Close()
			return err
		}
		k := backend.IdentityKey(owner)
		if _, ok := byKey[k]; ok {
			ids[k] = append(ids[k], id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for k, list := range ids {
		for _, i := range byKey[k] {
			u := &out[i].u
			if len(list) > backend.MaxCustomerIDs {
				return errTooManyCustomerIDs(u.Login)
			}
			b.setIDs(u, list)
			if len(u.AllCustomerIDs()) > backend.MaxCustomerIDs {
				return errTooManyCustomerIDs(u.Login)
			}
		}
	}
	return nil
}

// find reads the user of login's identity. The column's collation picks
// the candidates, the identity rule decides: a row of another identity is
// ignored (and logged); of two stored rows of the identity (a legacy table
// may hold both "Bob" and "bob") the one spelled exactly as asked wins, and
// without one the login counts as unknown (logged). It returns the user,
// the stored password hash when withPassword, or backend.ErrNotFound.
func (b *Backend) find(ctx context.Context, q queryer, login string, withPassword bool) (backend.CustomerUser, string, error) {
	key := backend.IdentityKey(login)
	pick := func(rows []found) (found, bool, error) {
		var match []found
		for _, f := range rows {
			if backend.IdentityKey(f.u.Login) == key {
				match = append(match, f)
			} else {
				b.log.WarnContext(ctx, backend.LogIdentityMismatch, "op", "lookup", "login", login, "stored", f.u.Login)
			}
		}
		switch len(match) {
		case 0:
			return found{}, false, nil
		case 1:
			return match[0], true, nil
		}
		for _, f := range match {
			if f.u.Login == login || norm.NFC.String(f.u.Login) == login {
				return f, true, nil
			}
		}
		b.log.WarnContext(ctx, backend.LogAmbiguousIdentity, "op", "lookup", "login", login)
		return found{}, true, backend.ErrNotFound
	}
	// Authenticate (withPassword) on a case-sensitive collation compares
	// wide at once, so that a hit costs what a miss costs.
	pred := b.login.exact
	if wide := b.login.readWide(); wide != "" && withPassword {
		pred = wide
	}
	rows, err := b.scanLookup(ctx, q, b.selectBy(pred, withPassword), withPassword, login)
	if err != nil {
		return backend.CustomerUser{}, "", err
	}
	f, ok, err := pick(rows)
	if wide := b.login.readWide(); !ok && err == nil && wide != "" && pred != wide {
		if rows, err = b.scanLookup(ctx, q, b.selectBy(wide, withPassword), withPassword, login); err != nil {
			return backend.CustomerUser{}, "", err
		}
		f, ok, err = pick(rows)
	}
	if err != nil {
		return backend.CustomerUser{}, "", err
	}
	if !ok {
		return backend.CustomerUser{}, "", backend.ErrNotFound
	}
	return f.u, f.pw, nil
}

// Get returns the user with this login (by the identity rule), valid or not.
// With Config.ReadDB it reads from the replica, which may lag behind the
// primary (see "Read replicas" in the package doc).
func (b *Backend) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, "get", err)
	}
	u, err := onReplica(ctx, b, func(ctx context.Context, db *sql.DB) (backend.CustomerUser, error) {
		u, _, err := b.find(ctx, db, login, false)
		return u, err
	})
	if err != nil {
		return backend.CustomerUser{}, opError(ctx, b.cfg.Name, "get", err)
	}
	return u, nil
}

// Authenticate checks the password of the user with this login. Unknown
// and malformed logins, unusable passwords (empty, over
// backend.MaxPasswordBytes, with a NUL) and users without a password give
// backend.ErrInvalidCredentials after the work of a wrong password (the
// lookup where the login is well formed, a dummy hash) and are then padded
// to the typical time of a wrong password (backend.RefusalTimer), so that
// no refusal tells which logins exist. A user that is not valid gets a
// *backend.AccountInvalidError (errors.Is backend.ErrAccountInvalid) once
// the password was right. A ctx that ends during hashing ends the call with
// ctx's error. A stored hash of a weaker scheme (or a lower bcrypt cost) is
// replaced by a new one; a failure to do so is logged, and the login still
// succeeds.
// It reads the stored hash from the primary even with Config.ReadDB, so that
// a password is refused as soon as SetPassword replaced it.
func (b *Backend) Authenticate(ctx context.Context, login, pw string) (backend.CustomerUser, error) {
	const op = "authenticate"
	start := time.Now()
	h := b.cfg.hasher
	refuse := func() (backend.CustomerUser, error) {
		if err := h.DummyContext(ctx, pw); err != nil {
			return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
		}
		if err := b.timer.Pad(ctx, start); err != nil {
			return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
		}
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrInvalidCredentials)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		// The round trip of a lookup, for a login that cannot exist.
		_, _, _ = b.find(ctx, b.db, "\u2400", true)
		return refuse()
	}
	u, stored, err := b.find(ctx, b.db, login, true)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		return refuse()
	case err != nil:
		return backend.CustomerUser{}, opError(ctx, b.cfg.Name, op, err)
	case stored == "" || !backend.CheckLoginPassword(pw):
		return refuse()
	}
	ok, rehash, err := h.VerifyContext(ctx, stored, pw, u.Login)
	if err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
	}
	if !ok {
		b.timer.Observe(time.Since(start))
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrInvalidCredentials)
	}
	if err := ctx.Err(); err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
	}
	if u.Valid != backend.Valid {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, &backend.AccountInvalidError{State: u.Valid})
	}
	if rehash && !b.cfg.ReadOnly {
		b.rehash(ctx, u.Login, stored, pw)
	}
	return u, nil
}

// rehash replaces the stored hash, unless it changed meanwhile. It does not
// move change_time: a login is not an edit of the record.
func (b *Backend) rehash(ctx context.Context, login, old, pw string) {
	hash, err := b.cfg.hasher.HashContext(ctx, pw)
	if err == nil {
		pwCol := quote(b.cfg.cols[FieldPassword])
		_, err = b.db.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?",
			b.table, pwCol, quote(b.cfg.cols[FieldLogin]), pwCol), hash, login, old)
	}
	if err != nil {
		b.log.WarnContext(ctx, backend.LogRehashFailed, "op", "authenticate", "login", login, "error", classify(err))
		return
	}
	b.log.InfoContext(ctx, backend.LogRehashed, "op", "authenticate", "login", login)
}

// SetPassword stores a new hash of password for the user with this login.
// The password must pass backend.CheckPassword (at most 72 bytes).
func (b *Backend) SetPassword(ctx context.Context, login, pw string) error {
	const op = "set password"
	if b.cfg.ReadOnly {
		return backend.OpError(b.cfg.Name, op, backend.ErrReadOnly)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.OpError(b.cfg.Name, op, err)
	}
	if err := backend.CheckPassword(pw); err != nil {
		return backend.OpError(b.cfg.Name, op, err)
	}
	if err := ctx.Err(); err != nil {
		return backend.OpError(b.cfg.Name, op, err)
	}
	hash, err := b.cfg.hasher.HashContext(ctx, pw)
	if err != nil {
		return opError(ctx, b.cfg.Name, op, fmt.Errorf("hashing the password: %w", err))
	}
	err = b.inTx(ctx, []string{loginLock(login)}, func(tx *sql.Tx) error {
		u, _, err := b.find(ctx, tx, login, false)
		if err != nil {
			return err
		}
		set, args := b.changeStamp()
		args = append([]any{hash}, args...)
		args = append(args, u.Login)
		_, err = tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = ?%s WHERE %s = ?", b.table,
			quote(b.cfg.cols[FieldPassword]), set, quote(b.cfg.cols[FieldLogin])), args...)
		return err
	})
	return b.opError(ctx, op, err)
}

// changeStamp returns ", change_time = ..., change_by = ?" for the mapped
// columns, with their values. change_time is a DATETIME of whole seconds
// in the OTRS layout; every write moves it strictly forward (to now, or one
// second past the stored value when that is not earlier), so that the
// optimistic check of Update tells two writes within one second apart.
func (b *Backend) changeStamp() (string, []any) {
	var set string
	var args []any
	if col, ok := b.cfg.cols[FieldChangeTime]; ok {
		set += fmt.Sprintf(", %s = GREATEST(?, %s + INTERVAL 1 SECOND)", quote(col), quote(col))
		args = append(args, now())
	}
	if col, ok := b.cfg.cols[FieldChangeBy]; ok {
		set += ", " + quote(col) + " = ?"
		args = append(args, b.cfg.ChangeBy)
	}
	return set, args
}

// now is the time written to create_time and change_time: UTC, whole
// seconds (DATETIME has no fraction).
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// lockTimeout is how long a write waits for the named locks of another
// write of the same login or email (GET_LOCK takes whole seconds).
const lockTimeout = 30

// lockName turns a lock key into a GET_LOCK name: at most 64 characters
// whatever the login, and distinct per database and table.
func (b *Backend) lockName(key string) string {
	sum := sha256.Sum256([]byte(b.cfg.Table + "\x00" + key))
	return "customeruser:" + hex.EncodeToString(sum[:20])
}

// inTx runs fn in a transaction while holding the named locks of keys
// (GET_LOCK, released when the function returns or the session ends).
// The locks make a uniqueness check and the write that relies on it atomic
// against other writers of this library without gap locks, which would
// deadlock concurrent inserts. A transaction InnoDB still picks as a
// deadlock victim is retried, up to three times in all.
func (b *Backend) inTx(ctx context.Context, keys []string, fn func(tx *sql.Tx) error) error {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, b.lockName(k))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	held := 0
	defer func() {
		if held == 0 {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, n := range names[:held] {
			if _, err := conn.ExecContext(rctx, "DO RELEASE_LOCK(?)", n); err != nil {
				// Never hand a session that may still hold a lock back to the
				// pool: discarding it makes the server release the locks.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				return
			}
		}
	}()
	for _, n := range names {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", n, lockTimeout).Scan(&got); err != nil {
			return err
		}
		if got.Int64 != 1 {
			return fmt.Errorf("another write of the same customer user held a lock for %d s", lockTimeout)
		}
		held++
	}
	for attempt := 0; ; attempt++ {
		var tx *sql.Tx
		tx, err = conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err = fn(tx); err == nil {
			if err = tx.Commit(); err == nil {
				return nil
			}
		} else {
			_ = tx.Rollback()
		}
		if mysqlErrorNumber(err) != erLockDeadlock || attempt == 2 {
			return err
		}
	}
}

// Lock keys.
func loginLock(login string) string { return "login\x00" + backend.LoginKey(login) }
func emailLock(email string) string { return "email\x00" + backend.FoldKey(email) }

const autoLoginLock = "auto-login"
