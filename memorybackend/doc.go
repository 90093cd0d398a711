// Package memorybackend is the in-memory customer-user backend: the embedded
// default of small installations, the test double of a real helpdesk, and
// the reference implementation of the backend.CustomerUserBackend contract.
//
// A Backend keeps every user in memory behind a sync.RWMutex, with
// case-insensitive login and email indexes (Get is one map lookup) and the
// users in the order of search results (lower-cased login), so that a search
// scan can stop at its limit. Each user carries one precomputed lower-cased
// string of its search fields; with Config.MatchPrefix a sorted index of the
// field values answers prefix searches with a binary search. Returned users
// are copies: changing them changes nothing stored.
//
// Users can be loaded at construction (Config.Users, for example from a JSON
// file read with LoadFile), which is also how a read-only backend gets its
// data. Passwords are hashed with Config.Hasher (standard bcrypt by default);
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
