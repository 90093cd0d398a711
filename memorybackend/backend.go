package memorybackend

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// Backend is an in-memory customer-user store. It is safe for concurrent
// use; reads run in parallel, writes are serialised. Create it with New.
type Backend struct {
	cfg settings
	// refusals pads every refused login to the time of a wrong password.
	refusals backend.RefusalTimer
	// dummies tracks how long the dummy hash of a refusal takes.
	dummies backend.RefusalTimer

	mu sync.RWMutex
	s  *store
	// lastWrite is the ChangedAt of the latest write: the next one is later
	// even if the clock did not move (guarded by mu).
	lastWrite time.Time
}

var _ backend.CustomerUserBackend = (*Backend)(nil)

// New checks cfg, fills in its defaults and returns a backend holding
// cfg.Users. Plain passwords of cfg.Users are hashed here, in parallel.
//
// Errors read "customeruser <name>: config: ..." and match
// errors.Is(err, backend.ErrInvalidInput): every invalid setting is listed
// at once (backend.ValidationErrors with fields "Config.<Field>"); an
// invalid user, or a duplicate login or email (which also match
// backend.ErrDuplicateLogin and backend.ErrDuplicateEmail), is named by its
// position in Users ("Config.Users[3]"), never by its password.
func New(cfg Config) (*Backend, error) {
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: set}
	if err := b.load(cfg.Users); err != nil {
		return nil, backend.OpError(set.name, "config", err)
	}
	return b, nil
}

// load normalises, hashes and indexes the initial users.
func (b *Backend) load(users []User) error {
	st := newStore(b.cfg.fields, b.cfg.prefix, b.cfg.ngram, len(users))
	recs := make([]*record, len(users))
	now := b.now()
	errs := b.prepare(users, recs, now)
	var toHash []int
	for i, in := range users {
		// In input order, so that the first bad user is the one reported.
		if errs[i] != nil {
			return errs[i]
		}
		r := recs[i]
		if in.Password != "" {
			toHash = append(toHash, i)
		}
		st.intern(r)
		if o, dup := st.byLogin[r.loginKey]; dup {
			return fmt.Errorf("Config.Users[%d]: %w (%q, %q)", i, backend.ErrDuplicateLogin, o.user.Login, r.user.Login)
		}
		if !b.cfg.dupEmail && st.byEmail[r.emailKey()] != nil {
			return fmt.Errorf("Config.Users[%d] (%q): %w", i, r.user.Login, backend.ErrDuplicateEmail)
		}
		// Reserve the keys now so that later users are checked against
		// them; build puts the lists of shared emails in login order.
		st.byLogin[r.loginKey] = r
		st.reserveEmail(r)
	}
	if err := b.hashAll(users, recs, toHash); err != nil {
		return err
	}
	st.build(recs)
	b.s = st
	for _, r := range recs {
		if r.user.ChangedAt.After(b.lastWrite) {
			b.lastWrite = r.user.ChangedAt
		}
	}
	return nil
}

// prepare normalises and checks every user and builds its record, on
// every CPU: the work of New that needs no index. It returns the error of
// each user (nil when fine).
func (b *Backend) prepare(users []User, recs []*record, now time.Time) []error {
	errs := make([]error, len(users))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(users)/4096))
	per := (len(users) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min(len(users), (w+1)*per)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch []string
			f := folder{}
			for i := lo; i < hi; i++ {
				recs[i], scratch, errs[i] = b.prepareOne(i, &users[i], now, scratch, f)
			}
		}()
	}
	wg.Wait()
	return errs
}

// prepareOne normalises and checks users[i] (in) and builds its record.
func (b *Backend) prepareOne(i int, in *User, now time.Time, scratch []string, f folder) (*record, []string, error) {
	u, err := backend.NormalizeUser(in.CustomerUser, true)
	if err != nil {
		return nil, scratch, fmt.Errorf("Config.Users[%d]: %w", i, err)
	}
	u.CreatedAt, u.ChangedAt = in.CreatedAt.Round(0), in.ChangedAt.Round(0)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.ChangedAt.IsZero() {
		u.ChangedAt = u.CreatedAt
	}
	switch {
	case in.Password != "" && in.PasswordHash != "":
		return nil, scratch, fmt.Errorf("Config.Users[%d]: %w", i, &backend.ValidationError{Field: backend.FieldPassword, Reason: "both Password and PasswordHash given"})
	case in.PasswordHash != "" && password.Identify(in.PasswordHash) == password.SchemeUnknown:
		return nil, scratch, fmt.Errorf("Config.Users[%d] (%q): %w", i, u.Login, &backend.ValidationError{Field: "PasswordHash", Reason: "malformed or unsupported hash format"})
	case in.Password != "":
		if err := backend.CheckPassword(in.Password); err != nil {
			return nil, scratch, fmt.Errorf("Config.Users[%d]: %w", i, err)
		}
	}
	r := &record{user: u, hash: in.PasswordHash}
	scratch = r.derive(b.cfg.fields, scratch[:0], f)
	return r, scratch, nil
}

