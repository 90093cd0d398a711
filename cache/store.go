package cache

import (
	"context"
	"errors"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/helpdeskkit/customeruser/backend"
)

// kind is what an entry caches; each kind has its own TTL, stripes and
// generation.
type kind uint8

const (
	kindGet kind = iota
	kindEmail
	kindSearch
	kindUserGrants
	kindCompanyGrants
	kindGroupGrants
	kindGroup
	kindGroupList
	numKinds
)

// stripeCount is the number of version counters per kind. An invalidation
// of an identity bumps the counter of its stripe; an entry is valid only
// while the counter it was filled under is unchanged. Two identities that
// share a stripe invalidate each other, which costs a miss, never a stale
// read; 4096 stripes make that rare.
const stripeCount = 1 << 12

// version is what an entry was filled under: the counter of its identity's
// stripe and the generation of its kind.
type version struct{ stripe, gen uint64 }

type kindState struct {
	stripes [stripeCount]atomic.Uint64
	gen     atomic.Uint64
	// genSettled and settled (per stripe; only with a read lag) are the
	// times, on the store's clock, before which a fill of the kind (of an
	// identity of the stripe) is returned but not stored: the backend's
	// reads may not show the write that invalidated it yet.
	genSettled atomic.Int64
	settled    *[stripeCount]atomic.Int64
}

// entryKey is an entry's map key; a struct, so that building it on the hit
// path allocates nothing.
type entryKey struct {
	kind kind
	key  string
}

// entry is one cached result. Everything but the list links and ref is
// set before the entry is inserted and never changed, so it is read
// without the lock. The fields a lookup checks come first, on one cache
// line.
type entry struct {
	expires int64 // on the store's clock (store.now)
	ver     version
	ref     atomic.Bool // used since the eviction hand last passed (CLOCK)
	k       entryKey
	h       uint64 // of the identity: shard and stripe
	mh      uint64 // of k: the map key
	prev    *entry
	next    *entry
	err     error                // kindGet: a cached not-found
	val     any                  // the other kinds: a slice or a value, never changed
	user    backend.CustomerUser // kindGet
}

// slot locates an entry: its key, the hash of the identity that picks its
// shard and stripe (for a search, the whole query), and the hash of the key
// that the shard's map is keyed by (the same when the key is the identity).
type slot struct {
	k  entryKey
	h  uint64
	mh uint64
}

// shard is one lock's worth of entries: a map by key hash and a list in
// insertion order that the eviction hand walks from the back, giving a
// second chance to entries used since it last passed (the CLOCK
// approximation of LRU: a hit only sets a flag, under the read lock, and
// never touches the list).
type shard struct {
	mu        sync.RWMutex
	m         map[uint64]*entry
	lru       entry // sentinel: lru.next is the newest, lru.prev the next to consider
	cap       int
	evictions uint64
	hits      atomic.Uint64
	misses    atomic.Uint64
	_         [64]byte // keep shards on their own cache lines
}

// store is the sharded map of versioned entries, bounded by CLOCK
// eviction, that both decorators use.
type store struct {
	seed   maphash.Seed
	shards []shard
	mask   uint64
	kinds  [numKinds]kindState
	ttl    [numKinds]time.Duration
	// now is the clock of expiry, in nanoseconds: the injected clock's
	// Unix time, or by default the monotonic time since the store was
	// made (half the cost of time.Now, which also reads the wall clock).
	now func() int64
	// lag is how far behind its writes the backend's reads may be (a read
	// replica), in nanoseconds; 0: it reads its own writes.
	lag    int64
	flight singleflight.Group
	// invalidations counts applied invalidations, local and remote.
	invalidations atomic.Uint64
}

