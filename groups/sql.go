package groups

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/mysqlcoll"
)

// The names of the groups table in the OTRS family.
const (
	TableZnuny = "permission_groups" // Znuny 7 (and the name a new table gets)
	TableOTOBO = "groups_table"      // OTOBO
	TableOTRS  = "groups"            // OTRS 6 and older Znuny
)

// The permission_context values OTRS stores in group_customer for the two
// contexts (CustomerGroupPermissionContext###001-CustomerID-same and
// ###100-CustomerID-other).
const (
	StoredContextSame  = "Ticket::CustomerID::Same"
	StoredContextOther = "Ticket::CustomerID::Other"
)

// SQLConfig configures an SQLStore.
type SQLConfig struct {
	// GroupsTable is the name of the groups table; "" detects it
	// (DetectGroupsTable).
	GroupsTable string
	// Collation of the tables created when missing; "" picks an
	// accent-sensitive, case-insensitive utf8mb4 collation.
	Collation string
	// ChangeBy is the agent id written to create_by and change_by (OTRS
	// needs one; 1 is the admin "root@localhost" of every installation);
	// 0 means 1.
	ChangeBy int
}

// SQLStore is a Store on the OTRS tables group_customer_user,
// group_customer and the groups table. Rows are read and written as OTRS
// writes them (permission_value 1, permission_context
// "Ticket::CustomerID::Same" or "::Other"), so a Znuny on the same database
// sees the same memberships. Lookups by login, customer ID or group name
// ask the database with the column's collation and then keep the rows equal
// by backend.IdentityKey; a binary (case-sensitive) collation on an existing
// table therefore misses other spellings.
type SQLStore struct {
	db       *sql.DB
	groups   string
	changeBy int
}

var _ Store = (*SQLStore)(nil)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// CheckIdentifier checks a table name given in a configuration: letters,
// digits and underscores, at most 64, not starting with a digit. It returns
// a *backend.ValidationError for field.
func CheckIdentifier(field, name string) error {
	if !identRE.MatchString(name) {
		return &backend.ValidationError{Field: field, Reason: "not a table name (letters, digits, underscores, at most 64)"}
	}
	return nil
}

// DetectGroupsTable gives the name of the groups table of the database db
// is connected to: the first of permission_groups (Znuny 7), groups_table
// (OTOBO) and groups (OTRS 6) that exists, or "" when none does.
func DetectGroupsTable(ctx context.Context, db *sql.DB) (string, error) {
	for _, t := range []string{TableZnuny, TableOTOBO, TableOTRS} {
		ok, err := tableExists(ctx, db, t)
		if err != nil {
			return "", err
		}
		if ok {
			return t, nil
		}
	}
	return "", nil
}

func tableExists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, name).Scan(&n)
	return n > 0, err
}

func sqlErr(op string, err error) error { return backend.OpError("groups sql", op, err) }

// NewSQLStore returns a Store on db. It detects the groups table when
// cfg.GroupsTable is empty and creates the tables that are missing
// (permission_groups when there is no groups table at all) in the OTRS
// layout; existing tables are used as they are, never altered.
func NewSQLStore(ctx context.Context, db *sql.DB, cfg SQLConfig) (*SQLStore, error) {
	if db == nil {
		return nil, backend.ConfigError("groups sql", &backend.ValidationError{Field: "Config.DB", Reason: "required"})
	}
	if cfg.GroupsTable != "" {
		if err := CheckIdentifier("Config.GroupsTable", cfg.GroupsTable); err != nil {
			return nil, backend.ConfigError("groups sql", err.(*backend.ValidationError))
		}
	}
	if cfg.Collation != "" {
		if err := CheckIdentifier("Config.Collation", cfg.Collation); err != nil {
			return nil, backend.ConfigError("groups sql", err.(*backend.ValidationError))
		}
	}
	s := &SQLStore{db: db, groups: cfg.GroupsTable, changeBy: cfg.ChangeBy}
	if s.changeBy == 0 {
		s.changeBy = 1
	}
	if s.groups == "" {
		t, err := DetectGroupsTable(ctx, db)
		if err != nil {
			return nil, sqlErr("detect groups table", err)
		}
		if t == "" {
			t = TableZnuny
		}
		s.groups = t
	}
	if err := s.createMissing(ctx, cfg.Collation); err != nil {
		return nil, sqlErr("create schema", err)
	}
	return s, nil
}