// hashAll hashes the plain passwords of users[idx] on every CPU.
func (b *Backend) hashAll(users []User, recs []*record, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), len(idx))
	next := make(chan int)
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				h, err := b.cfg.hasher.Hash(users[i].Password)
				if err != nil {
					errs[i] = fmt.Errorf("Config.Users[%d]: hashing the password: %w", i, err)
					continue
				}
				recs[i].hash = h
			}
		}()
	}
	for _, i := range idx {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func (b *Backend) now() time.Time { return b.cfg.now().Round(0) }

// stamp gives the ChangedAt of a write to a record last changed at prev:
// the clock's time, but always later than prev and than every write before
// (a nanosecond later when the clock did not move), so that the optimistic
// check of Update sees every write. The caller holds the write lock.
func (b *Backend) stamp(prev time.Time) time.Time {
	t := b.now()
	for _, floor := range []time.Time{prev, b.lastWrite} {
		if !t.After(floor) {
			t = floor.Add(time.Nanosecond)
		}
	}
	b.lastWrite = t
	return t
}

// Name returns the configured name.
func (b *Backend) Name() string { return b.cfg.name }

// String names the backend and nothing else: no stored hash, bind password
// or connection secret is ever printed, whatever the verb (%v, %+v, %#v).
func (b *Backend) String() string { return "memorybackend.Backend(" + strconv.Quote(b.Name()) + ")" }

// GoString is String for %#v.
func (b *Backend) GoString() string { return b.String() }

// ReadOnly reports whether writes are refused.
func (b *Backend) ReadOnly() bool { return b.cfg.readOnly }

// Len returns the number of stored customer users, valid or not.
func (b *Backend) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.s.len()
}

func (b *Backend) fail(op string, err error) error { return backend.OpError(b.cfg.name, op, err) }

// out copies a stored user for a caller.
func (b *Backend) out(r *record) backend.CustomerUser {
	u := r.user.Clone()
	u.Source = b.cfg.name
	return u
}

// begin is the common start of every call: the context, and for writes the
// read-only flag.
func (b *Backend) begin(ctx context.Context, write bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if write && b.cfg.readOnly {
		return backend.ErrReadOnly
	}
	return nil
}

// Get returns the user with this login, valid or not. The login is compared
// by the identity rule (backend.IdentityKey): any case, NFC or NFD, trimmed;
// never a different identity.
func (b *Backend) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	if err := b.begin(ctx, false); err != nil {
		return backend.CustomerUser{}, b.fail("get", err)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, b.fail("get", err)
	}
	key := backend.IdentityKey(login)
	b.mu.RLock()
	defer b.mu.RUnlock()
	r := b.s.byLogin[key]
	if r == nil {
		return backend.CustomerUser{}, b.fail("get", backend.ErrNotFound)
	}
	return b.out(r), nil
}

