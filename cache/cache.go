package cache

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// maxKeyBytes is the longest input that is cached: anything longer is no
// valid login or query (backend.MaxQueryBytes) and goes to the backend,
// which refuses it.
const maxKeyBytes = 4 * backend.MaxQueryBytes

// Cache is a caching decorator for any backend.CustomerUserBackend; it is
// itself one, and safe for concurrent use. See the package doc for what is
// cached and how writes invalidate it.
type Cache struct {
	b           backend.CustomerUserBackend
	s           *store
	notFoundTTL time.Duration
	onInv       func(Invalidation)
	log         *slog.Logger
	// writeLocks serialise the writes through this Cache that touch one
	// login (a stripe of logins), so that the read before a write sees the
	// record the write replaces.
	writeLocks [256]sync.Mutex
	lockSeed   maphash.Seed
}

var _ backend.CustomerUserBackend = (*Cache)(nil)

// New returns a Cache over b. The Config is copied.
func New(b backend.CustomerUserBackend, cfg Config) (*Cache, error) {
	if b == nil {
		return nil, backend.ConfigError("cache", &backend.ValidationError{Field: "Backend", Reason: "required"})
	}
	if err := cfg.check("cache " + b.Name()); err != nil {
		return nil, err
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Cache{b: b, s: newStore(cfg.MaxEntries, cfg.Now, cfg.ReadLag), notFoundTTL: ttlOr(cfg.NotFoundTTL, DefaultNotFoundTTL),
		onInv: cfg.OnInvalidate, log: cfg.Logger.With("cache", b.Name()), lockSeed: maphash.MakeSeed()}
	c.s.ttl[kindGet] = ttlOr(cfg.GetTTL, DefaultGetTTL)
	c.s.ttl[kindSearch] = ttlOr(cfg.SearchTTL, DefaultSearchTTL)
	c.s.ttl[kindEmail] = ttlOr(cfg.EmailTTL, DefaultEmailTTL)
	return c, nil
}

// Unwrap returns the backend the Cache decorates.
func (c *Cache) Unwrap() backend.CustomerUserBackend { return c.b }

// Name is the decorated backend's name.
func (c *Cache) Name() string { return c.b.Name() }

// ReadOnly is the decorated backend's ReadOnly.
func (c *Cache) ReadOnly() bool { return c.b.ReadOnly() }

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats { return c.s.stats() }

func (c *Cache) fail(op string, err error) error { return backend.OpError(c.b.Name(), op, err) }

// Get returns the user from the cache, or from the backend, remembering the
// answer (the user for GetTTL, "not found" for NotFoundTTL; any other error
// not at all). Logins that are one identity ("Anna", "anna") share an
// entry. The user returned is the caller's: slices and maps are copies.
func (c *Cache) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	if err := ctx.Err(); err != nil {
		return backend.CustomerUser{}, c.fail("get", err)
	}
	if len(login) > maxKeyBytes || (c.s.ttl[kindGet] == 0 && c.notFoundTTL == 0) {
		return c.b.Get(ctx, login)
	}
	key := backend.IdentityKey(login)
	sl := c.s.slot(kindGet, key, key)
	if e := c.s.lookup(sl, true); e != nil {
		return e.copyUser(), e.err
	}
	e, err := c.s.fill(ctx, sl, func(ctx context.Context) (fetched, error) {
		u, err := c.b.Get(ctx, login)
		switch {
		case err == nil:
			return fetched{e: &entry{user: u}, ttl: c.s.ttl[kindGet]}, nil
		case errors.Is(err, backend.ErrNotFound):
			return fetched{e: &entry{err: err}, ttl: c.notFoundTTL}, nil
		}
		return fetched{}, err
	})
	if err != nil {
		if err == ctx.Err() { // stopped waiting: the backend's errors come wrapped
			err = c.fail("get", err)
		}
		return backend.CustomerUser{}, err
	}
	return e.copyUser(), e.err
}

