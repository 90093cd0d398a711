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
// form when Config.Hasher is nil, because Znuny and OTOBO read "$2a$" hashes
// as md5-crypt and would lock the user out during a migration; a non-nil
// Hasher means exactly what it says (&password.Hasher{} writes "$2a$").
// New passwords are at most 72 bytes (backend.CheckPassword).
//
// # Identity: the rule, whatever the collation
//
// Two logins (or emails, or customer IDs) are one identity iff their
// backend.IdentityKey is equal: NFC plus Unicode simple case folding, and
// nothing more ("rené" and "rene", "straße" and "strasse", "ａｌｉｃｅ" and
// "alice", "dev😀" and "dev😁" are different users; "ÄRGER" and "ärger",
// the Kelvin sign and "k" are one). No MySQL/MariaDB collation is exactly
// that rule, so the backend lets the collation find candidates and decides
// in Go:
//
//   - Every row a lookup returns (Get, Authenticate, Query.Login, Email and
//     CustomerID, the uniqueness checks, the user_id of further customer
//     IDs) is re-checked by IdentityKey; a row of another identity is
//     ignored and logged (backend.LogIdentityMismatch). Two stored rows of
//     one identity (a legacy table without a unique index) give the one
//     spelled exactly as asked, or none (backend.LogAmbiguousIdentity).
//   - Uniqueness of logins and (unless AllowDuplicateEmail) emails is
//     enforced by IdentityKey inside the writing transaction, not only by
//     the collation. The check and the write hold a named lock (GET_LOCK)
//     per identity key, so concurrent writers of one identity wait for each
//     other, while writers of different users never do (the locking reads
//     of InnoDB would take gap locks, which deadlock concurrent inserts).
//     Writers outside this library (OTRS itself) are held only by the
//     unique index.
//   - On a collation that finds every spelling of an identity (the UCA
//     ones: uca1400, 0900, unicode_ci), "col = ?" on the column's index is
//     enough. On one that does not, every uniqueness check compares once
//     more under the server's UCA collation, which scans the table. Reads
//     do so only on case-sensitive collations (_bin, _cs), where the
//     index misses every other case of a login (Authenticate then always
//     compares so, so that a hit costs what a miss costs). On
//     utf8mb4_general_ci reads stay on the index: a legacy row in an
//     exotic spelling (the Kelvin sign, which general_ci tells from "k")
//     is found by the spellings general_ci equals to it only, and is
//     unknown to the others; it is never confused with another identity.
//
// CreateSchema makes new tables exact: the login, email and customer_id
// columns are utf8mb4_bin (so the unique index never refuses a distinct
// identity), each with a virtual copy ("login_ci", ...) in the server's
// accent-sensitive case-insensitive collation and an index on it, which the
// lookups use. The collation is detected on every supported server: MariaDB
// 10.10+ utf8mb4_uca1400_as_ci (information_schema lists it as
// "uca1400_as_ci"; the full name is in
// COLLATION_CHARACTER_SET_APPLICABILITY), MySQL 8 utf8mb4_0900_as_ci, older
// servers, which have no accent-sensitive case-insensitive utf8mb4
// collation, utf8mb4_unicode_520_ci or utf8mb4_unicode_ci. With
// Config.Collation set the tables use that collation throughout. An
// existing OTRS table is used as it is: its utf8mb4_general_ci unique index
// is looser than the rule and may refuse the second of two distinct
// identities ("rene" after "rené") as a duplicate; it never makes the
// backend return or authenticate the other one.
//
// # Search
//
// A Query's search words (backend.ParseSearch) compile to one group per word,
// "(login LIKE ? OR first_name LIKE ? OR ...)" over Config.SearchFields, ANDed.
// Words are parameters with '%', '_' and '\' escaped (ESCAPE '\'), never SQL
// text. Matching folds case and accents ("muller" finds "Müller"): the LIKE
// runs on an accent-insensitive form of each column (the column itself on
// utf8mb4_general_ci or unicode_ci; on new tables a virtual copy
// "<column>_sfold" in the server's accent-insensitive UCA collation, with an
// index, which CreateSchema adds and the server maintains, also for rows
// OTRS writes; otherwise the column converted to that collation, which no
// index serves), and every row is re-checked in Go with backend.SearchFold,
// as are excluded words, which are matched in Go only. A phrase also
// matches the full name ("maria meier"). With Config.MatchPrefix a pattern
// has no leading '%', so MariaDB answers from the indexes (index_merge)
// instead of scanning the table. Rare expansions ("strasse" for "Straße")
// that the collation's LIKE does not make are not found by SQL.
//
// Results are in login order (backend.CompareLogins), read from an index so
// that LIMIT stops after the page instead of sorting every match: every
// write stores the login's identity key in "<login>_ikey" (utf8mb4_bin)
// with the login it was computed from ("<login>_ikey_of"); the virtual
// column "<login>_isort" is the key while the login is unchanged, else
// NULL, and the index on ("<login>_isort", login) gives the order. New
// tables get them from CreateSchema; on an existing table New logs
// LogMissingIndexes with the ALTER TABLE that adds them (then run
// Reindex). Query.After is a keyset cursor on the same order, so an admin
// list pages through any number of users without offsets; rows the Go
// re-check drops are replaced by reading on from the last row, until Limit
// (at most backend.MaxLimit) is reached.
//
// Rows another application (Znuny) inserts or renames have no current key
// ("<login>_isort" is NULL, which sorts first): a search that matches one
// sees it in its first batch, logs LogStaleSortKeys (at most every ten
// minutes) and answers exactly another way: the logins of every match
// (the same scan or index ranges, without sorting whole rows) are ordered
// in Go and the first page of rows is read. Backend.Reindex stores the
// missing keys (batched, reading the stale rows from the index); run it
// from a cron job where Znuny writes to the table. Tables without the sort
// index are searched that way too.
//
// A substring search (no B-tree index serves '%word%') is answered from
// the trigram index when a word of it has a trigram that at most 20,000
// users have: the side table "<table>_ngram" (gram, uid) holds, for every
// user, the hashes of the three-rune sequences of its search values folded
// by backend.SearchFold (and of the full name); the candidates that have
// all of the word's rarest trigrams, the stale rows (below) and the users
// whose further customer IDs match the word are narrowed by the query's
// own conditions, ordered in Go and paged. The index only ever selects too
// many users, never too few, so answers are those of a scan. Every Add,
// Update and Import (unless ImportOptions.DeferSearchIndex) keeps it
// current in the same transaction; an update that changes no search value
// costs nothing. Rows another application writes are detected by the
// server itself: the virtual, indexed column "ngram_stale" compares the
// MD5 of the row's search columns with the one the backend stored
// ("ngram_sum"); a search takes such rows as candidates (so Znuny's writes
// are found within a second: the list of stale rows is reused that long
// across searches), and with more than 10,000 of them logs
// LogStaleNgrams and scans until Backend.Reindex has indexed them.
// The further customer IDs have an index of the same kind
// ("<CustomerIDsTable>_ngram", keyed by the further-ID row's id, with
// "ngram_sum" and "ngram_stale" on that table over user_id and
// customer_id), so that the users whose further IDs contain a word are
// looked up instead of found by a scan of that table; rows an update
// replaces leave trigrams that point nowhere (space, not results).
// After a Reindex (or Import) of many rows, InnoDB purges the index
// entries the flipped ngram_stale left in the background; until it has,
// each search through the index reads past them (about 0.2 s right after
// 1,000,000 rows, nothing once purged).
// CreateSchema creates both indexes for tables in substring mode (not
// with MatchPrefix, where B-tree indexes serve); on an existing table New
// logs the statements that add them. A word whose every trigram is frequent, or
// that has none (shorter than three runes), reads the sort index in order
// with a bound (MariaDB's LIMIT ... ROWS EXAMINED, 100 rows per result,
// 5,000 to 50,000): a frequent word fills the page early; when the bound
// is reached first it scans as above. On MySQL it always scans.
//
// # Further customer IDs
//
// They decide which tickets a user sees, so they are read completely or not
// at all: a lookup reads them with the row through a LEFT JOIN on the index
// of user_id (one query, no subquery), a search batch in one "user_id IN
// (...)" query. A user may have at most backend.MaxCustomerIDs in all; a
// stored user with more gives a *backend.ValidationError (Field
// CustomerIDs) instead of a part of them. Lookups run through statements
// prepared once per *sql.DB (Backend.Close releases them); interpolateParams
// in the DSN saves the round trip of preparing on each new connection too.
//
// # Bulk import
//
// Backend.Import loads records with their stored hashes (a migration) in
// batches of one transaction and multi-row INSERTs each, checks logins and
// emails through their indexes, reports progress after each batch and,
// with ImportOptions.SkipExisting, resumes an interrupted import.
//
// # Authenticate
//
// An unknown or malformed login, an unusable password and a user without a
// password are refused after the work of a wrong password (the lookup, a
// dummy bcrypt hash) and padded to the typical time of a wrong password
// (backend.RefusalTimer), so no refusal tells which logins exist. A ctx
// that ends during hashing ends the call with ctx's error.
//
// # Writes
//
// Add, Update (a rename moves the user's rows of customer_user_customer) and
// SetPassword each run in one transaction: if any statement fails, nothing
// is written. A transaction InnoDB chose as a deadlock victim is retried up
// to three times. Update with a zero Valid keeps the stored state; with
// u.ChangedAt set it refuses with backend.ErrConflict when the stored
// change_time differs (compared at whole seconds, as DATETIME stores it).
// Every write moves change_time strictly forward (to now, or one second
// past the stored value), so that two writes within one second still
// differ; a rehash at login does not move it.
//
// # Read replicas
//
// Config.ReadDB takes a second *sql.DB on a replica of the primary's
// database (MySQL or MariaDB replication; New reads the table's layout from
// the primary only). Get and Search read from the replica. Everything that
// decides something reads the primary: Add, Update and SetPassword with
// their uniqueness checks and every read inside their transactions (so the
// optimistic check of Update compares u.ChangedAt with the primary's
// change_time, and a form filled from a stale Get is refused with
// backend.ErrConflict, never written over a newer record), Import, Reindex,
// and Authenticate, which reads the stored hash and the record it returns
// from the primary, so that an old password never works after SetPassword
// however far the replica lags.
//
// A read from the replica is as stale as the replica's replication lag, and
// the library adds no bound of its own: with replication stopped, without
// limit. A user just added may not be found yet, an updated or invalidated
// user shows its old fields, a renamed one its old login. There is no
// read-your-writes across a write and a read on the replica: a caller that
// needs it reads through a backend without ReadDB (or waits for the
// replica with MASTER_GTID_WAIT, as this package's tests do). Watch the
// replica's lag (Seconds_Behind_Master) in the monitoring.
//
// A read that cannot reach the replica (what gives backend.ErrUnavailable:
// a refused or broken connection, too many connections, a server shutting
// down) is answered by the primary instead, not with an error, and
// LogReplicaDown is logged, at most once a minute. Reads then stay on the
// primary for Config.ReplicaRetry (5 s) before one tries the replica again;
// LogReplicaBack is logged when it answers. Other errors of the replica (a
// table it lacks) are the read's error. Give the replica's DSN a short dial
// Timeout: a replica that does not answer at all costs one read that long
// per ReplicaRetry.
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
// back. A duplicate key gives backend.ErrDuplicateLogin, or ErrDuplicateEmail
// when the unique index it violated holds the email column (decided by the
// index, not by its name), a value too long for a legacy column a
// *backend.ValidationError naming the field, a done context an error
// wrapping ctx.Err(). Configuration problems are backend config errors
// ("customeruser <name>: config: ...", errors.Is backend.ErrInvalidInput),
// all of them at once. Events the backend cannot return are logged to
// Config.Logger (nil: slog.Default()) with the messages and attributes of
// package backend; never a password or hash. Neither a Backend nor a Config
// prints a secret: a Config holds none (no DSN), a Backend prints its name.
package sqlbackend
