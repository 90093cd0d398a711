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

	mu sync.RWMutex
	s  *store

	refusal     backend.RefusalTimer // every refused login takes a wrong password's time
	errNotFound error                // Get's answer for an unknown login, made once
}

var _ backend.CustomerUserBackend = (*Backend)(nil)

// New checks cfg, fills in its defaults and returns a backend holding
// cfg.Users. Plain passwords of cfg.Users are hashed here, in parallel. An
// invalid config or user, or a duplicate login or email, is an error naming
// the offending user by its position (never by its password).
func New(cfg Config) (*Backend, error) {
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: set, errNotFound: backend.OpError(set.name, "get", backend.ErrNotFound)}
	if err := b.load(cfg.Users); err != nil {
		return nil, backend.OpError(set.name, "new", err)
	}
	return b, nil
}

// load normalises, hashes and indexes the initial users.
func (b *Backend) load(users []User) error {
	st := newStore(b.cfg.fields, b.cfg.prefix, len(users))
	recs := make([]*record, len(users))
	now := b.now()
	var toHash []int
	for i, in := range users {
		u, err := backend.NormalizeUser(in.CustomerUser, true)
		if err != nil {
			return fmt.Errorf("user %d: %w", i, err)
		}
		u.CreatedAt, u.ChangedAt = in.CreatedAt, in.ChangedAt
		if u.CreatedAt.IsZero() {
			u.CreatedAt = now
		}
		if u.ChangedAt.IsZero() {
			u.ChangedAt = u.CreatedAt
		}
		switch {
		case in.Password != "" && in.PasswordHash != "":
			return fmt.Errorf("user %d: %w", i, &backend.ValidationError{Field: backend.FieldPassword, Reason: "both Password and PasswordHash given"})
		case in.PasswordHash != "" && password.Identify(in.PasswordHash) == password.SchemeUnknown:
			return fmt.Errorf("user %d (%q): %w", i, u.Login, &backend.ValidationError{Field: "PasswordHash", Reason: "malformed or unsupported hash format"})
		case in.Password != "":
			if err := backend.CheckPassword(in.Password); err != nil {
				return fmt.Errorf("user %d: %w", i, err)
			}
			toHash = append(toHash, i)
		}
		r := st.newRecord(u, in.PasswordHash)
		if o, dup := st.byLogin[r.loginKey]; dup {
			return fmt.Errorf("user %d: %w (%q, %q)", i, backend.ErrDuplicateLogin, o.user.Login, u.Login)
		}
		if !b.cfg.dupEmail && len(st.byEmail[r.emailKey]) > 0 {
			return fmt.Errorf("user %d (%q): %w", i, u.Login, backend.ErrDuplicateEmail)
		}
		// Reserve the keys now so that later users are checked against them;
		// build replaces the maps' contents with the same records.
		st.byLogin[r.loginKey] = r
		st.byEmail[r.emailKey] = append(st.byEmail[r.emailKey], r)
		recs[i] = r
	}
	if err := b.hashAll(users, recs, toHash); err != nil {
		return err
	}
	clear(st.byLogin)
	clear(st.byEmail)
	st.build(recs)
	b.s = st
	return nil
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
					errs[i] = fmt.Errorf("user %d: hashing the password: %w", i, err)
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

// nextChange is the ChangedAt of a write to r: now, or just after r's
// ChangedAt when the clock has not moved on since (or went back), so that
// every write gives a new ChangedAt for the optimistic check of Update.
func (b *Backend) nextChange(r *record) time.Time {
	now := b.now()
	if !now.After(r.user.ChangedAt) {
		now = r.user.ChangedAt.Add(time.Nanosecond)
	}
	return now
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
	return len(b.s.order)
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

// Get returns the user with this login (any case, trimmed), valid or not.
func (b *Backend) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	if err := b.begin(ctx, false); err != nil {
		return backend.CustomerUser{}, b.fail("get", err)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, b.fail("get", err)
	}
	key := backend.LoginKey(login)
	b.mu.RLock()
	defer b.mu.RUnlock()
	r := b.s.byLogin[key]
	if r == nil {
		return backend.CustomerUser{}, b.errNotFound
	}
	return b.out(r), nil
}

// Add stores a new user. With auto-login creation on and u.Login empty it
// generates the login. A non-empty password is checked and hashed; an empty
// one leaves the user without a password.
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
	now := b.now()
	if u.Login == "" {
		for n := 0; ; n++ {
			cand := backend.AutoLogin(b.cfg.autoPrefix, now, n)
			if b.s.byLogin[backend.LoginKey(cand)] == nil {
				u.Login = cand
				break
			}
		}
	}
	if err := b.checkFree(u, nil); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	u.CreatedAt, u.ChangedAt = now, now
	r := b.s.newRecord(u, hash)
	b.s.insert(r)
	return b.out(r), nil
}

// checkFree reports whether u's login and email are free, ignoring self.
// An empty login (auto-login pending) is not checked.
func (b *Backend) checkFree(u backend.CustomerUser, self *record) error {
	if u.Login != "" {
		if o := b.s.byLogin[backend.LoginKey(u.Login)]; o != nil && o != self {
			return backend.ErrDuplicateLogin
		}
	}
	if !b.cfg.dupEmail {
		for _, o := range b.s.byEmail[backend.FoldKey(u.Email)] {
			if o != self {
				return backend.ErrDuplicateEmail
			}
		}
	}
	return nil
}