// copyUser is CustomerUser.Clone with one copy of the struct instead of
// three: a hit returns a user of the caller's own.
func (e *entry) copyUser() backend.CustomerUser {
	u := e.user
	if u.CustomerIDs != nil {
		u.CustomerIDs = append([]string(nil), u.CustomerIDs...)
	}
	if u.Attributes != nil {
		u.Attributes = maps.Clone(u.Attributes)
	}
	return u
}

// Search returns the result from the cache, or from the backend,
// remembering it (an email lookup for EmailTTL, any other query for
// SearchTTL; errors not at all). The slice and its users are the caller's.
func (c *Cache) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.fail("search", err)
	}
	sl, ok := c.searchSlot(q)
	if !ok {
		return c.b.Search(ctx, q)
	}
	if e := c.s.lookup(sl, true); e != nil {
		return copyUsers(e.val.([]backend.CustomerUser)), nil
	}
	e, err := c.s.fill(ctx, sl, func(ctx context.Context) (fetched, error) {
		users, err := c.b.Search(ctx, q)
		if err != nil {
			return fetched{}, err
		}
		return fetched{e: &entry{val: users}, ttl: c.s.ttl[sl.k.kind]}, nil
	})
	if err != nil {
		if err == ctx.Err() {
			err = c.fail("search", err)
		}
		return nil, err
	}
	return copyUsers(e.val.([]backend.CustomerUser)), nil
}

// searchSlot places a query: an email lookup under the email's identity
// (so that a write invalidates exactly the lookups of the emails it
// touches), any other query under itself (invalidated by every write).
func (c *Cache) searchSlot(q backend.Query) (slot, bool) {
	if len(q.Search)+len(q.Login)+len(q.CustomerID)+len(q.Email)+len(q.After) > maxKeyBytes {
		return slot{}, false
	}
	flags := "v"
	if q.IncludeInvalid {
		flags = "i"
	}
	if q.Email != "" && q.Search == "" && q.Login == "" && q.CustomerID == "" && q.After == "" {
		if c.s.ttl[kindEmail] == 0 {
			return slot{}, false
		}
		id := backend.IdentityKey(q.Email)
		return c.s.slot(kindEmail, id, id+"\x00"+flags+strconv.Itoa(q.Limit)), true
	}
	if c.s.ttl[kindSearch] == 0 {
		return slot{}, false
	}
	key := strings.Join([]string{q.Search, q.Login, q.CustomerID, q.Email, q.After, flags + strconv.Itoa(q.Limit)}, "\x00")
	return c.s.slot(kindSearch, key, key), true
}

func copyUsers(users []backend.CustomerUser) []backend.CustomerUser {
	if users == nil {
		return nil
	}
	out := make([]backend.CustomerUser, len(users))
	for i, u := range users {
		out[i] = u.Clone()
	}
	return out
}

// Authenticate always asks the backend: a password check is never
// answered from a cache.
func (c *Cache) Authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	return c.b.Authenticate(ctx, login, password)
}

// Add adds the user through the backend and invalidates its login (a
// remembered "not found"), its email and the searches.
func (c *Cache) Add(ctx context.Context, u backend.CustomerUser, password string) (backend.CustomerUser, error) {
	if ctx.Err() != nil || c.b.ReadOnly() {
		return c.b.Add(ctx, u, password)
	}
	unlock := c.lock(u.Login)
	defer unlock() // if the backend panics; otherwise wrote unlocks first
	out, err := c.b.Add(ctx, u, password)
	c.wrote(err, Invalidation{Logins: []string{u.Login, out.Login}, Emails: []string{u.Email, out.Email}, Searches: true}, out, unlock)
	return out, err
}

// Update updates the user through the backend and, before it returns,
// invalidates what the change affects: the old and the new login (a
// rename), the old and the new email, and the searches. The old record is
// read from the backend first (one Get per Update) to learn its email.
func (c *Cache) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	if ctx.Err() != nil || c.b.ReadOnly() {
		return c.b.Update(ctx, login, u)
	}
	unlock := c.lock(login, u.Login)
	defer unlock() // if the backend panics; otherwise wrote unlocks first
	inv := c.before(ctx, "update", login)
	out, err := c.b.Update(ctx, login, u)
	inv.Logins = append(inv.Logins, login, u.Login, out.Login)
	inv.Emails = append(inv.Emails, u.Email, out.Email)
	c.wrote(err, inv, out, unlock)
	return out, err
}

