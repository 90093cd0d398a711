// Package cache is a caching decorator for any backend.CustomerUserBackend
// (the OTRS CustomerUser CacheTTL, without OTRS's habit of wiping a
// backend's whole cache on every write), and the same for the group
// memberships of a groups.Store.
//
//	b, _ := sqlbackend.New(db, sqlbackend.Config{Name: "sql"})
//	c, _ := cache.New(b, cache.Config{MaxEntries: 100_000})
//	u, err := c.Get(ctx, "Anna") // from the backend; c.Get(ctx, "anna") is a hit
//
// # What is cached
//
// Get, including "not found" (NotFoundTTL, shorter than GetTTL); Search
// results (SearchTTL); email lookups, a Search whose only criterion is Email
// (EmailTTL). Entries are keyed by the identity rule (backend.IdentityKey),
// so "Anna" and "anna" are one entry. All kinds together are bounded by
// MaxEntries, least recently used evicted first. Errors are never cached
// (a "not found" of Get is an answer, not an error), and Authenticate always
// goes to the backend. Concurrent misses of one key make one backend call
// (golang.org/x/sync/singleflight); a caller whose context ends stops
// waiting for it. A hit copies the user (its CustomerIDs and Attributes are
// the caller's to change), which allocates nothing for a user without them.
//
// # Writes
//
// Add, Update and SetPassword through the Cache invalidate, before they
// return, exactly what they affect: the Get entries of the old and the new
// login (a rename), the email lookups of the old and the new email (the
// Cache reads the record before the write to learn its old email), and the
// search results, which are kept under a generation counter that every
// write increments (any search might contain the record; keeping them apart
// would need a search engine's matching in the cache). So a Get or a Search
// after a write through the same Cache never shows the old record.
//
// A lookup that started before a write and reads the old record from the
// backend must not store it after the write's invalidation: every entry is
// stored under the version of its identity (a counter per stripe of
// identities, and a generation per kind), the store is refused when the
// version moved meanwhile, and a hit checks the version again. A lookup
// that starts after the invalidation never joins a backend call that started
// before it (the version is part of the singleflight key). Writes through one
// Cache to one login are serialised, so that the read before a write sees
// the record the write replaces.
//
// Over a read replica (sqlbackend's Config.ReadDB) a miss may read a
// state older than the last write. Config.ReadLag, set to the replica's
// lag with a margin, makes the Cache return but not store what a miss
// reads for that long after an invalidation, so that a lagging answer is
// not kept for a whole TTL; searches and email lookups right after a write
// are then as fresh as the replica, and no staler.
//
// Writes that did not go through this Cache (another app instance, a Znuny
// on the same database, an administrator's SQL) are seen when the entries
// expire: staleness is bounded by the TTL of each kind. To close that gap a
// product sets Config.OnInvalidate, sends the Invalidation it receives to
// its other instances over its own bus, and each applies it with
// (*Cache).Invalidate. The same bound applies to what is decided from
// cached reads: a policy.Directory over Caches checks that a new login or
// email is free across its backends with Get and an email lookup, so an
// account another instance added within NotFoundTTL or EmailTTL may be
// missed by that check (each backend's own unique index still refuses a
// duplicate within that backend) unless the hook is wired.
//
// # Group memberships
//
// NewGroupStore wraps a groups.Store the same way: UserGrants,
// CompanyGrants, GroupGrants, Group and Groups are cached, and every write
// through it invalidates the lists it changes (a member's rows, a
// company's rows, the group's rows; a group's state, a new group or a
// renamed member invalidate every list, which are rare). A groups.Resolver
// over it reads memberships from memory.
package cache