// GroupsTable gives the name of the groups table in use.
func (s *SQLStore) GroupsTable() string { return s.groups }

func (s *SQLStore) createMissing(ctx context.Context, coll string) error {
	if coll == "" {
		var err error
		if coll, err = mysqlcoll.PickIdentity(ctx, s.db); err != nil {
			return err
		}
	}
	tail := ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + coll
	audit := `create_time DATETIME NOT NULL, create_by INTEGER NOT NULL,
  change_time DATETIME NOT NULL, change_by INTEGER NOT NULL`
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS `" + s.groups + "` (\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  name VARCHAR(200) NOT NULL,\n  comments VARCHAR(250) NULL,\n  valid_id SMALLINT NOT NULL,\n  " + audit + ",\n  PRIMARY KEY (id),\n  UNIQUE KEY `" + s.groups + "_name` (name)\n" + tail,
		"CREATE TABLE IF NOT EXISTS group_customer_user (\n  user_id VARCHAR(100) NOT NULL,\n  group_id INTEGER NOT NULL,\n  permission_key VARCHAR(20) NOT NULL,\n  permission_value SMALLINT NOT NULL,\n  " + audit + ",\n  KEY group_customer_user_group_id (group_id),\n  KEY group_customer_user_user_id (user_id)\n" + tail,
		"CREATE TABLE IF NOT EXISTS group_customer (\n  customer_id VARCHAR(150) NOT NULL,\n  group_id INTEGER NOT NULL,\n  permission_key VARCHAR(20) NOT NULL,\n  permission_value SMALLINT NOT NULL,\n  permission_context VARCHAR(100) NOT NULL,\n  " + audit + ",\n  KEY group_customer_customer_id (customer_id),\n  KEY group_customer_group_id (group_id)\n" + tail,
	}
	// Existing tables are not even named in a CREATE, so an account
	// without the CREATE privilege works on a complete database.
	for i, table := range []string{s.groups, "group_customer_user", "group_customer"} {
		exists, err := tableExists(ctx, s.db, table)
		if err != nil {
			return err
		}
		if exists {
			continue
		}
		if _, err := s.db.ExecContext(ctx, stmts[i]); err != nil {
			return err
		}
	}
	return nil
}

func storedContext(c string) string {
	if c == ContextOther {
		return StoredContextOther
	}
	return StoredContextSame
}

func (s *SQLStore) now() time.Time { return time.Now().UTC().Truncate(time.Second) }

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// findGroup gives the group of that name by the identity rule.
func (s *SQLStore) findGroup(ctx context.Context, q querier, name string) (Group, bool, error) {
	if len(name) > 4*4*MaxGroupNameLen {
		return Group{}, false, nil // cannot be stored; not worth a query
	}
	rows, err := q.QueryContext(ctx, "SELECT id, name, COALESCE(comments, ''), valid_id FROM `"+s.groups+"` WHERE name = ?", name)
	if err != nil {
		return Group{}, false, err
	}
	defer rows.Close()
	k := backend.IdentityKey(name)
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.ID, &g.Name, &g.Comment, &g.Valid); err != nil {
			return Group{}, false, err
		}
		if backend.IdentityKey(g.Name) == k {
			return g, true, rows.Err()
		}
	}
	return Group{}, false, rows.Err()
}

