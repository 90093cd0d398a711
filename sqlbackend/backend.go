package sqlbackend

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

var _ backend.CustomerUserBackend = (*Backend)(nil)

// Backend stores customer users in a MySQL/MariaDB table. It is safe for
// concurrent use; all SQL is generated once, in New.
type Backend struct {
	cfg resolved
	db  *sql.DB

	pool       Pool   // the settings New applied (zero with KeepPool)
	ids        bool   // a table of further customer IDs exists
	idsHasMeta bool   // ... with the OTRS create_/change_ columns
	idsOrder   string // ORDER BY of further IDs ("" or "ORDER BY id")

	// Generated SQL.
	table       string   // quoted table name
	idsTable    string   // quoted further-IDs table name
	readCols    []string // fields in the order of selectList (attributes as "attr:<name>")
	readPos     map[string]int
	selectList  string // columns of readCols plus the further IDs
	loginEq     string // predicate: login equals ? (case-insensitive)
	emailEq     string
	custEq      string
	loginLike   string // predicate: login LIKE ? (case-insensitive)
	custLike    string
	searchLike  []string // one LIKE predicate per search column
	searchNull  []string // "col IS NULL" per search column
	searchIDs   bool     // the search fields include the customer ID (so the further IDs too)
	validOnly   string
	orderBy     string
	escape      string // the ESCAPE clause of every LIKE
	idsCustEq   string // predicate on the further-IDs table (alias c)
	idsCustLike string
	getSQL      string
	getPwSQL    string
}

// colInfo is what New learns about a column from information_schema.
type colInfo struct {
	name      string
	collation sql.NullString
}

// New returns a backend over db as cfg describes. It checks cfg, reads the
// table's columns (every mapped column must exist: the error names those
// that do not), detects each column's collation to choose case-insensitive
// predicates, and, unless cfg.KeepPool, applies cfg.Pool to db. Call
// CreateSchema first for a new database. New queries the server with a 30 s
// timeout.
func New(db *sql.DB, cfg Config) (*Backend, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := &Backend{cfg: r, db: db}
	fail := func(err error) (*Backend, error) { return nil, opError(ctx, r.Name, "new", err) }

	cols, err := tableColumns(ctx, db, r.Table)
	if err != nil {
		return fail(err)
	}
	if len(cols) == 0 {
		return fail(fmt.Errorf("table %q does not exist (CreateSchema creates it)", r.Table))
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
		return fail(fmt.Errorf("table %q has no column(s) %s", r.Table, strings.Join(missing, ", ")))
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
					return fail(fmt.Errorf("table %q has no column %s", r.CustomerIDsTable, c))
				}
			}
			b.ids = true
			_, b.idsHasMeta = idCols["create_time"]
			if _, ok := idCols["id"]; ok {
				b.idsOrder = "ORDER BY id"
			}
		}
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
	b.build(cols, idCols)
	return b, nil
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

