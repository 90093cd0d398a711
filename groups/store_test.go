package groups_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/groups/groupstest"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
)

func TestMain(m *testing.M) { os.Exit(testmysql.Run(m)) }

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestMemoryStoreConformance(t *testing.T) {
	groupstest.Run(t, func(t *testing.T) groups.Store { return groups.NewMemoryStore() })
}

func TestSQLStoreConformance(t *testing.T) {
	groupstest.Run(t, func(t *testing.T) groups.Store {
		d := testmysql.NewDatabase(t)
		s, err := groups.NewSQLStore(testCtx(t), d.DB, groups.SQLConfig{})
		require.NoError(t, err)
		return s
	})
}

func TestSQLStoreCreatesZnunyTables(t *testing.T) {
	d := testmysql.NewDatabase(t)
	s, err := groups.NewSQLStore(testCtx(t), d.DB, groups.SQLConfig{})
	require.NoError(t, err)
	assert.Equal(t, groups.TableZnuny, s.GroupsTable(), "a new database gets the Znuny 7 name")
	again, err := groups.NewSQLStore(testCtx(t), d.DB, groups.SQLConfig{})
	require.NoError(t, err, "idempotent")
	assert.Equal(t, groups.TableZnuny, again.GroupsTable())
}

func TestSQLStoreConfig(t *testing.T) {
	d := testmysql.NewDatabase(t)
	for _, bad := range []string{"groups; DROP TABLE x", "`groups`", "1abc", "a-b"} {
		_, err := groups.NewSQLStore(testCtx(t), d.DB, groups.SQLConfig{GroupsTable: bad})
		var ve *backend.ValidationError
		require.ErrorAs(t, err, &ve, bad)
		assert.Equal(t, "Config.GroupsTable", ve.Field)
	}
	_, err := groups.NewSQLStore(testCtx(t), nil, groups.SQLConfig{})
	assert.ErrorIs(t, err, backend.ErrInvalidInput)
	s, err := groups.NewSQLStore(testCtx(t), d.DB, groups.SQLConfig{GroupsTable: groups.TableOTOBO})
	require.NoError(t, err)
	assert.Equal(t, groups.TableOTOBO, s.GroupsTable())
	found, err := groups.DetectGroupsTable(testCtx(t), d.DB)
	require.NoError(t, err)
	assert.Equal(t, groups.TableOTOBO, found, "the OTOBO table is found once it exists")
}

