package tickets_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/tickets"
)

func TestMain(m *testing.M) { os.Exit(testmysql.Run(m)) }

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestStatic(t *testing.T) {
	in := []tickets.Queue{
		{ID: 2, Name: "support", Group: "g2"},
		{ID: 1, Name: "Billing", Group: "g1", Valid: backend.Invalid},
	}
	src := tickets.Static(in...)
	in[0].Name = "changed"
	qs, err := src.Queues(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, []tickets.Queue{
		{ID: 1, Name: "Billing", Group: "g1", Valid: backend.Invalid},
		{ID: 2, Name: "support", Group: "g2", Valid: backend.Valid},
	}, qs, "a copy, ordered by name, zero Valid is valid")
	qs[0].Name = "x"
	again, err := src.Queues(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "Billing", again[0].Name, "the caller's copy")
	assert.Equal(t, int64(2), tickets.ByName(again)[backend.IdentityKey("SUPPORT")].ID)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = src.Queues(cancelled)
	assert.ErrorIs(t, err, context.Canceled)
}

// The queue table as Znuny 7 creates it (scripts/database/schema.mysql.sql),
// with the shipped queues and one in an invalid state.
var znunyQueues = []string{
	`CREATE TABLE permission_groups (
    id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR (200) NOT NULL, comments VARCHAR (250) NULL,
    valid_id SMALLINT NOT NULL, create_time DATETIME NOT NULL, create_by INTEGER NOT NULL,
    change_time DATETIME NOT NULL, change_by INTEGER NOT NULL,
    PRIMARY KEY(id), UNIQUE INDEX permission_groups_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
	`CREATE TABLE queue (
    id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR (200) NOT NULL, group_id INTEGER NOT NULL,
    unlock_timeout INTEGER NULL, first_response_time INTEGER NULL, first_response_notify SMALLINT NULL,
    update_time INTEGER NULL, update_notify SMALLINT NULL, solution_time INTEGER NULL, solution_notify SMALLINT NULL,
    system_address_id SMALLINT NOT NULL, calendar_name VARCHAR (100) NULL, default_sign_key VARCHAR (100) NULL,
    salutation_id SMALLINT NOT NULL, signature_id SMALLINT NOT NULL, follow_up_id SMALLINT NOT NULL,
    follow_up_lock SMALLINT NOT NULL, comments VARCHAR (250) NULL, valid_id SMALLINT NOT NULL,
    create_time DATETIME NOT NULL, create_by INTEGER NOT NULL, change_time DATETIME NOT NULL, change_by INTEGER NOT NULL,
    PRIMARY KEY(id), UNIQUE INDEX queue_name (name), INDEX queue_group_id (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
	`INSERT INTO permission_groups (id, name, comments, valid_id, create_time, create_by, change_time, change_by) VALUES
    (1, 'users', NULL, 1, NOW(), 1, NOW(), 1), (2, 'admin', NULL, 1, NOW(), 1, NOW(), 1)`,
	`INSERT INTO queue (id, name, group_id, system_address_id, salutation_id, signature_id, follow_up_id, follow_up_lock, valid_id, create_time, create_by, change_time, change_by) VALUES
    (1, 'Postmaster', 1, 1, 1, 1, 1, 0, 1, NOW(), 1, NOW(), 1),
    (2, 'Raw', 1, 1, 1, 1, 1, 0, 1, NOW(), 1, NOW(), 1),
    (3, 'Junk', 1, 1, 1, 1, 1, 0, 1, NOW(), 1, NOW(), 1),
    (4, 'Misc', 2, 1, 1, 1, 1, 0, 2, NOW(), 1, NOW(), 1),
    (5, 'Orphan', 99, 1, 1, 1, 1, 0, 1, NOW(), 1, NOW(), 1)`,
}

func TestSQLQueueSourceReadsZnuny(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := testCtx(t)
	for _, q := range znunyQueues {
		_, err := d.DB.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	src, err := tickets.NewSQLQueueSource(ctx, d.DB, tickets.SQLConfig{})
	require.NoError(t, err)
	qs, err := src.Queues(ctx)
	require.NoError(t, err)
	assert.Equal(t, []tickets.Queue{
		{ID: 3, Name: "Junk", Group: "users", Valid: backend.Valid},
		{ID: 4, Name: "Misc", Group: "admin", Valid: backend.Invalid},
		{ID: 5, Name: "Orphan", Group: "", Valid: backend.Valid},
		{ID: 1, Name: "Postmaster", Group: "users", Valid: backend.Valid},
		{ID: 2, Name: "Raw", Group: "users", Valid: backend.Valid},
	}, qs)
}

func TestSQLQueueSourceSharesTheGroupsTable(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := testCtx(t)
	store, err := groups.NewSQLStore(ctx, d.DB, groups.SQLConfig{GroupsTable: groups.TableOTOBO})
	require.NoError(t, err)
	g, err := store.AddGroup(ctx, groups.Group{Name: "support"})
	require.NoError(t, err)
	_, err = d.DB.ExecContext(ctx, "CREATE TABLE queue (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, group_id INTEGER NOT NULL, valid_id SMALLINT NOT NULL)")
	require.NoError(t, err)
	_, err = d.DB.ExecContext(ctx, "INSERT INTO queue (name, group_id, valid_id) VALUES (?, ?, 1)", "Support", g.ID)
	require.NoError(t, err)
	src, err := tickets.NewSQLQueueSource(ctx, d.DB, tickets.SQLConfig{})
	require.NoError(t, err)
	qs, err := src.Queues(ctx)
	require.NoError(t, err)
	assert.Equal(t, []tickets.Queue{{ID: 1, Name: "Support", Group: "support", Valid: backend.Valid}}, qs, "the OTOBO groups_table is detected")
}

func TestSQLQueueSourceConfig(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := testCtx(t)
	_, err := tickets.NewSQLQueueSource(ctx, d.DB, tickets.SQLConfig{})
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve, "no groups table")
	assert.Equal(t, "Config.GroupsTable", ve.Field)
	_, err = tickets.NewSQLQueueSource(ctx, d.DB, tickets.SQLConfig{QueueTable: "queue`; DROP", GroupsTable: "g roups"})
	var ves backend.ValidationErrors
	require.ErrorAs(t, err, &ves)
	assert.Equal(t, []string{"Config.QueueTable", "Config.GroupsTable"}, ves.Fields())
	_, err = tickets.NewSQLQueueSource(ctx, nil, tickets.SQLConfig{})
	assert.ErrorIs(t, err, backend.ErrInvalidInput)
}