// Add stores a new user, its login and email in NFC. With auto-login
// creation on and u.Login empty it generates the login. A non-empty password
// is checked (backend.CheckPassword: at most 72 bytes) and hashed; an empty
// one leaves the user without a password. The login, and the email unless
// AllowDuplicateEmail, must be free under the identity rule.
func (b *Backend) Add(ctx context.Context, u backend.CustomerUser, password string) (backend.CustomerUser, error) {
	const op = "add"
	if err := b.begin(ctx, true); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	u, err := backend.NormalizeUser(u, b.cfg.autoPrefix == "")
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	if password != "" {
		if err := backend.CheckPassword(password); err != nil {
			return backend.CustomerUser{}, b.fail(op, err)
		}
	}
	// Fail fast on duplicates before spending time on the hash; checked
	// again under the write lock.
	b.mu.RLock()
	err = b.checkFree(u, nil)
	b.mu.RUnlock()
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	var hash string
	if password != "" {
		if hash, err = b.cfg.hasher.HashContext(ctx, password); err != nil {
			return backend.CustomerUser{}, b.fail(op, fmt.Errorf("hashing the password: %w", err))
		}
	}
	if err := ctx.Err(); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if u.Login == "" {
		now := b.now()
		for n := 0; ; n++ {
			cand := backend.AutoLogin(b.cfg.autoPrefix, now, n)
			if b.s.byLogin[backend.IdentityKey(cand)] == nil {
				u.Login = cand
				break
			}
		}
	}
	if err := b.checkFree(u, nil); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	now := b.stamp(time.Time{})
	u.CreatedAt, u.ChangedAt = now, now
	r := b.s.newRecord(u, hash)
	b.s.insert(r)
	return b.out(r), nil
}

// checkFree reports whether u's login and email are free, ignoring self.
// An empty login (auto-login pending) is not checked.
func (b *Backend) checkFree(u backend.CustomerUser, self *record) error {
	if u.Login != "" {
		if o := b.s.byLogin[backend.IdentityKey(u.Login)]; o != nil && o != self {
			return backend.ErrDuplicateLogin
		}
	}
	if !b.cfg.dupEmail {
		for _, o := range b.s.emails(backend.IdentityKey(u.Email)) {
			if o != self {
				return backend.ErrDuplicateEmail
			}
		}
	}
	return nil
}

// Update replaces the stored fields of the user with this login by those of
// u (a whole-record replace: empty fields of u clear stored ones), with
// these exceptions:
//
//   - an empty u.Login keeps the login; u.Login another spelling of the same
//     identity (case, NFD) renames the user to that spelling, another login
//     renames it if that one is free;
//   - a zero u.Valid keeps the stored state;
//   - u.ChangedAt set is the optimistic check: when the stored user changed
//     since (its ChangedAt differs), Update returns backend.ErrConflict and
//     writes nothing. Give the ChangedAt that Get, Search or Update returned;
//     zero updates unconditionally.
//
// The password hash and CreatedAt are kept; ChangedAt moves forward (every
// write gets a later ChangedAt than the one before, even within one tick of
// the clock).
func (b *Backend) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	const op = "update"
	if err := b.begin(ctx, true); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	ifUnchangedSince := u.ChangedAt
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.s.byLogin[backend.IdentityKey(login)]
	if r == nil {
		return backend.CustomerUser{}, b.fail(op, backend.ErrNotFound)
	}
	if u.Valid == 0 {
		u.Valid = r.user.Valid
	}
	// Normalised under the lock: the stored state decides what a zero Valid
	// means, and with it whether the email syntax is checked.
	if u, err = backend.NormalizeUser(u, false); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	if err := backend.CheckUnchanged(ifUnchangedSince, r.user.ChangedAt); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	if u.Login == "" {
		u.Login = r.user.Login
	}
	if backend.IdentityKey(u.Email) == r.emailKey() {
		// An unchanged address is never a conflict, even if duplicates were
		// allowed when it was stored.
		if o := b.s.byLogin[backend.IdentityKey(u.Login)]; o != nil && o != r {
			return backend.CustomerUser{}, b.fail(op, backend.ErrDuplicateLogin)
		}
	} else if err := b.checkFree(u, r); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	u.CreatedAt, u.ChangedAt = r.user.CreatedAt, b.stamp(r.user.ChangedAt)
	b.s.remove(r)
	r.user = u
	b.s.refresh(r)
	b.s.insert(r)
	return b.out(r), nil
}

