package sqlbackend_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// Opening the customer users of an OTRS/Znuny database. It needs a server,
// so it is compiled but not run.
func Example() {
	ctx := context.Background()
	connector, err := mysql.NewConnector(&mysql.Config{
		User: "otrs", Passwd: "secret", Net: "tcp", Addr: "127.0.0.1:3306", DBName: "otrs",
		ParseTime: true, Timeout: 5 * time.Second, AllowNativePasswords: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	// Creates what is missing; an existing customer_user table is used as it is.
	if err := sqlbackend.CreateSchema(ctx, db, sqlbackend.Config{}); err != nil {
		log.Fatal(err)
	}
	users, err := sqlbackend.New(db, sqlbackend.Config{Name: "otrs", MatchPrefix: true})
	if err != nil {
		log.Fatal(err)
	}
	u, err := users.Authenticate(ctx, "jdoe", "Secret123")
	if err != nil {
		log.Fatal(err) // errors.Is(err, backend.ErrInvalidCredentials), ErrAccountInvalid, ErrUnavailable
	}
	fmt.Println(u.FullName(), u.AllCustomerIDs())
	found, err := users.Search(ctx, backend.Query{Search: "doe !example.org", Limit: 20})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(found))
}

// Mapping a customized table: renamed columns, a column the table lacks, and
// an extra attribute.
func ExampleNew_columns() {
	var db *sql.DB // opened as in the package example
	users, err := sqlbackend.New(db, sqlbackend.Config{
		Table:            "portal_users",
		CustomerIDsTable: sqlbackend.NoColumn,
		Columns: map[string]string{
			sqlbackend.FieldLogin: "username",
			sqlbackend.FieldFax:   sqlbackend.NoColumn,
		},
		Attributes:   map[string]string{"department": "dept"},
		SearchFields: []string{sqlbackend.FieldLogin, sqlbackend.FieldLastName, "department"},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = users
}

// Paging through every customer user in login order with the keyset
// cursor, and an optimistic update that refuses to overwrite a newer save.
func ExampleBackend_Search_paging() {
	var users *sqlbackend.Backend // opened as in the package example
	ctx := context.Background()
	after := ""
	for {
		page, err := users.Search(ctx, backend.Query{IncludeInvalid: true, Limit: 500, After: after})
		if err != nil {
			log.Fatal(err)
		}
		for _, u := range page {
			fmt.Println(u.Login)
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Login
	}

	u, err := users.Get(ctx, "jdoe")
	if err != nil {
		log.Fatal(err)
	}
	u.City = "Berlin" // u.ChangedAt as read: "only if unchanged since"
	if _, err := users.Update(ctx, "jdoe", u); errors.Is(err, backend.ErrConflict) {
		fmt.Println("changed by someone else meanwhile: read again")
	}
}

// The hash format: nil is the OTRS form (Znuny and OTOBO on the same table
// verify it); a Hasher given means exactly what it says.
func ExampleConfig_hasher() {
	var db *sql.DB // opened as in the package example
	otrsForm, _ := sqlbackend.New(db, sqlbackend.Config{})
	standard, _ := sqlbackend.New(db, sqlbackend.Config{Hasher: &password.Hasher{Cost: 12}})
	_, _ = otrsForm, standard
}

// Migrating users from another system with their stored hashes (here OTRS
// sha2), in batches, resumable. It needs a server, so it is compiled but
// not run.
func ExampleBackend_Import() {
	ctx := context.Background()
	var db *sql.DB // opened as in the package example
	users, err := sqlbackend.New(db, sqlbackend.Config{})
	if err != nil {
		log.Fatal(err)
	}
	legacy := []sqlbackend.ImportRecord{{
		User: backend.CustomerUser{Login: "jdoe", FirstName: "John", LastName: "Doe", Email: "jdoe@example.com",
			CustomerID: "ACME", Valid: backend.Valid},
		PasswordHash: "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82",
	}}
	src := func(yield func(sqlbackend.ImportRecord, error) bool) {
		for _, r := range legacy {
			if !yield(r, nil) {
				return
			}
		}
	}
	p, err := users.Import(ctx, src, sqlbackend.ImportOptions{
		BatchSize:    2000,
		SkipExisting: true, // run it again after an interruption: it resumes
		Progress:     func(p sqlbackend.ImportProgress) { log.Printf("%d stored, last %s", p.Inserted, p.LastLogin) },
	})
	var ie *sqlbackend.ImportError
	if errors.As(err, &ie) {
		log.Fatalf("record %d (%s): %v", ie.Record, ie.Login, ie.Err)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Inserted, p.Skipped)
	// After another application wrote to the table:
	if _, err := users.Reindex(ctx, sqlbackend.ReindexOptions{}); err != nil {
		log.Fatal(err)
	}
}

// Reading from a replica: Get and Search go to Config.ReadDB, Authenticate
// and every write to the primary. It runs on the tests' throwaway MariaDB
// primary and replica (examplePair); a product opens its two pools the same
// way from its own two DSNs.
func ExampleConfig_readDB() {
	ctx := context.Background()
	pair, dbName, done := examplePair()
	defer done()
	open := func(cfg *mysql.Config) *sql.DB {
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			log.Fatal(err)
		}
		return sql.OpenDB(connector)
	}
	primary := open(pair.Primary.Config(dbName))
	defer primary.Close()
	replicaCfg := pair.Replica.Config(dbName)
	replicaCfg.Timeout = time.Second // a replica that does not answer costs a read this long
	replica := open(replicaCfg)
	defer replica.Close()

	if err := sqlbackend.CreateSchema(ctx, primary, sqlbackend.Config{}); err != nil {
		log.Fatal(err)
	}
	users, err := sqlbackend.New(primary, sqlbackend.Config{
		Name:   "customers",
		ReadDB: replica,
		Hasher: &exampleHasher, // a cheap bcrypt cost for the example; leave it nil in production
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = users.Add(ctx, backend.CustomerUser{Login: "jdoe", FirstName: "John", LastName: "Doe",
		Email: "jdoe@example.com", CustomerID: "ACME", Valid: backend.Valid}, "Secret123")
	if err != nil {
		log.Fatal(err)
	}
	// Authenticate reads the primary: a new user can log in at once, and
	// an old password never works after SetPassword.
	u, err := users.Authenticate(ctx, "jdoe", "Secret123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in:", u.Login)

	// Get and Search read the replica, as stale as its replication lag;
	// here we wait until it applied the Add.
	if err := pair.WaitCaughtUp(ctx); err != nil {
		log.Fatal(err)
	}
	u, err = users.Get(ctx, "JDoe")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("from the replica:", u.FullName())
	// Output:
	// logged in: jdoe
	// from the replica: John Doe
}
