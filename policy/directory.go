package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/helpdeskkit/customeruser/backend"
)

// Directory combines ordered backends into one backend.CustomerUserBackend
// and adds no-deletion, lockout, self-service, password policy and events.
// It is safe for concurrent use.
type Directory struct {
	cfg      Config
	backends []backend.CustomerUserBackend
	byName   map[string]int
	log      *slog.Logger
	refusal  backend.RefusalTimer
	locks    keyLocks // serialises uniqueness check + write per identity, in this process
	readOnly bool
	// getLatency is each backend's moving average of Get, in nanoseconds.
	getLatency []atomic.Int64
	// queues is the queue index kept between calls for a tickets.Versioned
	// Config.Queues (see queueIndex).
	queues atomic.Pointer[queueIndex]
}

var _ backend.CustomerUserBackend = (*Directory)(nil)

// NewDirectory checks cfg and returns the Directory over cfg.Backends. A bad
// configuration gives an error matching backend.ErrInvalidInput that lists
// every problem.
func NewDirectory(cfg Config) (*Directory, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	d := &Directory{
		cfg:      cfg,
		backends: cfg.Backends,
		byName:   make(map[string]int, len(cfg.Backends)),
		log:      backend.Logger(cfg.Logger, cfg.Name),
		readOnly: true,

		getLatency: make([]atomic.Int64, len(cfg.Backends)),
	}
	for i, b := range cfg.Backends {
		d.byName[b.Name()] = i
		if !b.ReadOnly() {
			d.readOnly = false
		}
	}
	return d, nil
}

// Name is the Directory's configured name.
func (d *Directory) Name() string { return d.cfg.Name }

// ReadOnly reports whether every backend is read-only.
func (d *Directory) ReadOnly() bool { return d.readOnly }

// String names the Directory and its backends, nothing more.
func (d *Directory) String() string {
	names := make([]string, len(d.backends))
	for i, b := range d.backends {
		names[i] = b.Name()
	}
	return fmt.Sprintf("policy.Directory(%q over %q)", d.cfg.Name, names)
}

// GoString is String: a Directory prints no configuration.
func (d *Directory) GoString() string { return d.String() }

// Backends gives the names of the combined backends, in order.
func (d *Directory) Backends() []string {
	names := make([]string, len(d.backends))
	for i, b := range d.backends {
		names[i] = b.Name()
	}
	return names
}

// opErr wraps err with the Directory's name and the operation.
func (d *Directory) opErr(op string, err error) error { return backend.OpError(d.cfg.Name, op, err) }

// backendError names the backend that failed; it wraps the backend's error.
type backendError struct {
	name string
	err  error
}

func (e *backendError) Error() string { return fmt.Sprintf("backend %q: %v", e.name, e.err) }
func (e *backendError) Unwrap() error { return e.err }

// failures collects the errors of failed backends into a *multierror.Error.
type failures struct{ merr *multierror.Error }

func (f *failures) add(name string, err error) {
	f.merr = multierror.Append(f.merr, &backendError{name: name, err: err})
}

func (f *failures) err() error {
	if f.merr == nil {
		return nil
	}
	f.merr.ErrorFormat = formatFailures
	return f.merr
}

func formatFailures(es []error) string {
	if len(es) == 1 {
		return "1 backend failed: " + es[0].Error()
	}
	s := fmt.Sprintf("%d backends failed:", len(es))
	for _, e := range es {
		s += " [" + e.Error() + "]"
	}
	return s
}

// unavailable makes the error of a lookup that failed closed: it wraps
// backend.ErrUnavailable and the failures.
func unavailable(f *failures) error {
	return fmt.Errorf("%w: %w", backend.ErrUnavailable, f.err())
}

// found is the outcome of a lookup: the holder's index and the user, or -1.
type found struct {
	index int
	user  backend.CustomerUser
}

