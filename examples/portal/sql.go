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

// The SQL flag, as in examples/switching: -backend sql -dsn '...'.
var sqlDSN = flag.String("dsn", "", "MySQL/MariaDB data source name for -backend sql, "+
	"e.g. 'otrs:secret@tcp(127.0.0.1:3306)/otrs' (the customer_user table is created if missing)")

func init() { openers["sql"] = openSQL }

// openSQL opens the database of -dsn, creates the customer-user tables when
// they are missing (an existing OTRS/Znuny table is used as it is) and
// returns the backend with a function that closes the database.
func openSQL(ctx context.Context) (backend.CustomerUserBackend, func(), error) {
	if *sqlDSN == "" {
		return nil, nil, errors.New("-backend sql needs the flag -dsn (for example -dsn 'user:password@tcp(127.0.0.1:3306)/otrs')")
	}
	mc, err := mysql.ParseDSN(*sqlDSN)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn: %w", err)
	}
	mc.ParseTime = true
	if mc.Timeout == 0 {
		mc.Timeout = 5 * time.Second
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn: %w", err)
	}
	db := sql.OpenDB(conn)
	// The OTRS bcrypt form, so that a Znuny sharing the table verifies it.
	sc := sqlbackend.Config{Name: "sql", Hasher: &password.Hasher{Format: password.FormatOTRS, Cost: hasher.Cost}}
	b, err := func() (*sqlbackend.Backend, error) {
		if err := sqlbackend.CreateSchema(ctx, db, sc); err != nil {
			return nil, err
		}
		return sqlbackend.New(db, sc)
	}()
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return b, func() { _ = db.Close() }, nil
}