func newStore(maxEntries int, clock func() time.Time, lag time.Duration) *store {
	now := func() int64 { return clock().UnixNano() }
	if clock == nil {
		start := time.Now()
		now = func() int64 { return int64(time.Since(start)) }
	}
	n := 1
	if maxEntries >= 4096 {
		n = 16
	}
	s := &store{seed: maphash.MakeSeed(), shards: make([]shard, n), mask: uint64(n - 1), now: now, lag: int64(lag)}
	if lag > 0 {
		for k := range s.kinds {
			s.kinds[k].settled = new([stripeCount]atomic.Int64)
		}
	}
	per := (maxEntries + n - 1) / n
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m = make(map[uint64]*entry)
		sh.lru.next, sh.lru.prev = &sh.lru, &sh.lru
		sh.cap = per
	}
	return s
}

func (s *store) slot(k kind, identity, key string) slot {
	h := maphash.String(s.seed, identity)
	mh := h
	if key != identity {
		mh = maphash.String(s.seed, key)
	}
	return slot{k: entryKey{kind: k, key: key}, h: h, mh: mh ^ uint64(k)<<56}
}

func (s *store) shard(h uint64) *shard { return &s.shards[h&s.mask] }

func stripeOf(h uint64) uint64 { return (h >> 32) & (stripeCount - 1) }

// version gives the current version of sl's identity.
func (s *store) version(sl slot) version {
	ks := &s.kinds[sl.k.kind]
	return version{stripe: ks.stripes[stripeOf(sl.h)].Load(), gen: ks.gen.Load()}
}