// Update replaces the stored fields of the user with this login by those of
// u (a whole-record replace: empty fields of u clear stored ones). u.Login
// different from login, even only in case, renames the user to u.Login's
// spelling; an empty u.Login keeps the login. A zero u.Valid keeps the
// stored state. When u.ChangedAt is set, the update is made only if the
// stored record has that ChangedAt (backend.ErrConflict otherwise). The
// password hash and CreatedAt are kept; ChangedAt moves forward.
func (b *Backend) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	const op = "update"
	if err := b.begin(ctx, true); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	ifUnchangedSince, keepValid := u.ChangedAt, u.Valid == 0
	if keepValid {
		u.Valid = backend.Valid // checked as valid; the stored state is put back below
		b.mu.RLock()
		if r := b.s.byLogin[backend.LoginKey(login)]; r != nil {
			u.Valid = r.user.Valid
		}
		b.mu.RUnlock()
	}
	u, err = backend.NormalizeUser(u, false)
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.s.byLogin[backend.LoginKey(login)]
	if r == nil {
		return backend.CustomerUser{}, b.fail(op, backend.ErrNotFound)
	}
	if err := backend.CheckUnchanged(ifUnchangedSince, r.user.ChangedAt); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	if keepValid && u.Valid != r.user.Valid {
		// The state changed between the two locks: keep what is stored now,
		// and check the email syntax as NormalizeUser would for it.
		if u.Valid = r.user.Valid; u.Valid == backend.Valid {
			if err := backend.CheckEmail(u.Email); err != nil {
				return backend.CustomerUser{}, b.fail(op, err)
			}
		}
	}
	if u.Login == "" {
		u.Login = r.user.Login
	}
	if backend.FoldKey(u.Email) == r.emailKey {
		// An unchanged address is never a conflict, even if duplicates were
		// allowed when it was stored.
		if o := b.s.byLogin[backend.LoginKey(u.Login)]; o != nil && o != r {
			return backend.CustomerUser{}, b.fail(op, backend.ErrDuplicateLogin)
		}
	} else if err := b.checkFree(u, r); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	u.CreatedAt, u.ChangedAt = r.user.CreatedAt, b.nextChange(r)
	b.s.remove(r)
	r.user = u
	b.s.refresh(r)
	b.s.insert(r)
	return b.out(r), nil
}

// SetPassword checks the password, hashes it and stores the hash.
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
	key := backend.LoginKey(login)
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
	r.user.ChangedAt = b.nextChange(r)
	return nil
}

// Authenticate checks the password of the user with this login. Unknown
// logins, users without a password, malformed logins and passwords, and
// wrong passwords all give backend.ErrInvalidCredentials and take the same
// time (a dummy hash, then backend.RefusalTimer); a right password of a user
// that is not Valid gives a *backend.AccountInvalidError with the state. A
// successful login with a weak or outdated hash stores a new hash (unless
// read-only). A context that ends during hashing ends the call with its
// error.
func (b *Backend) Authenticate(ctx context.Context, login, password string) (backend.CustomerUser, error) {
	const op = "authenticate"
	start := time.Now()
	if err := b.begin(ctx, false); err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	refuse := func() (backend.CustomerUser, error) {
		if err := b.cfg.hasher.DummyContext(ctx, password); err != nil {
			return backend.CustomerUser{}, b.fail(op, err)
		}
		if err := b.refusal.Pad(ctx, start); err != nil {
			return backend.CustomerUser{}, b.fail(op, err)
		}
		return backend.CustomerUser{}, b.fail(op, backend.ErrInvalidCredentials)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil || !backend.CheckLoginPassword(password) {
		return refuse()
	}
	key := backend.LoginKey(login)
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
	if r == nil || hash == "" {
		return refuse()
	}
	ok, rehash, err := b.cfg.hasher.VerifyContext(ctx, hash, password, stored)
	if err != nil {
		return backend.CustomerUser{}, b.fail(op, err)
	}
	if !ok {
		b.refusal.Observe(time.Since(start))
		return backend.CustomerUser{}, b.fail(op, backend.ErrInvalidCredentials)
	}
	if u.Valid != backend.Valid {
		return backend.CustomerUser{}, b.fail(op, &backend.AccountInvalidError{State: u.Valid})
	}
	if rehash && !b.cfg.readOnly {
		b.rehash(ctx, key, hash, password)
	}
	return u, nil
}

// rehash replaces old by a new hash of password, unless the hash changed
// meanwhile. A failure only leaves the old hash in place (and is logged).
func (b *Backend) rehash(ctx context.Context, key, old, password string) {
	h, err := b.cfg.hasher.HashContext(ctx, password)
	if err != nil {
		b.cfg.log.WarnContext(ctx, backend.LogRehashFailed, "op", "authenticate", "error", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.s.byLogin[key]; r != nil && r.hash == old {
		r.hash = h
		b.cfg.log.InfoContext(ctx, backend.LogRehashed, "op", "authenticate", "login", r.user.Login)
	}
}
