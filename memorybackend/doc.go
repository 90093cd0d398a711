// Package memorybackend is the in-memory customer-user backend: the embedded
// default of small installations, the test double of a real helpdesk, and
// the reference implementation of the backend.CustomerUserBackend contract
// (it passes every case of backend/backendtest).
//
// # Identity
//
// Logins, emails and customer IDs follow the identity rule of package
// backend: two values are the same identity if and only if their
// backend.IdentityKey is equal (Unicode NFC plus simple case folding, and
// nothing more). "ÄRGER" and "ärger", or "é" written as one code point and
// as "e" plus a combining accent, are one login; "rené" and "rene",
// "straße" and "strasse", full-width "ａｌｉｃｅ" and "alice", "dev😀" and
// "dev😁" are different users. Every index of the backend is keyed by
// IdentityKey, so Get, Authenticate, the Login, Email and CustomerID
// criteria of Search and the uniqueness checks of Add and Update can never
// return, authenticate or confuse a different identity. New logins and
// emails are stored in NFC; characters that only deceive (bidi controls,
// zero-width and other format characters) are refused.
//
// # Search
//
// Search words match case- and accent-insensitively ("muller" finds
// "Müller", backend.SearchFold) against the configured search fields
// (default: login, first name, last name, customer IDs, email, and the full
// name "FirstName LastName" so that the phrase "maria meier" finds Maria
// Meier), as substrings or, with Config.MatchPrefix, as prefixes. Each user
// keeps its search fields folded once, when it is stored. Results come in
// login order (backend.CompareLogins); Query.After continues after a login
// (keyset paging), starting at its place in the order rather than at the
// first user.
//
// # Storage
//
// A Backend keeps every user in memory behind a sync.RWMutex: maps from
// login, email and customer ID to the users (Get is one map lookup), and
// the users in login order, so that a search scan can stop at its limit.
// With Config.MatchPrefix a sorted index of the folded field values answers
// prefix searches; with Config.NGramIndex a trigram index answers
// substring searches of three characters or more without a scan. The
// ordered indexes are two-level B+-trees of sorted chunks and hold no
// positions, so adding, renaming and changing a user cost O(log n) plus a
// move within one chunk: microseconds at a million users (BENCHMARKS.md).
// New sorts once and loads every index in bulk. Returned users are copies:
// changing them changes nothing stored. Update is a whole-record
// replace in which a zero Valid keeps the stored state, and u.ChangedAt set
// is an optimistic check (backend.ErrConflict when the user changed since);
// every write moves ChangedAt forward.
//
// # Passwords
//
// Users can be loaded at construction (Config.Users, for example from a
// JSON file read with LoadFile), which is also how a read-only backend gets
// its data. New passwords (at most 72 bytes) are hashed with Config.Hasher:
// nil means password.Hasher{}, standard "$2a$" bcrypt at
// password.DefaultCost. Stored hashes in any format of the OTRS family are
// verified and upgraded on the next successful login. A refused login (an
// unknown or malformed login, a bad password, a user without password)
// takes the time of a wrong password, and a context that ends during the
// hashing ends the call. Neither User nor Config ever prints a password or
// hash (fmt, encoding/json, log/slog).
//
// Example:
//
//	b, err := memorybackend.New(memorybackend.Config{Name: "portal"})
//	if err != nil {
//		return err
//	}
//	_, err = b.Add(ctx, backend.CustomerUser{
//		Login: "hhuber", FirstName: "Hans", LastName: "Huber",
//		Email: "hans.huber@example.com", CustomerID: "ACME",
//	}, "correct horse battery staple")
//	users, err := b.Search(ctx, backend.Query{Search: "hans huber"})
//	u, err := b.Authenticate(ctx, "HHuber", "correct horse battery staple")
package memorybackend