// lookup finds the earliest backend holding login. Backends are asked in
// order, one after another, which costs least when they answer fast; before
// asking a backend whose Get typically takes longer than HedgeAfter, the
// Directory also asks every later backend in parallel, so that a slow
// backend saying "not found" does not add its time to theirs. Once the
// outcome is known the remaining calls are cancelled. A failed backend
// before the holder (or with no holder at all) makes the lookup fail closed
// with ErrUnavailable, unless AllowDegradedLogin (then the later holder is
// returned and the failure logged). It returns index -1 and ErrNotFound
// when no backend holds login.
func (d *Directory) lookup(ctx context.Context, op, login string) (found, error) {
	f := found{index: -1}
	i, err := d.lookupInto(ctx, op, login, &f.user)
	f.index = i
	return f, err
}

// lookupInto is lookup writing into *f, which spares copies of the user on
// the hot path of Get.
func (d *Directory) lookupInto(ctx context.Context, op, login string, u *backend.CustomerUser) (int, error) {
	var par *parallelGets // created only when a slow backend is met
	defer func() {
		if par != nil {
			par.cancel()
		}
	}()
	var fails failures
	for i, b := range d.backends {
		var err error
		if par != nil && par.started(i) {
			*u, err = par.wait(ctx, i)
		} else {
			if i < len(d.backends)-1 && d.slow(i) {
				if par == nil {
					par = newParallelGets(ctx, d.backends, login)
				}
				par.startFrom(i + 1)
			}
			if rand.Uint32()%latencySampleEvery == 0 || d.slow(i) {
				start := time.Now()
				*u, err = b.Get(ctx, login)
				d.observeGet(i, time.Since(start))
			} else {
				*u, err = b.Get(ctx, login)
			}
		}
		switch {
		case err == nil:
			if fails.merr != nil {
				if !d.cfg.AllowDegradedLogin {
					*u = backend.CustomerUser{}
					return -1, unavailable(&fails)
				}
				d.log.WarnContext(ctx, backend.LogUnavailable, "op", op, "login", login, "error", fails.err(),
					"answered_by", b.Name())
			}
			return i, nil
		case errors.Is(err, backend.ErrNotFound):
			continue
		case errors.Is(err, backend.ErrInvalidInput):
			return -1, err
		default:
			if cerr := ctx.Err(); cerr != nil {
				return -1, cerr
			}
			fails.add(b.Name(), err)
			d.log.WarnContext(ctx, backend.LogUnavailable, "op", op, "error", err, "failed_backend", b.Name())
		}
	}
	*u = backend.CustomerUser{}
	if fails.merr != nil {
		return -1, unavailable(&fails)
	}
	return -1, backend.ErrNotFound
}

// latencySampleEvery: one Get in this many, drawn at random (and every Get
// of a backend that is slow), is timed for the moving average; reading the clock twice
// costs a fifth of a memory backend's Get.
const latencySampleEvery = 16

// slow reports whether backend i's Get typically takes longer than HedgeAfter.
func (d *Directory) slow(i int) bool {
	return time.Duration(d.getLatency[i].Load()) > d.cfg.HedgeAfter
}

// observeGet folds one Get's duration into backend i's moving average (an
// exponentially weighted one, 1/8 per call).
func (d *Directory) observeGet(i int, took time.Duration) {
	old := d.getLatency[i].Load()
	d.getLatency[i].Store(old + (int64(took)-old)/8)
}

// parallelGets runs the Gets of later backends in goroutines.
type parallelGets struct {
	ctx      context.Context
	cancel   context.CancelFunc
	backends []backend.CustomerUserBackend
	login    string
	answers  []chan getAnswer
}

type getAnswer struct {
	u   backend.CustomerUser
	err error
}

func newParallelGets(ctx context.Context, backends []backend.CustomerUserBackend, login string) *parallelGets {
	ctx, cancel := context.WithCancel(ctx)
	return &parallelGets{ctx: ctx, cancel: cancel, backends: backends, login: login, answers: make([]chan getAnswer, len(backends))}
}

func (p *parallelGets) started(i int) bool { return p.answers[i] != nil }

// startFrom starts the Get of every backend from 'from' on not yet started.
func (p *parallelGets) startFrom(from int) {
	for j := from; j < len(p.backends); j++ {
		if p.answers[j] != nil {
			continue
		}
		ch := make(chan getAnswer, 1)
		p.answers[j] = ch
		go func(b backend.CustomerUserBackend) {
			u, err := b.Get(p.ctx, p.login)
			ch <- getAnswer{u, err}
		}(p.backends[j])
	}
}

