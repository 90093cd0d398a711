package policy_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	"github.com/go-sql-driver/mysql"

	"github.com/helpdeskkit/customeruser/policy"
)

// A memory store finds a user's preferences under any spelling of the login
// and counts atomically.
func ExampleNewMemoryPreferences() {
	ctx := context.Background()
	prefs := policy.NewMemoryPreferences()
	_ = prefs.SetPreference(ctx, "HHuber", "UserLanguage", "de")
	for range 3 {
		_, _ = prefs.Increment(ctx, "hhuber", policy.KeyLoginFailed, 1)
	}
	p, _ := prefs.Preferences(ctx, "hhuber")
	fmt.Println(p["UserLanguage"], p[policy.KeyLoginFailed])
	logins, _ := prefs.LoginsWith(ctx, "UserLanguage", "de")
	fmt.Println(logins)
	// Output:
	// de 3
	// [HHuber]
}

// The Directory's preference store on the OTRS table of the helpdesk database, so
// that failed-login counts and reset tokens are shared by every instance and
// with a Znuny on the same database. (Not run: it needs the server.)
func ExampleNewSQLPreferences() {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "otrs", "secret", "tcp", "db.internal:3306", "otrs"
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	prefs, err := policy.NewSQLPreferences(context.Background(), db, policy.SQLPreferencesConfig{CreateTable: true})
	if err != nil {
		log.Fatal(err)
	}
	// Give it to the Directory: policy.Config{Preferences: prefs, ...}.
	n, err := prefs.Increment(context.Background(), "hhuber", policy.KeyLoginFailed, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("failed logins of hhuber:", n)
}