// lookup returns the valid entry of sl, or nil; count says whether the
// outcome goes into the hit and miss counters. An expired or invalidated
// entry is left for the fill that replaces it or for the eviction hand.
func (s *store) lookup(sl slot, count bool) *entry {
	now := s.now()
	cur := s.version(sl)
	sh := s.shard(sl.h)
	sh.mu.RLock()
	e := sh.m[sl.mh]
	sh.mu.RUnlock()
	// Two keys with one 64-bit hash only cost each other misses.
	if e == nil || e.k != sl.k || now >= e.expires || e.ver != cur {
		if count {
			sh.misses.Add(1)
		}
		return nil
	}
	if count {
		sh.hits.Add(1)
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e
}

// insert stores e for sl unless sl's identity was invalidated since v was
// read: a fill that raced with a write must not store what it read
// before the write.
func (s *store) insert(sl slot, v version, e *entry, ttl time.Duration) {
	now := s.now()
	if s.lag > 0 {
		ks := &s.kinds[sl.k.kind]
		if now < ks.genSettled.Load() || now < ks.settled[stripeOf(sl.h)].Load() {
			return
		}
	}
	sh := s.shard(sl.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.version(sl) != v {
		return
	}
	sh.insertLocked(sl, v, e, now+int64(ttl))
}

// put stores e for sl as the newest state of its identity, read from where
// the write went (the record a write returned): it moves the identity's
// version first, so that no fill under way, which may have read the state
// before, stores over it.
func (s *store) put(sl slot, e *entry, ttl time.Duration) {
	now := s.now()
	sh := s.shard(sl.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.kinds[sl.k.kind].stripes[stripeOf(sl.h)].Add(1)
	sh.insertLocked(sl, s.version(sl), e, now+int64(ttl))
}

func (sh *shard) insertLocked(sl slot, v version, e *entry, expires int64) {
	e.k, e.h, e.mh, e.ver, e.expires = sl.k, sl.h, sl.mh, v, expires
	if old := sh.m[sl.mh]; old != nil {
		sh.remove(old)
	}
	for len(sh.m) >= sh.cap {
		victim := sh.lru.prev
		if victim.ref.Load() {
			victim.ref.Store(false)
			sh.unlink(victim)
			sh.pushFront(victim)
			continue
		}
		sh.remove(victim)
		sh.evictions++
	}
	sh.m[sl.mh] = e
	sh.pushFront(e)
}

// invalidate makes every entry of identity in kind k invalid, and frees the
// entry whose key is the identity itself.
func (s *store) invalidate(k kind, identity string) {
	h := maphash.String(s.seed, identity)
	s.kinds[k].stripes[stripeOf(h)].Add(1)
	if s.lag > 0 {
		storeMax(&s.kinds[k].settled[stripeOf(h)], s.now()+s.lag)
	}
	sh := s.shard(h)
	mh := h ^ uint64(k)<<56
	sh.mu.Lock()
	if e := sh.m[mh]; e != nil && e.k == (entryKey{kind: k, key: identity}) {
		sh.remove(e)
	}
	sh.mu.Unlock()
}

// bump makes every entry of kind k invalid; they are freed as they are met.
func (s *store) bump(k kind) {
	s.kinds[k].gen.Add(1)
	if s.lag > 0 {
		storeMax(&s.kinds[k].genSettled, s.now()+s.lag)
	}
}

// storeMax raises a to t unless it is later already.
func storeMax(a *atomic.Int64, t int64) {
	for {
		old := a.Load()
		if old >= t || a.CompareAndSwap(old, t) {
			return
		}
	}
}

func (sh *shard) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (sh *shard) pushFront(e *entry) {
	e.prev, e.next = &sh.lru, sh.lru.next
	sh.lru.next.prev = e
	sh.lru.next = e
}

func (sh *shard) remove(e *entry) {
	sh.unlink(e)
	delete(sh.m, e.mh)
}

// Stats are the counters of a cache, for metrics. They only grow, except
// Entries.
type Stats struct {
	// Hits and Misses count lookups answered from the cache and those that
	// went to the backend (or joined a call already going).
	Hits, Misses uint64
	// Evictions counts entries dropped to stay within MaxEntries.
	Evictions uint64
	// Invalidations counts the invalidations applied: one per write through
	// the decorator and one per Invalidate call.
	Invalidations uint64
	// Entries is the number of entries held now (invalidated and expired
	// ones included until they are met or evicted).
	Entries int
}

// HitRate is Hits / (Hits + Misses), 0 before the first lookup.
func (st Stats) HitRate() float64 {
	if st.Hits+st.Misses == 0 {
		return 0
	}
	return float64(st.Hits) / float64(st.Hits+st.Misses)
}

func (s *store) stats() Stats {
	var st Stats
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		st.Evictions += sh.evictions
		st.Entries += len(sh.m)
		sh.mu.RUnlock()
		st.Hits += sh.hits.Load()
		st.Misses += sh.misses.Load()
	}
	st.Invalidations = s.invalidations.Load()
	return st
}

// fetched is what a fill's backend call gave: the entry to return and how
// long to keep it (0: not at all).
type fetched struct {
	e   *entry
	ttl time.Duration
}

// fill answers a miss of sl: one backend call per identity version however
// many callers miss at once (singleflight), the result stored unless sl
// was invalidated meanwhile, errors returned and never stored. A caller
// whose context ends stops waiting; one that shared the call of a caller
// whose context ended calls the backend itself.
func (s *store) fill(ctx context.Context, sl slot, fetch func(context.Context) (fetched, error)) (*entry, error) {
	v := s.version(sl)
	// The version is part of the flight key: a caller that comes after an
	// invalidation never joins a call that may have read the old state.
	b := make([]byte, 0, len(sl.k.key)+24)
	b = append(b, byte(sl.k.kind), 0)
	b = append(b, sl.k.key...)
	b = append(b, 0)
	b = strconv.AppendUint(b, v.stripe, 36)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.gen, 36)
	call := func(ctx context.Context) (*entry, error) {
		if e := s.lookup(sl, false); e != nil {
			return e, nil
		}
		f, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		if f.ttl > 0 {
			s.insert(sl, v, f.e, f.ttl)
		}
		return f.e, nil
	}
	ch := s.flight.DoChan(string(b), func() (any, error) { return call(ctx) })
	select {
	case r := <-ch:
		if r.Err != nil {
			if r.Shared && ctx.Err() == nil && (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
				return call(ctx)
			}
			return nil, r.Err
		}
		return r.Val.(*entry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