// AddGroup implements Store.
func (s *SQLStore) AddGroup(ctx context.Context, g Group) (Group, error) {
	const op = "add group"
	name, err := checkName(g.Name)
	if err != nil {
		return Group{}, sqlErr(op, err)
	}
	if err := backend.CheckText(backend.FieldComment, g.Comment, MaxGroupCommentLen, false); err != nil {
		return Group{}, sqlErr(op, err)
	}
	valid, err := checkValid(g.Valid)
	if err != nil {
		return Group{}, sqlErr(op, err)
	}
	if _, dup, err := s.findGroup(ctx, s.db, name); err != nil {
		return Group{}, sqlErr(op, err)
	} else if dup {
		return Group{}, sqlErr(op, &backend.ValidationError{Field: FieldGroup, Reason: "a group of that name exists"})
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, "INSERT INTO `"+s.groups+"` (name, comments, valid_id, create_time, create_by, change_time, change_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
		name, g.Comment, int(valid), now, s.changeBy, now, s.changeBy)
	if err != nil {
		return Group{}, sqlErr(op, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Group{}, sqlErr(op, err)
	}
	return Group{ID: id, Name: name, Comment: g.Comment, Valid: valid}, nil
}

// Group implements Store.
func (s *SQLStore) Group(ctx context.Context, name string) (Group, error) {
	g, ok, err := s.findGroup(ctx, s.db, name)
	if err != nil {
		return Group{}, sqlErr("group", err)
	}
	if !ok {
		return Group{}, sqlErr("group", notFound(name))
	}
	return g, nil
}

// Groups implements Store.
func (s *SQLStore) Groups(ctx context.Context) ([]Group, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, COALESCE(comments, ''), valid_id FROM `"+s.groups+"`")
	if err != nil {
		return nil, sqlErr("groups", err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.ID, &g.Name, &g.Comment, &g.Valid); err != nil {
			return nil, sqlErr("groups", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlErr("groups", err)
	}
	sortGroups(out)
	return out, nil
}

// SetGroupValid implements Store.
func (s *SQLStore) SetGroupValid(ctx context.Context, name string, valid backend.ValidState) error {
	const op = "set group valid"
	if valid == 0 || !valid.IsKnown() {
		return sqlErr(op, &backend.ValidationError{Field: backend.FieldValid, Reason: "unknown valid state"})
	}
	g, ok, err := s.findGroup(ctx, s.db, name)
	if err != nil {
		return sqlErr(op, err)
	}
	if !ok {
		return sqlErr(op, unknownGroup())
	}
	_, err = s.db.ExecContext(ctx, "UPDATE `"+s.groups+"` SET valid_id = ?, change_time = ?, change_by = ? WHERE id = ?",
		int(valid), s.now(), s.changeBy, g.ID)
	return sqlErr(op, err)
}

// inTx runs f in a READ COMMITTED transaction (no gap locks between
// writers of different users), committing when it returns nil, and runs it
// again when InnoDB chose it as a deadlock victim (error 1213), which its
// DELETEs on the tables' non-unique indexes can still cause.
func (s *SQLStore) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, f)
		var me *mysql.MySQLError
		if err == nil || attempt == 4 || !errors.As(err, &me) || me.Number != 1213 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

func (s *SQLStore) tryTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// spellings gives the distinct stored values of col equal to v by the
// identity rule, among the rows matching where (col = ? is added).
func spellings(ctx context.Context, q querier, table, col, where string, v string, args ...any) ([]string, error) {
	query := fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s = ?", col, table, col)
	if where != "" {
		query += " AND " + where
	}
	rows, err := q.QueryContext(ctx, query, append([]any{v}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	k := backend.IdentityKey(v)
	var out []string
	for rows.Next() {
		var got string
		if err := rows.Scan(&got); err != nil {
			return nil, err
		}
		if backend.IdentityKey(got) == k {
			out = append(out, got)
		}
	}
	return out, rows.Err()
}

// SetMemberPermissions implements Store.
func (s *SQLStore) SetMemberPermissions(ctx context.Context, group, login string, perms map[string]bool) error {
	const op = "set member permissions"
	login, perms, err := checkMemberArgs(login, perms)
	if err != nil {
		return sqlErr(op, err)
	}
	g, ok, err := s.findGroup(ctx, s.db, group)
	if err != nil {
		return sqlErr(op, err)
	}
	if !ok {
		return sqlErr(op, unknownGroup())
	}
	if len(perms) == 0 {
		return nil
	}
	return sqlErr(op, s.inTx(ctx, func(tx *sql.Tx) error {
		olds, err := spellings(ctx, tx, "group_customer_user", "user_id", "group_id = ?", login, g.ID)
		if err != nil {
			return err
		}
		now := s.now()
		for key, on := range perms {
			for _, old := range olds {
				if _, err := tx.ExecContext(ctx, "DELETE FROM group_customer_user WHERE group_id = ? AND permission_key = ? AND user_id = ? AND BINARY user_id = BINARY ?",
					g.ID, key, old, old); err != nil {
					return err
				}
			}
			if on {
				if _, err := tx.ExecContext(ctx, "INSERT INTO group_customer_user (user_id, group_id, permission_key, permission_value, create_time, create_by, change_time, change_by) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
					login, g.ID, key, now, s.changeBy, now, s.changeBy); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// SetCompanyPermissions implements Store.
func (s *SQLStore) SetCompanyPermissions(ctx context.Context, group, customerID, context string, perms map[string]bool) error {
	const op = "set company permissions"
	id, c, perms, err := checkCompanyArgs(customerID, context, perms)
	if err != nil {
		return sqlErr(op, err)
	}
	g, ok, err := s.findGroup(ctx, s.db, group)
	if err != nil {
		return sqlErr(op, err)
	}
	if !ok {
		return sqlErr(op, unknownGroup())
	}
	if len(perms) == 0 {
		return nil
	}
	sc := storedContext(c)
	return sqlErr(op, s.inTx(ctx, func(tx *sql.Tx) error {
		olds, err := spellings(ctx, tx, "group_customer", "customer_id", "group_id = ? AND permission_context = ?", id, g.ID, sc)
		if err != nil {
			return err
		}
		for _, old := range olds {
			if _, err := tx.ExecContext(ctx, "DELETE FROM group_customer WHERE group_id = ? AND permission_context = ? AND customer_id = ? AND BINARY customer_id = BINARY ?",
				g.ID, sc, old, old); err != nil {
				return err
			}
		}
		now := s.now()
		for _, key := range sortedTrueKeys(perms) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO group_customer (customer_id, group_id, permission_key, permission_value, permission_context, create_time, create_by, change_time, change_by) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
				id, g.ID, key, sc, now, s.changeBy, now, s.changeBy); err != nil {
				return err
			}
		}
		return nil
	}))
}

// readGrants runs a grant query whose columns are (who, group name, key,
// group valid_id[, context]) and keeps the rows whose who matches want by
// the identity rule ("" keeps all).
func readGrants(ctx context.Context, q querier, want string, withContext bool, fill func(g *Grant, who string), query string, args ...any) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	k := backend.IdentityKey(want)
	var out []Grant
	for rows.Next() {
		var who, sc string
		var g Grant
		dest := []any{&who, &g.Group, &g.Key, &g.GroupValid}
		if withContext {
			dest = append(dest, &sc)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if want != "" && backend.IdentityKey(who) != k {
			continue
		}
		fill(&g, who)
		if withContext {
			switch sc {
			case StoredContextSame:
				g.Context = ContextSame
			case StoredContextOther:
				g.Context = ContextOther
			default:
				continue // a context this library does not know
			}
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UserGrants implements Store.
func (s *SQLStore) UserGrants(ctx context.Context, login string) ([]Grant, error) {
	if len(login) > 4*4*MaxMemberLoginLen {
		return nil, nil // cannot be stored; not worth a query
	}
	gs, err := readGrants(ctx, s.db, login, false, func(g *Grant, who string) { g.Login = who },
		"SELECT u.user_id, g.name, u.permission_key, g.valid_id FROM group_customer_user u JOIN `"+s.groups+"` g ON g.id = u.group_id WHERE u.user_id = ? AND u.permission_value = 1",
		login)
	if err != nil {
		return nil, sqlErr("user grants", err)
	}
	sortGrants(gs)
	return dedupe(gs), nil
}

// CompanyGrants implements Store.
func (s *SQLStore) CompanyGrants(ctx context.Context, customerID, context string) ([]Grant, error) {
	c, err := checkContext(context)
	if err != nil {
		return nil, sqlErr("company grants", err)
	}
	if len(customerID) > 4*4*backend.MaxCustomerIDLen {
		return nil, nil // cannot be stored; not worth a query
	}
	gs, err := readGrants(ctx, s.db, customerID, true, func(g *Grant, who string) { g.CustomerID = who },
		"SELECT c.customer_id, g.name, c.permission_key, g.valid_id, c.permission_context FROM group_customer c JOIN `"+s.groups+"` g ON g.id = c.group_id WHERE c.customer_id = ? AND c.permission_context = ? AND c.permission_value = 1",
		customerID, storedContext(c))
	if err != nil {
		return nil, sqlErr("company grants", err)
	}
	sortGrants(gs)
	return dedupe(gs), nil
}

// GroupGrants implements Store.
func (s *SQLStore) GroupGrants(ctx context.Context, group string) ([]Grant, error) {
	const op = "group grants"
	g, ok, err := s.findGroup(ctx, s.db, group)
	if err != nil {
		return nil, sqlErr(op, err)
	}
	if !ok {
		return nil, sqlErr(op, unknownGroup())
	}
	users, err := readGrants(ctx, s.db, "", false, func(gr *Grant, who string) { gr.Login = who },
		"SELECT u.user_id, g.name, u.permission_key, g.valid_id FROM group_customer_user u JOIN `"+s.groups+"` g ON g.id = u.group_id WHERE u.group_id = ? AND u.permission_value = 1", g.ID)
	if err != nil {
		return nil, sqlErr(op, err)
	}
	companies, err := readGrants(ctx, s.db, "", true, func(gr *Grant, who string) { gr.CustomerID = who },
		"SELECT c.customer_id, g.name, c.permission_key, g.valid_id, c.permission_context FROM group_customer c JOIN `"+s.groups+"` g ON g.id = c.group_id WHERE c.group_id = ? AND c.permission_value = 1", g.ID)
	if err != nil {
		return nil, sqlErr(op, err)
	}
	sortGrants(users)
	sortGrants(companies)
	return append(dedupe(users), dedupe(companies)...), nil
}

// RenameMember implements Store.
func (s *SQLStore) RenameMember(ctx context.Context, oldLogin, newLogin string) error {
	const op = "rename member"
	oldLogin, newLogin, err := checkRename(oldLogin, newLogin)
	if err != nil {
		return sqlErr(op, err)
	}
	return sqlErr(op, s.inTx(ctx, func(tx *sql.Tx) error {
		type row struct {
			group int64
			key   string
		}
		rowsOf := func(login string) (map[row]bool, []string, error) {
			olds, err := spellings(ctx, tx, "group_customer_user", "user_id", "", login)
			if err != nil {
				return nil, nil, err
			}
			held := map[row]bool{}
			for _, o := range olds {
				rs, err := tx.QueryContext(ctx, "SELECT group_id, permission_key FROM group_customer_user WHERE user_id = ? AND BINARY user_id = BINARY ? AND permission_value = 1 FOR UPDATE", o, o)
				if err != nil {
					return nil, nil, err
				}
				for rs.Next() {
					var r row
					if err := rs.Scan(&r.group, &r.key); err != nil {
						rs.Close()
						return nil, nil, err
					}
					held[r] = true
				}
				rs.Close()
				if err := rs.Err(); err != nil {
					return nil, nil, err
				}
			}
			return held, olds, nil
		}
		from, olds, err := rowsOf(oldLogin)
		if err != nil || len(olds) == 0 {
			return err
		}
		to, _, err := rowsOf(newLogin)
		if err != nil {
			return err
		}
		if backend.IdentityKey(oldLogin) == backend.IdentityKey(newLogin) {
			to = map[row]bool{}
		}
		for _, o := range olds {
			if _, err := tx.ExecContext(ctx, "DELETE FROM group_customer_user WHERE user_id = ? AND BINARY user_id = BINARY ?", o, o); err != nil {
				return err
			}
		}
		now := s.now()
		for r := range from {
			if to[r] {
				continue
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO group_customer_user (user_id, group_id, permission_key, permission_value, create_time, create_by, change_time, change_by) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
				newLogin, r.group, r.key, now, s.changeBy, now, s.changeBy); err != nil {
				return err
			}
		}
		return nil
	}))
}

// dedupe drops repeated rows of a sorted list (an OTRS table has no unique
// key, so the same row may stand twice).
func dedupe(gs []Grant) []Grant {
	out := gs[:0]
	for i, g := range gs {
		if i > 0 && sameGrant(gs[i-1], g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func sameGrant(a, b Grant) bool {
	return backend.IdentityKey(a.Group) == backend.IdentityKey(b.Group) &&
		backend.IdentityKey(a.Login) == backend.IdentityKey(b.Login) &&
		backend.IdentityKey(a.CustomerID) == backend.IdentityKey(b.CustomerID) &&
		a.Context == b.Context && a.Key == b.Key
}