// build generates the SQL. With a case-insensitive (_ci) collation the
// column is compared as it is, so its indexes serve exact and prefix
// lookups; otherwise (_bin, _cs, binary types) both sides are lower-cased,
// which is correct but scans the table.
func (b *Backend) build(cols, idCols map[string]colInfo) {
	r := b.cfg
	b.table = quote(r.Table)
	b.idsTable = quote(r.CustomerIDsTable)
	// Predicates are built for the qualified column (t.x or c.x).
	folded := func(info colInfo, qcol string) (string, bool) {
		ci := info.collation
		switch {
		case ci.Valid && strings.HasSuffix(strings.ToLower(ci.String), "_ci"):
			return qcol, true
		case ci.Valid:
			return "LOWER(" + qcol + ")", false
		default: // binary string: LOWER would do nothing
			return "LOWER(CONVERT(" + qcol + " USING utf8mb4))", false
		}
	}
	eq := func(info colInfo, qcol string) string {
		if f, ci := folded(info, qcol); !ci {
			return f + " = LOWER(?)"
		}
		return qcol + " = ?"
	}
	like := func(info colInfo, qcol string) string {
		if f, ci := folded(info, qcol); !ci {
			return f + " LIKE LOWER(?)" + b.escape
		}
		return qcol + " LIKE ?" + b.escape
	}
	t := func(col string) (colInfo, string) { return cols[strings.ToLower(col)], "t." + quote(col) }
	b.loginEq = eq(t(r.cols[FieldLogin]))
	b.emailEq = eq(t(r.cols[FieldEmail]))
	b.custEq = eq(t(r.cols[FieldCustomerID]))
	b.loginLike = like(t(r.cols[FieldLogin]))
	b.custLike = like(t(r.cols[FieldCustomerID]))
	if b.ids {
		b.idsCustEq = eq(idCols["customer_id"], "c.`customer_id`")
		b.idsCustLike = like(idCols["customer_id"], "c.`customer_id`")
	}
	b.searchIDs = b.ids && slices.Contains(r.SearchFields, FieldCustomerID)
	for _, c := range r.searchCols {
		b.searchLike = append(b.searchLike, like(t(c)))
		b.searchNull = append(b.searchNull, "t."+quote(c)+" IS NULL")
	}
	b.validOnly = "t." + quote(r.cols[FieldValid]) + " = 1"
	// Results are ordered by lower-cased login in code-point order, the
	// order backend.SortByLogin gives, whatever the column's collation.
	b.orderBy = "ORDER BY CONVERT(LOWER(" + quote(r.cols[FieldLogin]) + ") USING utf8mb4) COLLATE utf8mb4_bin"

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
	// The further customer IDs come with the row, in one round trip. IDs
	// never contain control characters (backend refuses them), so the unit
	// separator cannot occur inside one.
	if b.ids {
		order := "ORDER BY c.customer_id"
		if b.idsOrder != "" {
			order = "ORDER BY c.id"
		}
		list = append(list, fmt.Sprintf("(SELECT GROUP_CONCAT(c.customer_id %s SEPARATOR '\x1f') FROM %s c WHERE c.user_id = t.%s)",
			order, b.idsTable, quote(r.cols[FieldLogin])))
	} else {
		list = append(list, "NULL")
	}
	b.readPos = make(map[string]int, len(b.readCols))
	for i, f := range b.readCols {
		b.readPos[f] = i
	}
	b.selectList = strings.Join(list, ", ")
	// Get reads a few rows: a case-sensitive legacy table may hold the same
	// login in several spellings; the exact one wins.
	b.getSQL = fmt.Sprintf("SELECT %s FROM %s t WHERE %s LIMIT 10", b.selectList, b.table, b.loginEq)
	b.getPwSQL = fmt.Sprintf("SELECT %s, t.%s FROM %s t WHERE %s LIMIT 10", b.selectList, quote(r.cols[FieldPassword]), b.table, b.loginEq)
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

// DB returns the database the backend works on.
func (b *Backend) DB() *sql.DB { return b.db }

// row is the destination of one selected row: one sql.NullString per
// column of readCols (valid and the times use their own), the further IDs
// and, for Authenticate, the hash.
type row struct {
	text  []sql.NullString
	valid sql.NullInt64
	times [2]dbTime // create_time, change_time
	ids   sql.NullString
	pw    sql.NullString
	dest  []any
}

func (b *Backend) newRow(withPassword bool) *row {
	n := len(b.readCols)
	r := &row{text: make([]sql.NullString, n), dest: make([]any, n, n+2)}
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
	r.dest = append(r.dest, &r.ids)
	if withPassword {
		r.dest = append(r.dest, &r.pw)
	}
	return r
}

func (b *Backend) user(r *row) backend.CustomerUser {
	s := func(f string) string {
		if i, ok := b.readPos[f]; ok {
			return r.text[i].String
		}
		return ""
	}
	u := backend.CustomerUser{
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
	if r.ids.Valid && r.ids.String != "" {
		all := strings.Split(r.ids.String, "\x1f")
		u.CustomerIDs = (backend.CustomerUser{CustomerIDs: all}).AllCustomerIDs()
		// Without the primary ID: AllCustomerIDs de-duplicates, and a legacy
		// table may repeat the primary ID among the further ones.
		u.CustomerIDs = removeFold(u.CustomerIDs, u.CustomerID)
		if len(u.CustomerIDs) == 0 {
			u.CustomerIDs = nil
		}
	}
	return u
}

func removeFold(ids []string, drop string) []string {
	out := ids[:0]
	for _, id := range ids {
		if backend.FoldKey(id) != backend.FoldKey(drop) {
			out = append(out, id)
		}
	}
	return out
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

// find reads the user with login (any case). It returns the user, the
// stored password hash when withPassword, or backend.ErrNotFound.
func (b *Backend) find(ctx context.Context, q queryer, login string, withPassword bool) (backend.CustomerUser, string, error) {
	query := b.getSQL
	if withPassword {
		query = b.getPwSQL
	}
	rows, err := q.QueryContext(ctx, query, login)
	if err != nil {
		return backend.CustomerUser{}, "", err
	}
	defer rows.Close()
	key := backend.LoginKey(login)
	var (
		found   bool
		best    backend.CustomerUser
		bestPw  string
		bestHit bool
	)
	for rows.Next() {
		r := b.newRow(withPassword)
		if err := rows.Scan(r.dest...); err != nil {
			return backend.CustomerUser{}, "", err
		}
		u := b.user(r)
		// An accent-insensitive collation matches more than we mean.
		if backend.LoginKey(u.Login) != key {
			continue
		}
		exact := u.Login == login
		if !found || (exact && !bestHit) {
			found, best, bestPw, bestHit = true, u, r.pw.String, exact
		}
	}
	if err := rows.Err(); err != nil {
		return backend.CustomerUser{}, "", err
	}
	if !found {
		return backend.CustomerUser{}, "", backend.ErrNotFound
	}
	return best, bestPw, nil
}

// Get returns the user with this login, in any case, valid or not.
func (b *Backend) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, "get", err)
	}
	u, _, err := b.find(ctx, b.db, login, false)
	if err != nil {
		return backend.CustomerUser{}, opError(ctx, b.cfg.Name, "get", err)
	}
	return u, nil
}

