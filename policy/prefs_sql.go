package policy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/mysqlcoll"
)

// SQLPreferencesConfig configures NewSQLPreferences. The zero value is the
// OTRS table: customer_preferences (user_id, preferences_key,
// preferences_value), which must exist unless CreateTable is set.
type SQLPreferencesConfig struct {
	// Table and its columns (defaults customer_preferences, user_id,
	// preferences_key, preferences_value, OTRS's CustomerPreferences
	// Params). Names are plain SQL names: letters, digits and _.
	Table, UserIDColumn, KeyColumn, ValueColumn string
	// CreateTable creates the table in the OTRS layout when it is missing
	// (utf8mb4 with an accent-sensitive, case-insensitive collation, an
	// index on user_id). An existing table is used as it is, never altered.
	CreateTable bool
	// LockTimeout bounds how long a write waits for another writer of the
	// same user, in this process or another (default 10 s); a write that
	// waited longer fails with backend.ErrUnavailable.
	LockTimeout time.Duration
	// Logger receives the store's log records (nil: slog.Default()).
	Logger *slog.Logger
}

// SQLPreferences is a PreferenceStore on the OTRS customer_preferences table
// of a MariaDB or MySQL database, shared with every app instance and with a
// Znuny or OTOBO on the same database. It is safe for concurrent use.
//
// The table has no unique key (OTRS has none), so an existing table may hold
// several rows for one user and key, and rows of one identity spelt
// differently ("HHuber" and "hhuber"). Every read takes the identity's rows,
// by the column's collation and then re-checked with backend.IdentityKey (a
// utf8mb4_general_ci column also matches "rene" for "rené": those rows are
// never returned nor changed), with keys and values compared exactly; of
// several rows for one key the last one read counts, as in OTRS. Every write
// replaces all of them with one row.
//
// Writes to one user are serialised by a named lock held for the write's
// transaction (READ COMMITTED), so Increment is atomic across processes: no
// increment is lost. The lock is GET_LOCK("customeruser.prefs." + the hex of
// the first 20 bytes of SHA-256(database + "\x00" + table + "\x00" +
// backend.IdentityKey(login))). Writers that do not take the lock (a Znuny)
// are not serialised with it. Nothing is cached here; a Znuny caches a
// user's preferences (CustomerUserPreferencesDB) and sees changes made here
// when its cache entry expires or is cleared. LoginsWith scans the table
// (OTRS indexes only user_id).
type SQLPreferences struct {
	db       *sql.DB
	log      *slog.Logger
	lockBase string // database and table, the prefix of every lock name
	lockWait time.Duration
	cols     [3]string // user, key and value column names, for error messages

	selectUser   string // the rows of a login, by the collation
	selectValue  string // the rows holding a key and value, by the collation
	selectEmpty  string // the rows holding a key with an empty or NULL value
	deleteKey    string // the rows of exactly one user_id spelling and key
	deleteUserID string // the rows of exactly one user_id spelling
	insert       string
}

var _ PreferenceStore = (*SQLPreferences)(nil)

// sqlNameRe is what an identifier from the configuration may be.
var sqlNameRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// defaultLockTimeout is SQLPreferencesConfig.LockTimeout's default.
const defaultLockTimeout = 10 * time.Second

