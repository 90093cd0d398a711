package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

var sqlDSN = flag.String("dsn", "", "MySQL/MariaDB data source name for -backend sql, "+
	"e.g. 'otrs:secret@tcp(127.0.0.1:3306)/otrs' (the customer_user table is created if missing)")

func init() { openers["sql"] = openSQL }

// openSQL opens the database named by -dsn, creates the customer-user
// tables if they are missing (an existing OTRS/Znuny table is used as it
// is) and returns the backend with a function that closes the database.
func openSQL(ctx context.Context) (backend.CustomerUserBackend, func(), error) {
	if *sqlDSN == "" {
		return nil, nil, errors.New("-backend sql needs the flag -dsn (for example -dsn 'user:password@tcp(127.0.0.1:3306)/otrs')")
	}
	cfg, err := mysql.ParseDSN(*sqlDSN)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn: %w", err)
	}
	cfg.ParseTime = true
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn: %w", err)
	}
	db := sql.OpenDB(connector)
	// The OTRS bcrypt form, so that a Znuny or OTOBO sharing the table
	// verifies what this writes.
	cfgSQL := sqlbackend.Config{Hasher: &password.Hasher{Format: password.FormatOTRS, Cost: hasher.Cost}}
	if err := sqlbackend.CreateSchema(ctx, db, cfgSQL); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	b, err := sqlbackend.New(db, cfgSQL)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return b, func() { _ = db.Close() }, nil
}