// SetPassword checks the password (backend.CheckPassword: not empty, at most
// 72 bytes, no NUL), hashes it and stores the hash. ChangedAt moves forward.
func (b *Backend) SetPassword(ctx context.Context, login, password string) error {
	const op = "set password"
	if err := b.begin(ctx, true); err != nil {
		return b.fail(op, err)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return b.fail(op, err)
	}
	if err := backend.CheckPassword(password); err != nil {
		return b.fail(op, err)
	}
	key := backend.IdentityKey(login)
	b.mu.RLock()
	found := b.s.byLogin[key] != nil
	b.mu.RUnlock()
	if !found {
		return b.fail(op, backend.ErrNotFound)
	}
	// Hash without holding the lock: bcrypt takes a while.
	hash, err := b.cfg.hasher.HashContext(ctx, password)
	if err != nil {
		return b.fail(op, fmt.Errorf("hashing the password: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return b.fail(op, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.s.byLogin[key]
	if r == nil { // renamed meanwhile
		return b.fail(op, backend.ErrNotFound)
	}
	r.hash = hash
	r.user.ChangedAt = b.stamp(r.user.ChangedAt)
	return nil
}

// Authenticate checks the password of the user with this login (compared by
// the identity rule, like Get).
//
// A wrong password gives backend.ErrInvalidCredentials. So does every other
// refusal (a malformed or unknown login; an empty password, one over
// backend.MaxPasswordBytes or with a NUL; a user without a password), after
// the same work (the lookup and a dummy hash) and padded by a
// backend.RefusalTimer to the time wrong passwords take, so that timing
// tells nothing about which logins exist. The right password of a user that
// is not Valid gives a *backend.AccountInvalidError carrying the state
// (errors.Is(err, backend.ErrAccountInvalid)). A context that ends during
// the hashing ends the call with its error. A successful login with a weak
// or outdated hash stores a new hash (unless read-only; this does not move
// ChangedAt, as the user's record did not change).
func (b *Backend) Authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	const op = "authenticate"
	start := time.Now()
	if err := b.begin(ctx, false); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, b.refuse(ctx, start, password)
	}
	key := backend.IdentityKey(login)
	b.mu.RLock()
	r := b.s.byLogin[key]
	var (
		hash, stored string
		u            backend.CustomerUser
	)
	if r != nil {
		hash, stored, u = r.hash, r.user.Login, b.out(r)
	}
	b.mu.RUnlock()
	if r == nil || hash == "" || !backend.CheckLoginPassword(password) {
		return backend.CustomerUser{}, b.refuse(ctx, start, password)
	}
	ok, rehash, err := b.cfg.hasher.VerifyContext(ctx, hash, password, stored)
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	if !ok {
		b.refusals.Observe(time.Since(start))
		return backend.CustomerUser{}, b.fail(op, backend.ErrInvalidCredentials)
	}
	if u.Valid != backend.Valid {
		return backend.CustomerUser{}, b.fail(op, &backend.AccountInvalidError{State: u.Valid})
	}
	if rehash && !b.cfg.readOnly {
		b.rehash(ctx, key, stored, hash, password)
	}
	return u, nil
}

// refuse answers a login that was refused before any password could be
// compared: it spends a dummy hash and, when dummy hashes are typically
// quicker than comparing a wrong password (the stored hashes cost more than
// the Hasher's), waits until the call took as long as a wrong password
// does. A context that ends meanwhile gives its error.
//
// Whether to wait is decided on the medians, not on each call: padding a
// dummy hash that was only by chance quicker than the typical comparison
// would move every such call up to the median plus the timer's overshoot,
// and make refusals slower than wrong passwords on the median.
func (b *Backend) refuse(ctx context.Context, start time.Time, password string) error {
	const op = "authenticate"
	dummyStart := time.Now()
	if err := b.cfg.hasher.DummyContext(ctx, password); err != nil {
		return b.fail(op, err)
	}
	b.dummies.Observe(time.Since(dummyStart))
	if b.dummies.Typical() < b.refusals.Typical()*3/4 {
		if err := b.refusals.Pad(ctx, start); err != nil {
			return b.fail(op, err)
		}
	}
	return b.fail(op, backend.ErrInvalidCredentials)
}

// rehash replaces old by a new hash of password, unless the hash changed
// meanwhile. A failure only leaves the old hash in place (and is logged).
func (b *Backend) rehash(ctx context.Context, key, login, old, password string) {
	const op = "authenticate"
	h, err := b.cfg.hasher.HashContext(ctx, password)
	if err != nil {
		b.cfg.log.Warn(backend.LogRehashFailed, "op", op, "login", login, "error", err)
		return
	}
	b.mu.Lock()
	r := b.s.byLogin[key]
	stored := r != nil && r.hash == old
	if stored {
		r.hash = h
	}
	b.mu.Unlock()
	if stored {
		b.cfg.log.Info(backend.LogRehashed, "op", op, "login", login)
	}
}