// SetPassword sets the password through the backend and invalidates the
// user's entries (the backend may move ChangedAt) and the searches.
func (c *Cache) SetPassword(ctx context.Context, login, password string) error {
	if ctx.Err() != nil || c.b.ReadOnly() {
		return c.b.SetPassword(ctx, login, password)
	}
	unlock := c.lock(login)
	defer unlock() // if the backend panics; otherwise wrote unlocks first
	inv := c.before(ctx, "set password", login)
	err := c.b.SetPassword(ctx, login, password)
	inv.Logins = append(inv.Logins, login)
	c.wrote(err, inv, backend.CustomerUser{}, unlock)
	return err
}

// before reads the record a write is about to change, for the login and
// email it has now. When that read fails for another reason than "not
// found", the write invalidates everything cached: it cannot know which
// email it changes.
func (c *Cache) before(ctx context.Context, op, login string) Invalidation {
	inv := Invalidation{Searches: true}
	// The cached record too: over a lagging replica it may be newer than
	// what the backend reads (the record an earlier write returned).
	key := backend.IdentityKey(login)
	if e := c.s.lookup(c.s.slot(kindGet, key, key), false); e != nil && e.err == nil {
		inv.Logins = append(inv.Logins, e.user.Login)
		inv.Emails = append(inv.Emails, e.user.Email)
	}
	old, err := c.b.Get(ctx, login)
	switch {
	case err == nil:
		inv.Logins = append(inv.Logins, old.Login)
		inv.Emails = append(inv.Emails, old.Email)
	case errors.Is(err, backend.ErrNotFound), errors.Is(err, backend.ErrInvalidInput):
	default:
		inv.All = true
		c.log.WarnContext(ctx, "cache: reading the record before a write failed; invalidating every cached entry",
			"op", op, "login", login, "error", err)
	}
	return inv
}

// unchanged reports errors after which a backend has changed nothing.
func unchanged(err error) bool {
	for _, e := range []error{backend.ErrInvalidInput, backend.ErrReadOnly, backend.ErrNotFound,
		backend.ErrDuplicateLogin, backend.ErrDuplicateEmail, backend.ErrConflict} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// wrote applies the invalidation of a write that may have changed the
// backend (a success, or an error that does not say nothing changed: a
// timeout may come after the commit), keeps the record a successful write
// returned as its login's Get entry, releases the write's locks and hands
// the invalidation to OnInvalidate (outside the locks, so that the hook may
// use the Cache).
func (c *Cache) wrote(err error, inv Invalidation, stored backend.CustomerUser, unlock func()) {
	if err != nil && unchanged(err) {
		unlock()
		return
	}
	inv = inv.normalize()
	c.apply(inv)
	// The backend read this record where it wrote it (every backend
	// returns the record as stored, read inside the write), so it is the
	// newest state even when the backend's other reads lag behind.
	if err == nil && stored.Login != "" && c.s.ttl[kindGet] > 0 {
		key := backend.IdentityKey(stored.Login)
		c.s.put(c.s.slot(kindGet, key, key), &entry{user: stored.Clone()}, c.s.ttl[kindGet])
	}
	unlock()
	if c.onInv != nil {
		c.onInv(inv)
	}
}

// lock locks the write stripes of the logins and returns the unlock,
// which may be called more than once.
func (c *Cache) lock(logins ...string) func() {
	idx := make([]int, 0, len(logins))
	for _, l := range logins {
		idx = append(idx, int(maphash.String(c.lockSeed, backend.IdentityKey(l))%uint64(len(c.writeLocks))))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		c.writeLocks[i].Lock()
	}
	return sync.OnceFunc(func() {
		for _, i := range idx {
			c.writeLocks[i].Unlock()
		}
	})
}
