package sqlbackend_test

import (
	"context"
	"database/sql"
	"io"
	"log"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

func TestMain(m *testing.M) {
	// The driver logs broken connections (the restart test makes many).
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	os.Exit(testmysql.Run(m))
}

// testHasher keeps bcrypt cheap in tests.
var testHasher = password.Hasher{Cost: 4, Format: password.FormatOTRS}

// newBackend creates a fresh database with the schema of cfg and a backend
// over it.
func newBackend(t testing.TB, cfg sqlbackend.Config) (*sqlbackend.Backend, *testmysql.Database) {
	t.Helper()
	d := testmysql.NewDatabase(t)
	return newBackendOn(t, d.DB, cfg), d
}

func newBackendOn(t testing.TB, db *sql.DB, cfg sqlbackend.Config) *sqlbackend.Backend {
	t.Helper()
	if cfg.Hasher == nil {
		cfg.Hasher = &testHasher
	}
	require.NoError(t, sqlbackend.CreateSchema(context.Background(), db, cfg))
	b, err := sqlbackend.New(db, cfg)
	require.NoError(t, err)
	return b
}

func sampleUser(login string) backend.CustomerUser {
	return backend.CustomerUser{
		Login: login, FirstName: "First " + login, LastName: "Last", Email: login + "@example.com",
		CustomerID: "ACME", Valid: backend.Valid,
	}
}

func countRows(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func testmysqlDatabase(t testing.TB) *sql.DB { return testmysql.NewDatabase(t).DB }

func openConfig(t testing.TB, cfg *mysql.Config) *sql.DB {
	t.Helper()
	c, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// exampleHasher keeps bcrypt cheap in the examples.
var exampleHasher = testHasher

// examplePair gives a runnable example the shared primary and replica pair
// and a fresh database on it. An example cannot skip: it starts the pair
// under -short too, and ends the test binary when MariaDB is missing.
func examplePair() (pair *testmysql.Pair, dbName string, done func()) {
	pair, err := testmysql.OpenSharedPair()
	if err != nil {
		log.Fatal(err)
	}
	dbName, drop, err := pair.CreateDatabase(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	return pair, dbName, drop
}
