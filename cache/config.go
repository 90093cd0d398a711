package cache

import (
	"log/slog"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// Defaults of Config. DefaultGetTTL is the OTRS CustomerUser CacheTTL
// (120 s); "not found" and search results are kept shorter, since a new user
// or a new match is what a person waits for.
const (
	DefaultMaxEntries  = 10000
	DefaultGetTTL      = 2 * time.Minute
	DefaultNotFoundTTL = 10 * time.Second
	DefaultSearchTTL   = 30 * time.Second
	DefaultEmailTTL    = 2 * time.Minute
)

// Config configures a Cache. The zero value is usable: the defaults above,
// the system clock, no invalidation hook.
//
// A TTL of 0 means its default; a negative TTL turns caching of that kind
// off (those calls go to the backend every time).
type Config struct {
	// MaxEntries bounds the number of cached results of all kinds together
	// (least recently used go first); 0 means DefaultMaxEntries.
	MaxEntries int
	// GetTTL is how long a user read by Get is kept.
	GetTTL time.Duration
	// NotFoundTTL is how long a Get that found no user is remembered.
	NotFoundTTL time.Duration
	// SearchTTL is how long a Search result is kept (any query but the
	// email lookup below).
	SearchTTL time.Duration
	// EmailTTL is how long the result of an email lookup is kept: a Search
	// whose only criterion is Email (the postmaster lookup of incoming
	// mail), with or without IncludeInvalid and Limit.
	EmailTTL time.Duration
	// ReadLag is how far behind the writes the backend's reads may be: the
	// replication lag of a read replica (sqlbackend's Config.ReadDB), with
	// a margin; 0 (the default) for a backend that reads its own writes.
	// For that long after an invalidation (a write through this Cache or
	// one applied with Invalidate), what a miss reads of the invalidated
	// entries is returned but not stored, so that a lagging replica's old
	// answer is not kept for a whole TTL. Get after a write through this
	// Cache needs no such wait: the Cache keeps the record the write
	// returned, which the backend read where it wrote.
	ReadLag time.Duration
	// Now is the clock of the TTLs; nil means the system clock (its
	// monotonic reading).
	Now func() time.Time
	// OnInvalidate, when set, is called once for every write through the
	// Cache (after the write and the local invalidation, before the write
	// returns) with what the write invalidated, so that a product can send
	// it to its other instances, which apply it with Invalidate. It runs on
	// the writer's goroutine: hand the value to a queue rather than block.
	OnInvalidate func(Invalidation)
	// Logger receives the cache's events (a failed read before a write);
	// nil means slog.Default().
	Logger *slog.Logger
}

func ttlOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func (c Config) check(name string) error {
	var problems []*backend.ValidationError
	if c.MaxEntries < 0 {
		problems = append(problems, &backend.ValidationError{Field: "Config.MaxEntries", Reason: "negative"})
	}
	if c.ReadLag < 0 {
		problems = append(problems, &backend.ValidationError{Field: "Config.ReadLag", Reason: "negative"})
	}
	return backend.ConfigError(name, problems...)
}