// wait gives backend i's answer, or the caller's context error.
func (p *parallelGets) wait(ctx context.Context, i int) (backend.CustomerUser, error) {
	select {
	case a := <-p.answers[i]:
		return a.u, a.err
	case <-ctx.Done():
		return backend.CustomerUser{}, ctx.Err()
	}
}

// Get returns the user from the earliest backend that holds the login (valid
// or not: invalid users stay readable for ticket history). A login that no
// reachable backend holds while some backend is down gives ErrUnavailable,
// never ErrNotFound, which would let a caller create a duplicate.
func (d *Directory) Get(ctx context.Context, login string) (u backend.CustomerUser, err error) {
	// The backends check the login (backend.NormalizeLogin) themselves; a
	// malformed one ends the lookup at the first backend with ErrInvalidInput.
	if _, err = d.lookupInto(ctx, "get", login, &u); err != nil {
		return backend.CustomerUser{}, d.opErr("get", err)
	}
	return u, nil
}

// Search asks every backend at once, merges their results, drops later
// duplicates of a login (by the identity rule: the earlier backend wins),
// orders by login (backend.CompareLogins) and applies one global limit (each
// backend is asked for at most that many). When backends fail, the others'
// results come back together with a *multierror.Error naming each failed
// backend (errors.Is(err, backend.ErrUnavailable) works when they were
// unreachable); with Config.FailClosed, only the error.
//
// A user that a later backend returns is shown even when an earlier backend
// holds the same login but does not match the query; Get and Authenticate
// always answer with the earlier one.
func (d *Directory) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	if _, limit, err := backend.CheckQuery(q, d.cfg.DefaultLimit); err != nil {
		return nil, d.opErr("search", err)
	} else {
		q.Limit = limit
	}
	type result struct {
		users []backend.CustomerUser
		err   error
	}
	results := make([]result, len(d.backends))
	if len(d.backends) == 1 {
		results[0].users, results[0].err = d.backends[0].Search(ctx, q)
	} else {
		var wg sync.WaitGroup
		for i, b := range d.backends {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i].users, results[i].err = b.Search(ctx, q)
			}()
		}
		wg.Wait()
	}
	var fails failures
	seen := make(map[string]struct{})
	var merged []backend.CustomerUser
	for i, r := range results {
		if r.err != nil {
			if errors.Is(r.err, backend.ErrInvalidInput) {
				return nil, d.opErr("search", r.err)
			}
			if err := ctx.Err(); err != nil {
				return nil, d.opErr("search", err)
			}
			fails.add(d.backends[i].Name(), r.err)
			continue
		}
		for _, u := range r.users {
			k := backend.IdentityKey(u.Login)
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			merged = append(merged, u)
		}
	}
	if err := fails.err(); err != nil {
		d.log.WarnContext(ctx, backend.LogUnavailable, "op", "search", "error", err)
		if d.cfg.FailClosed {
			return nil, d.opErr("search", err)
		}
	}
	if len(d.backends) > 1 {
		backend.SortByLogin(merged)
	}
	if len(merged) > q.Limit {
		merged = merged[:q.Limit]
	}
	if fails.merr != nil {
		return merged, fails.err()
	}
	return merged, nil
}

// keyLocks is a set of mutexes by key, created on demand and dropped when
// unused.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks every key (sorted, so that two callers never deadlock) and
// returns the function that unlocks them.
func (l *keyLocks) lock(keys ...string) func() {
	keys = uniqueSorted(keys)
	held := make([]*keyLock, 0, len(keys))
	for _, k := range keys {
		l.mu.Lock()
		if l.locks == nil {
			l.locks = map[string]*keyLock{}
		}
		kl := l.locks[k]
		if kl == nil {
			kl = &keyLock{}
			l.locks[k] = kl
		}
		kl.refs++
		l.mu.Unlock()
		kl.mu.Lock()
		held = append(held, kl)
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			kl := held[i]
			kl.mu.Unlock()
			l.mu.Lock()
			kl.refs--
			if kl.refs == 0 {
				delete(l.locks, keys[i])
			}
			l.mu.Unlock()
		}
	}
}
