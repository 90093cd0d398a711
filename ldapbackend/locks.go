package ldapbackend

import (
	"context"
	"slices"
	"sync"
)

// keyLocks are mutexes by key, made on demand and dropped when unused. Add
// and Update hold the keys of the logins and emails they check and write
// ("l:" or "e:" and the identity key), so that within one Backend a
// uniqueness check and the write it allows are never interleaved with
// another's.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds one token while locked
	refs int
}

// lock takes the keys (in sorted order, so that two callers never wait for
// each other), waiting until ctx ends at most. The returned func unlocks.
func (k *keyLocks) lock(ctx context.Context, keys ...string) (func(), error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	held := make([]*keyLock, len(keys))
	for i, key := range keys {
		l := k.locks[key]
		if l == nil {
			l = &keyLock{ch: make(chan struct{}, 1)}
			k.locks[key] = l
		}
		l.refs++
		held[i] = l
	}
	k.mu.Unlock()
	release := func(taken int) {
		for i := range taken {
			<-held[i].ch
		}
		k.mu.Lock()
		for i, key := range keys {
			if held[i].refs--; held[i].refs == 0 {
				delete(k.locks, key)
			}
		}
		k.mu.Unlock()
	}
	for i, l := range held {
		select {
		case l.ch <- struct{}{}:
		case <-ctx.Done():
			release(i)
			return nil, ctx.Err()
		}
	}
	return func() { release(len(held)) }, nil
}