// Authenticate checks the password of the user with this login. Unknown
// logins verify a dummy hash, so that they take as long as a wrong password;
// both give backend.ErrInvalidCredentials. A user that is not valid gets
// backend.ErrAccountInvalid once the password was right. A stored hash of a
// weaker scheme (or a lower bcrypt cost) is replaced by a new one; a failure
// to do so is logged, and the login still succeeds.
func (b *Backend) Authenticate(ctx context.Context, login, pw string) (backend.CustomerUser, error) {
	const op = "authenticate"
	h := b.cfg.Hasher
	login, err := backend.NormalizeLogin(login)
	if err != nil || pw == "" {
		h.Dummy(pw)
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrInvalidCredentials)
	}
	u, stored, err := b.find(ctx, b.db, login, true)
	switch {
	case err == backend.ErrNotFound:
		h.Dummy(pw)
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrInvalidCredentials)
	case err != nil:
		return backend.CustomerUser{}, opError(ctx, b.cfg.Name, op, err)
	case stored == "":
		h.Dummy(pw)
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrInvalidCredentials)
	}
	ok, rehash := h.Verify(stored, pw, u.Login)
	if !ok {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrInvalidCredentials)
	}
	if err := ctx.Err(); err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
	}
	if u.Valid != backend.Valid {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrAccountInvalid)
	}
	if rehash && !b.cfg.ReadOnly {
		b.rehash(ctx, u.Login, stored, pw)
	}
	return u, nil
}

// rehash replaces the stored hash, unless it changed meanwhile.
func (b *Backend) rehash(ctx context.Context, login, old, pw string) {
	hash, err := b.cfg.Hasher.Hash(pw)
	if err == nil {
		pwCol := quote(b.cfg.cols[FieldPassword])
		_, err = b.db.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?",
			b.table, pwCol, quote(b.cfg.cols[FieldLogin]), pwCol), hash, login, old)
	}
	if err != nil {
		b.cfg.Logger.WarnContext(ctx, "customeruser: could not upgrade a password hash after a successful login",
			"backend", b.cfg.Name, "login", login, "error", classify(err))
	}
}

// SetPassword stores a new hash of password for the user with this login.
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
	hash, err := b.cfg.Hasher.Hash(pw)
	if err != nil {
		return backend.OpError(b.cfg.Name, op, fmt.Errorf("hashing the password: %w", err))
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
	return opError(ctx, b.cfg.Name, op, err)
}

// changeStamp returns ", change_time = ?, change_by = ?" for the mapped
// columns, with their values.
func (b *Backend) changeStamp() (string, []any) {
	var set string
	var args []any
	if col, ok := b.cfg.cols[FieldChangeTime]; ok {
		set += ", " + quote(col) + " = ?"
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
