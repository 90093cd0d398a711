package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// The SQL flag, as in examples/switching: -backend sql -dsn '...'.
var sqlDSN = flag.String("dsn", "", "MySQL/MariaDB data source name for -backend sql, "+
	"e.g. 'otrs:secret@tcp(127.0.0.1:3306)/otrs' (the customer_user table is created if missing)")

func init() { openers["sql"] = openSQL }

// openSQL opens the database of -dsn, creates the OTRS tables that are
// missing (customer_user, customer_preferences and the group tables; existing
// ones are used as they are) and returns the backend, the preference store
// (failed-login counts and reset tokens shared by every instance) and the
// group store on it.
func openSQL(ctx context.Context) (stores, error) {
	if *sqlDSN == "" {
		return stores{}, errors.New("-backend sql needs the flag -dsn (for example -dsn 'user:password@tcp(127.0.0.1:3306)/otrs')")
	}
	mc, err := mysql.ParseDSN(*sqlDSN)
	if err != nil {
		return stores{}, fmt.Errorf("-dsn: %w", err)
	}
	mc.ParseTime = true
	if mc.Timeout == 0 {
		mc.Timeout = 5 * time.Second
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return stores{}, fmt.Errorf("-dsn: %w", err)
	}
	db := sql.OpenDB(conn)
	// The OTRS bcrypt form, so that a Znuny sharing the table verifies it.
	sc := sqlbackend.Config{Name: "sql", Hasher: &password.Hasher{Format: password.FormatOTRS, Cost: hasher.Cost}}
	st, err := func() (st stores, err error) {
		if err = sqlbackend.CreateSchema(ctx, db, sc); err != nil {
			return st, err
		}
		if st.Backend, err = sqlbackend.New(db, sc); err != nil {
			return st, err
		}
		if st.Prefs, err = policy.NewSQLPreferences(ctx, db, policy.SQLPreferencesConfig{CreateTable: true}); err != nil {
			return st, err
		}
		st.Groups, err = groups.NewSQLStore(ctx, db, groups.SQLConfig{})
		return st, err
	}()
	if err != nil {
		_ = db.Close()
		return stores{}, err
	}
	st.Close = func() { _ = db.Close() }
	return st, nil
}