// NewSQLPreferences checks the configuration and the table (creating it when
// missing if cfg.CreateTable) and returns the store. db must have a database
// selected. An unreachable server gives an error wrapping
// backend.ErrUnavailable; a bad configuration one matching
// backend.ErrInvalidInput.
func NewSQLPreferences(ctx context.Context, db *sql.DB, cfg SQLPreferencesConfig) (*SQLPreferences, error) {
	for _, f := range []struct {
		v   *string
		def string
	}{{&cfg.Table, "customer_preferences"}, {&cfg.UserIDColumn, "user_id"}, {&cfg.KeyColumn, "preferences_key"}, {&cfg.ValueColumn, "preferences_value"}} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	var problems []*backend.ValidationError
	for _, f := range []struct{ name, v string }{
		{"Table", cfg.Table}, {"UserIDColumn", cfg.UserIDColumn}, {"KeyColumn", cfg.KeyColumn}, {"ValueColumn", cfg.ValueColumn},
	} {
		if !sqlNameRe.MatchString(f.v) {
			problems = append(problems, &backend.ValidationError{Field: "Config." + f.name, Reason: "not a plain SQL name (letters, digits and _, at most 64)"})
		}
	}
	if cfg.LockTimeout < 0 {
		problems = append(problems, &backend.ValidationError{Field: "Config.LockTimeout", Reason: "negative"})
	}
	if db == nil {
		problems = append(problems, &backend.ValidationError{Field: "DB", Reason: "nil *sql.DB"})
	}
	if len(problems) > 0 {
		return nil, backend.ConfigError(prefsName, problems...)
	}
	if cfg.LockTimeout == 0 {
		cfg.LockTimeout = defaultLockTimeout
	}
	s := &SQLPreferences{
		db: db, log: backend.Logger(cfg.Logger, prefsName), lockWait: cfg.LockTimeout,
		cols: [3]string{cfg.UserIDColumn, cfg.KeyColumn, cfg.ValueColumn},
	}
	const op = "open"
	var dbName sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if !dbName.Valid {
		return nil, backend.ConfigError(prefsName, &backend.ValidationError{Field: "DB", Reason: "no database selected (name one in the DSN)"})
	}
	s.lockBase = dbName.String + "\x00" + cfg.Table
	cols, err := s.columns(ctx, cfg.Table)
	if err == nil && len(cols) == 0 && cfg.CreateTable {
		if err = s.createTable(ctx, cfg); err == nil {
			cols, err = s.columns(ctx, cfg.Table)
		}
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if len(cols) == 0 {
		return nil, backend.ConfigError(prefsName, &backend.ValidationError{Field: "Config.Table",
			Reason: fmt.Sprintf("table %s does not exist (create it, or set CreateTable)", cfg.Table)})
	}
	for _, c := range []struct{ field, name string }{{"UserIDColumn", cfg.UserIDColumn}, {"KeyColumn", cfg.KeyColumn}, {"ValueColumn", cfg.ValueColumn}} {
		if _, ok := cols[strings.ToLower(c.name)]; !ok {
			problems = append(problems, &backend.ValidationError{Field: "Config." + c.field,
				Reason: fmt.Sprintf("table %s has no column %s", cfg.Table, c.name)})
		}
	}
	if len(problems) > 0 {
		return nil, backend.ConfigError(prefsName, problems...)
	}
	s.build(cfg, cols[strings.ToLower(cfg.UserIDColumn)])
	return s, nil
}

// columns maps the lower-cased column names of table to their collations
// (NULL for binary columns); an empty map when the table does not exist.
func (s *SQLPreferences) columns(ctx context.Context, table string) (map[string]sql.NullString, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]sql.NullString{}
	for rows.Next() {
		var name string
		var coll sql.NullString
		if err := rows.Scan(&name, &coll); err != nil {
			return nil, err
		}
		cols[strings.ToLower(name)] = coll
	}
	return cols, rows.Err()
}