// znunyDDL is the layout Znuny 7 creates on MySQL (scripts/database/schema.mysql.sql).
var znunyDDL = []string{
	`CREATE TABLE permission_groups (
    id INTEGER NOT NULL AUTO_INCREMENT,
    name VARCHAR (200) NOT NULL,
    comments VARCHAR (250) NULL,
    valid_id SMALLINT NOT NULL,
    create_time DATETIME NOT NULL,
    create_by INTEGER NOT NULL,
    change_time DATETIME NOT NULL,
    change_by INTEGER NOT NULL,
    PRIMARY KEY(id),
    UNIQUE INDEX permission_groups_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
	`CREATE TABLE group_customer_user (
    user_id VARCHAR (100) NOT NULL,
    group_id INTEGER NOT NULL,
    permission_key VARCHAR (20) NOT NULL,
    permission_value SMALLINT NOT NULL,
    create_time DATETIME NOT NULL,
    create_by INTEGER NOT NULL,
    change_time DATETIME NOT NULL,
    change_by INTEGER NOT NULL,
    INDEX group_customer_user_group_id (group_id),
    INDEX group_customer_user_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
	`CREATE TABLE group_customer (
    customer_id VARCHAR (150) NOT NULL,
    group_id INTEGER NOT NULL,
    permission_key VARCHAR (20) NOT NULL,
    permission_value SMALLINT NOT NULL,
    permission_context VARCHAR (100) NOT NULL,
    create_time DATETIME NOT NULL,
    create_by INTEGER NOT NULL,
    change_time DATETIME NOT NULL,
    change_by INTEGER NOT NULL,
    INDEX group_customer_customer_id (customer_id),
    INDEX group_customer_group_id (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
	// Rows as Znuny writes them: the shipped groups, a customer's own rows
	// (GroupMemberAdd), a company's rows in both contexts (GroupCustomerAdd)
	// and a row with permission_value 0, which Znuny never counts.
	`INSERT INTO permission_groups (id, name, comments, valid_id, create_time, create_by, change_time, change_by) VALUES
    (1, 'users', 'Group for default access.', 1, NOW(), 1, NOW(), 1),
    (2, 'admin', 'Group of all administrators.', 1, NOW(), 1, NOW(), 1),
    (3, 'stats', 'Group for statistics access.', 1, NOW(), 1, NOW(), 1),
    (4, 'retired', NULL, 2, NOW(), 1, NOW(), 1)`,
	`INSERT INTO group_customer_user (user_id, group_id, permission_key, permission_value, create_time, create_by, change_time, change_by) VALUES
    ('Mmuster', 2, 'ro', 1, NOW(), 1, NOW(), 1),
    ('Mmuster', 2, 'create', 1, NOW(), 1, NOW(), 1),
    ('mmuster', 3, 'rw', 0, NOW(), 1, NOW(), 1),
    ('mmuster', 4, 'rw', 1, NOW(), 1, NOW(), 1)`,
	`INSERT INTO group_customer (customer_id, group_id, permission_key, permission_value, permission_context, create_time, create_by, change_time, change_by) VALUES
    ('ACME', 3, 'rw', 1, 'Ticket::CustomerID::Same', NOW(), 1, NOW(), 1),
    ('ACME', 2, 'ro', 1, 'Ticket::CustomerID::Other', NOW(), 1, NOW(), 1)`,
}

func TestSQLStoreReadsExistingZnunyDatabase(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := testCtx(t)
	for _, q := range znunyDDL {
		_, err := d.DB.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	schema := func() map[string]string {
		rows, err := d.DB.QueryContext(ctx, `SELECT TABLE_NAME, GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE, ' ', IS_NULLABLE) ORDER BY ORDINAL_POSITION)
			FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME`)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var n, c string
			require.NoError(t, rows.Scan(&n, &c))
			out[n] = c
		}
		return out
	}
	before := schema()

	// An account that may read and write rows but not create tables, as a
	// product is often given on a Znuny database.
	account := "app_" + d.Name[len(d.Name)-8:]
	for _, q := range []string{
		"CREATE USER '" + account + "'@'%' IDENTIFIED BY 'app-pw'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON `" + d.Name + "`.* TO '" + account + "'@'%'",
	} {
		_, err := d.DB.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	t.Cleanup(func() { _, _ = d.DB.ExecContext(context.Background(), "DROP USER '"+account+"'@'%'") })
	cfg := d.Server.Config(d.Name)
	cfg.User, cfg.Passwd = account, "app-pw"
	conn, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	appDB := sql.OpenDB(conn)
	t.Cleanup(func() { _ = appDB.Close() })

	s, err := groups.NewSQLStore(ctx, appDB, groups.SQLConfig{})
	require.NoError(t, err)
	assert.Equal(t, groups.TableZnuny, s.GroupsTable(), "detected")
	gl, err := s.Groups(ctx)
	require.NoError(t, err)
	require.Len(t, gl, 4)
	assert.Equal(t, groups.Group{ID: 2, Name: "admin", Comment: "Group of all administrators.", Valid: backend.Valid}, gl[0])
	assert.Equal(t, groups.Group{ID: 4, Name: "retired", Valid: backend.Invalid}, gl[1])

	r, err := groups.NewResolver(s, groups.Config{Support: true, AlwaysGroups: []string{"users"}})
	require.NoError(t, err)
	u := backend.CustomerUser{Login: "mmuster", CustomerID: "acme", Valid: backend.Valid}
	ps, err := r.Groups(ctx, u)
	require.NoError(t, err)
	assert.Equal(t, []backend.GroupPermission{
		{Group: "admin", Permission: "create"}, {Group: "admin", Permission: "ro"},
		{Group: "stats", Permission: "rw"}, {Group: "users", Permission: "rw"},
	}, ps, "own rows, the company's same-context rows, the always-group; not value 0, not the invalid group")
	other, err := r.OtherGrants(ctx, u)
	require.NoError(t, err)
	assert.Equal(t, []groups.Grant{{Group: "admin", Key: "ro", CustomerID: "ACME", Context: groups.ContextOther, GroupValid: backend.Valid}}, other)

	// A write is done the way Znuny does it, so Znuny reads it back.
	require.NoError(t, s.SetMemberPermissions(ctx, "users", "MMUSTER", map[string]bool{"ro": true}))
	var n int
	require.NoError(t, d.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM group_customer_user WHERE user_id = 'MMUSTER' AND group_id = 1 AND permission_key = 'ro' AND permission_value = 1 AND create_by = 1`).Scan(&n))
	assert.Equal(t, 1, n)
	require.NoError(t, s.SetCompanyPermissions(ctx, "admin", "acme", groups.ContextOther, map[string]bool{"rw": true}))
	require.NoError(t, d.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM group_customer WHERE group_id = 2 AND permission_context = 'Ticket::CustomerID::Other'`).Scan(&n))
	assert.Equal(t, 1, n, "the ACME row was replaced")

	assert.Equal(t, before, schema(), "no table was created or altered")
}

func TestSQLStoreOnOTRS6GroupsTable(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := testCtx(t)
	s, err := groups.NewSQLStore(ctx, d.DB, groups.SQLConfig{GroupsTable: groups.TableOTRS})
	require.NoError(t, err, "`groups` is quoted everywhere (a reserved word in MySQL 8)")
	_, err = s.AddGroup(ctx, groups.Group{Name: "users"})
	require.NoError(t, err)
	require.NoError(t, s.SetMemberPermissions(ctx, "users", "anna", map[string]bool{"ro": true}))
	found, err := groups.DetectGroupsTable(ctx, d.DB)
	require.NoError(t, err)
	assert.Equal(t, groups.TableOTRS, found)
	detected, err := groups.NewSQLStore(ctx, d.DB, groups.SQLConfig{})
	require.NoError(t, err)
	gs, err := detected.UserGrants(ctx, "ANNA")
	require.NoError(t, err)
	assert.Equal(t, []groups.Grant{{Group: "users", Key: "ro", Login: "anna", GroupValid: backend.Valid}}, gs)
}

func TestNewResolverNeedsAStore(t *testing.T) {
	_, err := groups.NewResolver(nil, groups.Config{})
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Config.Store", ve.Field)
}

func TestResolverConfigIsCopied(t *testing.T) {
	ctx := testCtx(t)
	s := groups.NewMemoryStore()
	_, err := s.AddGroup(ctx, groups.Group{Name: "users"})
	require.NoError(t, err)
	cfg := groups.Config{Support: true, AlwaysGroups: []string{"users"}, SupportBySource: map[string]bool{"db": true}}
	r, err := groups.NewResolver(s, cfg)
	require.NoError(t, err)
	cfg.AlwaysGroups[0] = "other"
	cfg.SupportBySource["db"] = false
	ps, err := r.Groups(ctx, backend.CustomerUser{Login: "x", Source: "db"})
	require.NoError(t, err)
	assert.Equal(t, []backend.GroupPermission{{Group: "users", Permission: "rw"}}, ps)
	assert.True(t, r.SupportFor(backend.CustomerUser{Source: "db"}))
}
