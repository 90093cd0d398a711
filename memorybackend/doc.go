// Package memorybackend is the in-memory customer-user backend: the embedded
// default of small installations, the test double of a real helpdesk, and
// the reference implementation of the backend.CustomerUserBackend contract.
//
// A Backend keeps every user in memory behind a sync.RWMutex, with login and
// email indexes keyed by the identity rule of package backend
// (backend.IdentityKey: NFC and case folding, nothing more; Get is one map
// lookup) and the users in the order of search results
// (backend.CompareLogins), so that a search scan starts at a keyset cursor
// (Query.After) and stops at its limit. Each user carries one precomputed
// string of its search fields folded for search (backend.SearchFold: case
// and accents, so "muller" finds "Müller"; with first and last name, the full
// name too, so a phrase finds "Maria Meier"); with Config.MatchPrefix a
// sorted index of the field values answers prefix searches with a binary
// search. Returned users are copies: changing them changes nothing stored.
//
// Update with a zero Valid keeps the stored state; with u.ChangedAt set it
// refuses with backend.ErrConflict when the stored record changed since
// (every write moves ChangedAt forward, by a nanosecond if the clock has not
// moved). Every refused login takes the time of a wrong password, and a
// context that ends during hashing ends the call. Users, configurations and
// the backend print no password or hash through fmt, encoding/json or
// log/slog.
//
// Users can be loaded at construction (Config.Users, for example from a JSON
// file read with LoadFile), which is also how a read-only backend gets its
// data. Passwords are hashed with Config.Hasher (nil: standard bcrypt at the
// default cost, the same as a zero password.Hasher in every backend);
// stored hashes in any format of the OTRS family are verified and upgraded on
// the next successful login.
//
// Writes that need a new hash compute it outside the lock. Adding, renaming
// and changing a user cost O(n) in the number of users (a sorted slice is
// updated), which at 100,000 users is well below the cost of one bcrypt hash.
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