// createTable creates the OTRS table if it is missing. The collation is
// accent-sensitive and case-insensitive where the server has one, so that
// the index finds every spelling of a login and nothing else.
func (s *SQLPreferences) createTable(ctx context.Context, cfg SQLPreferencesConfig) error {
	coll, err := mysqlcoll.PickIdentity(ctx, s.db)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  %s VARCHAR(250) NOT NULL,
  %s VARCHAR(150) NOT NULL,
  %s VARCHAR(250) NULL,
  INDEX %s (%s)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s`, quoteName(cfg.Table), quoteName(cfg.UserIDColumn), quoteName(cfg.KeyColumn),
		quoteName(cfg.ValueColumn), quoteName(indexName(cfg.Table+"_"+cfg.UserIDColumn)), quoteName(cfg.UserIDColumn), coll))
	return err
}

func quoteName(name string) string { return "`" + name + "`" }

func indexName(name string) string {
	if len(name) > 64 {
		return name[:64]
	}
	return name
}

// build generates the statements. A user_id column with a case-insensitive
// collation is compared as it is (its index serves); otherwise both sides
// are lower-cased (correct, but a table scan).
func (s *SQLPreferences) build(cfg SQLPreferencesConfig, userColl sql.NullString) {
	t, u, k, v := quoteName(cfg.Table), quoteName(cfg.UserIDColumn), quoteName(cfg.KeyColumn), quoteName(cfg.ValueColumn)
	userEq := u + " = ?"
	switch {
	case !userColl.Valid:
		userEq = "LOWER(CONVERT(" + u + " USING utf8mb4)) = LOWER(?)"
	case !strings.HasSuffix(strings.ToLower(userColl.String), "_ci"):
		userEq = "LOWER(" + u + ") = LOWER(?)"
	}
	// exact compares bytes: no collation, no trailing-space padding.
	exact := func(col string) string {
		return "CAST(CONVERT(" + col + " USING utf8mb4) AS BINARY) = CAST(? AS BINARY)"
	}
	sel := "SELECT " + u + ", " + k + ", " + v + " FROM " + t + " WHERE "
	s.selectUser = sel + userEq
	s.selectValue = sel + k + " = ? AND " + v + " = ?"
	s.selectEmpty = sel + k + " = ? AND (" + v + " = '' OR " + v + " IS NULL)"
	s.deleteKey = "DELETE FROM " + t + " WHERE " + u + " = ? AND " + exact(u) + " AND " + k + " = ? AND " + exact(k)
	s.deleteUserID = "DELETE FROM " + t + " WHERE " + u + " = ? AND " + exact(u)
	s.insert = "INSERT INTO " + t + " (" + u + ", " + k + ", " + v + ") VALUES (?, ?, ?)"
}

// prefRow is one row of the table.
type prefRow struct {
	login, key, value string
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanRows reads rows of (user_id, key, value); a NULL value reads as "".
func scanRows(rows *sql.Rows) ([]prefRow, error) {
	defer rows.Close()
	var out []prefRow
	for rows.Next() {
		var u, k, v sql.NullString
		if err := rows.Scan(&u, &k, &v); err != nil {
			return nil, err
		}
		if u.Valid && k.Valid {
			out = append(out, prefRow{u.String, k.String, v.String})
		}
	}
	return out, rows.Err()
}

// errUnstorable is a lookup of a value the column's character set cannot
// hold (a 4-byte character in a utf8mb3 column): no row can match it.
var errUnstorable = errors.New("not representable in the column's character set")

// unstorable turns the server's refusal to compare with a value the column
// cannot hold into errUnstorable.
func unstorable(err error) error {
	if mysqlNumber(err) == erCollationMix {
		return errUnstorable
	}
	return err
}

// userRows gives the rows of login's identity, in the order read
// (errUnstorable when the column cannot hold the login).
func (s *SQLPreferences) userRows(ctx context.Context, q queryer, op, login string) ([]prefRow, error) {
	rows, err := q.QueryContext(ctx, s.selectUser, login)
	if err != nil {
		return nil, unstorable(err)
	}
	all, err := scanRows(rows)
	if err != nil {
		return nil, err
	}
	id := backend.IdentityKey(login)
	mine := all[:0]
	for _, r := range all {
		if backend.IdentityKey(r.login) == id {
			mine = append(mine, r)
		}
	}
	if len(mine) < len(all) {
		s.log.WarnContext(ctx, backend.LogIdentityMismatch, "op", op, "login", login)
	}
	return mine, nil
}

// current collapses rows to one value a key: the last row read wins.
func current(rows []prefRow) map[string]prefRow {
	out := make(map[string]prefRow, len(rows))
	for _, r := range rows {
		out[r.key] = r
	}
	return out
}

// Preferences returns every key and value of the user.
func (s *SQLPreferences) Preferences(ctx context.Context, login string) (map[string]string, error) {
	const op = "preferences"
	login, err := checkLogin(login)
	if err != nil {
		return nil, prefsErr(op, err)
	}
	rows, err := s.userRows(ctx, s.db, op, login)
	if err != nil && !errors.Is(err, errUnstorable) {
		return nil, s.fail(ctx, op, err)
	}
	out := make(map[string]string, len(rows))
	for k, r := range current(rows) {
		out[k] = r.value
	}
	return out, nil
}

// SetPreference stores value under key, replacing every row of the key.
func (s *SQLPreferences) SetPreference(ctx context.Context, login, key, value string) error {
	const op = "set"
	login, err := checkLoginKey(login, key)
	if err == nil {
		err = checkValue(value)
	}
	if err != nil {
		return prefsErr(op, err)
	}
	return s.rewrite(ctx, op, login, key, func(string) (string, bool) { return value, true })
}

// DeletePreference removes every row of the key (no error when there is none).
func (s *SQLPreferences) DeletePreference(ctx context.Context, login, key string) error {
	const op = "delete"
	login, err := checkLoginKey(login, key)
	if err != nil {
		return prefsErr(op, err)
	}
	return s.rewrite(ctx, op, login, key, func(string) (string, bool) { return "", false })
}

// Increment adds delta to the integer under key and returns the new value,
// atomically across processes that use SQLPreferences on the same table
// (see PreferenceStore). Delta 0 only reads and takes no lock.
func (s *SQLPreferences) Increment(ctx context.Context, login, key string, delta int) (int, error) {
	const op = "increment"
	login, err := checkLoginKey(login, key)
	if err != nil {
		return 0, prefsErr(op, err)
	}
	if delta == 0 {
		rows, err := s.userRows(ctx, s.db, op, login)
		if err != nil && !errors.Is(err, errUnstorable) {
			return 0, s.fail(ctx, op, err)
		}
		return max(counterValue(current(rows)[key].value), 0), nil
	}
	var n int
	err = s.rewrite(ctx, op, login, key, func(cur string) (string, bool) {
		n = addClamped(counterValue(cur), delta)
		return strconv.Itoa(n), true
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// rewrite replaces every row of the user's key by one holding the value
// next gives for the current one ("" when absent), or by none when next
// says so, under the user's lock.
func (s *SQLPreferences) rewrite(ctx context.Context, op, login, key string, next func(cur string) (string, bool)) error {
	return s.fail(ctx, op, s.locked(ctx, []string{login}, func(tx *sql.Tx) error {
		rows, err := s.userRows(ctx, tx, op, login)
		if errors.Is(err, errUnstorable) {
			if _, keep := next(""); keep {
				return &backend.ValidationError{Field: backend.FieldLogin, Reason: "does not fit the database column"}
			}
			return nil // nothing to delete
		}
		if err != nil {
			return err
		}
		value, keep := next(current(rows)[key].value)
		if err := s.deleteKeys(ctx, tx, rows, []string{key}); err != nil || !keep {
			return err
		}
		_, err = tx.ExecContext(ctx, s.insert, login, key, value)
		return err
	}))
}

// deleteKeys deletes the rows among rows that hold one of keys (every row
// when keys is nil), exactly by their user_id spelling and key.
func (s *SQLPreferences) deleteKeys(ctx context.Context, tx *sql.Tx, rows []prefRow, keys []string) error {
	type spelt struct{ login, key string }
	done := map[spelt]bool{}
	for _, r := range rows {
		if keys != nil && !slices.Contains(keys, r.key) {
			continue
		}
		if keys == nil {
			r.key = ""
		}
		if done[spelt{r.login, r.key}] {
			continue
		}
		done[spelt{r.login, r.key}] = true
		var err error
		if keys == nil {
			_, err = tx.ExecContext(ctx, s.deleteUserID, r.login, r.login)
		} else {
			_, err = tx.ExecContext(ctx, s.deleteKey, r.login, r.login, r.key, r.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// LoginsWith returns the logins holding exactly value under key, one per
// identity, ordered by backend.CompareLogins. It scans the table.
func (s *SQLPreferences) LoginsWith(ctx context.Context, key, value string) ([]string, error) {
	const op = "logins-with"
	err := checkKey(key)
	if err == nil {
		err = checkValue(value)
	}
	if err != nil {
		return nil, prefsErr(op, err)
	}
	var rows *sql.Rows
	if value == "" {
		rows, err = s.db.QueryContext(ctx, s.selectEmpty, key)
	} else {
		rows, err = s.db.QueryContext(ctx, s.selectValue, key, value)
	}
	var found []prefRow
	if err == nil {
		found, err = scanRows(rows)
	}
	if errors.Is(unstorable(err), errUnstorable) {
		return nil, nil // the column cannot hold the key or value
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	// The collation may match more than the exact value, and a user with
	// several rows of the key holds only the one that reads as current.
	seen := map[string]bool{}
	var out []string
	for _, r := range found {
		id := backend.IdentityKey(r.login)
		if r.key != key || r.value != value || seen[id] {
			continue
		}
		seen[id] = true
		mine, err := s.userRows(ctx, s.db, op, r.login)
		if err != nil {
			return nil, s.fail(ctx, op, err)
		}
		if cur, ok := current(mine)[key]; ok && cur.value == value {
			out = append(out, cur.login)
		}
	}
	slices.SortFunc(out, backend.CompareLogins)
	return out, nil
}

// Rename moves every preference of oldLogin to newLogin, replacing the keys
// newLogin already has; with another spelling of the same identity it
// respells the rows.
func (s *SQLPreferences) Rename(ctx context.Context, oldLogin, newLogin string) error {
	const op = "rename"
	oldLogin, err := checkLogin(oldLogin)
	if err == nil {
		newLogin, err = checkLogin(newLogin)
	}
	if err != nil {
		return prefsErr(op, err)
	}
	return s.fail(ctx, op, s.locked(ctx, []string{oldLogin, newLogin}, func(tx *sql.Tx) error {
		old, err := s.userRows(ctx, tx, op, oldLogin)
		if errors.Is(err, errUnstorable) {
			return nil // nothing to move
		}
		if err != nil || len(old) == 0 {
			return err
		}
		moved := current(old)
		if !backend.SameIdentity(oldLogin, newLogin) {
			target, err := s.userRows(ctx, tx, op, newLogin)
			if errors.Is(err, errUnstorable) {
				return &backend.ValidationError{Field: backend.FieldLogin, Reason: "does not fit the database column"}
			}
			if err != nil {
				return err
			}
			if err := s.deleteKeys(ctx, tx, target, slices.Collect(maps.Keys(moved))); err != nil {
				return err
			}
		}
		if err := s.deleteKeys(ctx, tx, old, nil); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(moved)) {
			if _, err := tx.ExecContext(ctx, s.insert, newLogin, k, moved[k].value); err != nil {
				return err
			}
		}
		return nil
	}))
}

// errLockTimeout is a write that waited LockTimeout for another writer.
var errLockTimeout = fmt.Errorf("%w: timed out waiting for another writer of the same user", backend.ErrUnavailable)

// locked runs fn in a READ COMMITTED transaction on one connection holding
// the named locks of the logins' identities (taken in order, so two renames
// never wait for each other crosswise). The locks make every write to one
// user wait for the others, across processes, and the transaction makes
// readers see the old rows or the new ones, never none. A deadlock with a
// writer that takes no lock is retried.
func (s *SQLPreferences) locked(ctx context.Context, logins []string, fn func(tx *sql.Tx) error) (err error) {
	names := make([]string, 0, len(logins))
	for _, l := range logins {
		sum := sha256.Sum256([]byte(s.lockBase + "\x00" + backend.IdentityKey(l)))
		names = append(names, "customeruser.prefs."+hex.EncodeToString(sum[:20]))
	}
	slices.Sort(names)
	names = slices.Compact(names)

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	wait := s.lockWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	var held []string
	defer func() {
		// Release even when ctx is done: the connection goes back to the pool.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, n := range held {
			var ok sql.NullInt64
			if rerr := conn.QueryRowContext(rctx, "SELECT RELEASE_LOCK(?)", n).Scan(&ok); rerr != nil || ok.Int64 != 1 {
				// Never pool a connection that may still hold the lock.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				return
			}
		}
	}()
	for _, n := range names {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", n, max(wait.Seconds(), 0)).Scan(&got); err != nil {
			return err
		}
		if !got.Valid || got.Int64 != 1 {
			if err := ctx.Err(); err != nil {
				return err
			}
			return errLockTimeout
		}
		held = append(held, n)
	}
	for attempt := 0; ; attempt++ {
		err = s.inTx(ctx, conn, fn)
		if mysqlNumber(err) != erLockDeadlock || attempt == 3 {
			return err
		}
	}
}

func (s *SQLPreferences) inTx(ctx context.Context, conn *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Server error numbers the store interprets.
const (
	erLockDeadlock = 1213
	erDataTooLong  = 1406
	erBadString    = 1366 // e.g. a 4-byte character in a utf8mb3 column
	erCollationMix = 1267 // comparing such a character with a utf8mb3 column
)

// unavailableErrors are server errors that mean the server is going away or
// refuses work for now, not that the statement was wrong.
var unavailableErrors = []uint16{
	1040,                         // too many connections
	1053,                         // server shutdown in progress
	1152, 1158, 1159, 1160, 1161, // aborted connection, network errors
	1290, // read-only server
	1927, // connection killed
}

func mysqlNumber(err error) uint16 {
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number
	}
	return 0
}

// fail wraps err for op: ctx's error when ctx is done, a too long value as a
// *backend.ValidationError, and backend.ErrUnavailable for an error the
// server did not answer with (a broken or refused connection) or one that
// says it is going away.
func (s *SQLPreferences) fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var verr *backend.ValidationError
	switch n := mysqlNumber(err); {
	case errors.As(err, &verr), errors.Is(err, backend.ErrUnavailable):
	case ctx.Err() != nil:
		if !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case n == erDataTooLong || n == erBadString:
		field := fieldPrefValue
		msg := err.Error()
		// "column 'k'" (too long) or "column `db`.`t`.`k`" (bad string).
		names := func(col string) bool { return strings.Contains(msg, "'"+col+"'") || strings.Contains(msg, "`"+col+"`") }
		if names(s.cols[1]) {
			field = fieldPrefKey
		} else if names(s.cols[0]) {
			field = backend.FieldLogin
		}
		err = &backend.ValidationError{Field: field, Reason: "does not fit the database column"}
	case n == 0 || slices.Contains(unavailableErrors, n):
		s.log.WarnContext(ctx, backend.LogUnavailable, "op", op, "error", err)
		err = fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
	}
	return prefsErr(op, err)
}
