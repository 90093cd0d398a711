package tickets

import (
	"context"
	"database/sql"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

// SQLConfig configures a SQLQueueSource.
type SQLConfig struct {
	// QueueTable is the queue table; "" means "queue".
	QueueTable string
	// GroupsTable is the groups table; "" detects it as groups does
	// (groups.DetectGroupsTable).
	GroupsTable string
}

// SQLQueueSource reads the OTRS queue table (id, name, group_id, valid_id)
// joined to the groups table. It never writes and never creates a table.
type SQLQueueSource struct {
	db    *sql.DB
	query string
}

var _ QueueSource = (*SQLQueueSource)(nil)

// NewSQLQueueSource returns a QueueSource over db. It detects the groups
// table when cfg.GroupsTable is empty and fails when there is none.
func NewSQLQueueSource(ctx context.Context, db *sql.DB, cfg SQLConfig) (*SQLQueueSource, error) {
	const name = "tickets sql"
	if db == nil {
		return nil, backend.ConfigError(name, &backend.ValidationError{Field: "Config.DB", Reason: "required"})
	}
	if cfg.QueueTable == "" {
		cfg.QueueTable = "queue"
	}
	var problems []*backend.ValidationError
	for _, f := range [][2]string{{"Config.QueueTable", cfg.QueueTable}, {"Config.GroupsTable", cfg.GroupsTable}} {
		field, v := f[0], f[1]
		if v == "" {
			continue
		}
		if err := groups.CheckIdentifier(field, v); err != nil {
			problems = append(problems, err.(*backend.ValidationError))
		}
	}
	if len(problems) > 0 {
		return nil, backend.ConfigError(name, problems...)
	}
	if cfg.GroupsTable == "" {
		t, err := groups.DetectGroupsTable(ctx, db)
		if err != nil {
			return nil, backend.OpError(name, "detect groups table", err)
		}
		if t == "" {
			return nil, backend.ConfigError(name, &backend.ValidationError{Field: "Config.GroupsTable",
				Reason: "no groups table (permission_groups, groups_table or groups) in the database"})
		}
		cfg.GroupsTable = t
	}
	return &SQLQueueSource{db: db, query: "SELECT q.id, q.name, COALESCE(g.name, ''), q.valid_id FROM `" + cfg.QueueTable +
		"` q LEFT JOIN `" + cfg.GroupsTable + "` g ON g.id = q.group_id"}, nil
}

// Queues implements QueueSource. A queue whose group row is missing has an
// empty Group.
func (s *SQLQueueSource) Queues(ctx context.Context) ([]Queue, error) {
	fail := func(err error) error { return backend.OpError("tickets sql", "queues", err) }
	rows, err := s.db.QueryContext(ctx, s.query)
	if err != nil {
		return nil, fail(err)
	}
	defer rows.Close()
	var out []Queue
	for rows.Next() {
		var q Queue
		if err := rows.Scan(&q.ID, &q.Name, &q.Group, &q.Valid); err != nil {
			return nil, fail(err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err)
	}
	SortQueues(out)
	return out, nil
}
