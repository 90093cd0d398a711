// Package sqlbackend keeps customer users in a MySQL or MariaDB table through
// database/sql and github.com/go-sql-driver/mysql, compatible with the
// customer_user table of an existing OTRS, Znuny or OTOBO database.
//
//	db, err := sql.Open("mysql", mysql.Config{ /* ... */ ParseTime: true}.FormatDSN())
//	...
//	if err := sqlbackend.CreateSchema(ctx, db, sqlbackend.Config{}); err != nil { ... }
//	users, err := sqlbackend.New(db, sqlbackend.Config{Name: "customers"})
//	...
//	u, err := users.Authenticate(ctx, "jdoe", password)
//
// # Schema and OTRS compatibility
//
// The default layout is the OTRS one: table customer_user with login, email,
// customer_id, pw, title, first_name, last_name, phone, fax, mobile, street,
// zip, city, country, comments, valid_id (1 valid, 2 invalid, 3
// invalid-temporarily), create_time, create_by, change_time, change_by, and
// table customer_user_customer (user_id, customer_id) for the further
// customer IDs of a user. Config.Columns renames columns (or leaves optional
// ones out), Config.Attributes maps extra attributes to extra columns. New
// checks that every mapped column exists and names those that do not.
// CreateSchema creates what is missing (tables, and the indexes on email,
// customer_id, first_name and last_name that OTRS lacks) and never alters an
// existing column, so OTRS keeps working on a shared table.
//
// Stored passwords of every OTRS format (sha2, sha1, sha512, md5-crypt, apr1,
// BCRYPT:..., crypt, plain) verify as they are; the first successful login
// replaces a weaker hash by bcrypt. New hashes are written in the OTRS bcrypt
// form by default (Config.Hasher), because Znuny and OTOBO read "$2a$" hashes
// as md5-crypt and would lock the user out during a migration.
//
// # Case-insensitive logins, whatever the collation
//
// New reads the collation of the login, email and customer_id columns. On a
// case-insensitive (_ci) collation the queries compare the column itself
// ("login = ?", "login LIKE ?"), so the unique index and the other indexes
// serve exact lookups and prefix searches. On a case-sensitive collation
// (_bin, _cs) or a binary column they compare LOWER(column) with LOWER(?):
// correct, but no index helps, so every lookup scans the table (about as
// costly as the OTRS search; fine for thousands of users, slow for
// millions; prefer a _ci collation). CreateSchema picks an accent-sensitive
// _ci collation (utf8mb4_uca1400_as_ci on MariaDB 10.10+, utf8mb4_0900_as_ci on
// MySQL 8), so that "rene" and "René" stay different logins; with an
// accent-insensitive collation such as utf8mb4_general_ci the unique index
// refuses the second of them. Uniqueness of logins and emails is checked
// case-insensitively inside the writing transaction, in addition to the
// unique index, so a _bin table cannot get "Bob" next to "bob" either. The
// check and the write hold a named lock (GET_LOCK) per lower-cased login and
// email, so concurrent writers of the same login wait for each other, while
// writers of different users never do (row gap locks, the alternative,
// deadlock concurrent inserts).
//
// # Search
//
// A Query's search words (backend.ParseSearch) compile to one group per word,
// "(login LIKE ? OR first_name LIKE ? OR ...)" over Config.SearchFields, ANDed;
// an excluded word becomes "(col IS NULL OR NOT col LIKE ?) AND ...". Words
// are parameters with '%', '_' and '\' escaped (ESCAPE '\'), never SQL text.
// With Config.MatchPrefix a pattern has no leading '%', so MariaDB answers
// from the columns' indexes (index_merge) instead of scanning the table.
// Results are ordered by lower-cased login in code-point order (the order of
// backend.SortByLogin, whatever the collation); Limit caps them. That order
// is not the order of any index, so MariaDB sorts the matching rows (with a
// bounded priority queue for the limit): negligible for a search, about
// 50 ms for listing all of 100,000 users without criteria.
//
// # Writes
//
// Add, Update (a rename moves the user's rows of customer_user_customer) and
// SetPassword each run in one transaction: if any statement fails, nothing
// is written. A transaction InnoDB chose as a deadlock victim is retried up
// to three times.
//
// # Connections and errors
//
// Unless Config.KeepPool is set, New applies Config.Pool to the *sql.DB:
// 16 open and idle connections, a connection lifetime of 3 minutes but at
// most half of the server's wait_timeout (so the server never closes a
// connection the pool still holds), and 1 minute of idle time. Use
// mysql.Config{...}.FormatDSN() with ParseTime true and a dial Timeout.
//
// Every error names the backend and the operation ("customeruser sql: get:
// ..."). An unreachable server, a refused or broken connection and a server
// shutting down give errors matching backend.ErrUnavailable; the pool
// reconnects by itself, so the same *Backend works again once the server is
// back. A duplicate key gives backend.ErrDuplicateLogin (or ErrDuplicateEmail),
// a value too long for a legacy column a *backend.ValidationError, a done
// context an error wrapping ctx.Err().
package sqlbackend
