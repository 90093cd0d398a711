package policy_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

// minHasher hashes at the minimum cost, so that tests are fast.
var minHasher = password.Hasher{Cost: password.MinCost}

// newMemory is a memory backend holding users (passwords in User.Password).
func newMemory(t testing.TB, name string, readOnly bool, users ...memorybackend.User) *memorybackend.Backend {
	t.Helper()
	h := minHasher
	b, err := memorybackend.New(memorybackend.Config{Name: name, ReadOnly: readOnly, Users: users, Hasher: &h})
	require.NoError(t, err)
	return b
}

// person is a valid user for tests.
func person(login, email string) backend.CustomerUser {
	return backend.CustomerUser{Login: login, FirstName: "Test", LastName: "Person " + login, Email: email,
		CustomerID: "CO-" + login, Valid: backend.Valid}
}

func mu(login, email, pw string) memorybackend.User {
	return memorybackend.User{CustomerUser: person(login, email), Password: pw}
}

// mode is how a faulty backend misbehaves.
type mode int32

const (
	healthy mode = iota
	failing      // every call returns ErrUnavailable
	hanging      // every call blocks until its context ends
	empty        // every read finds nothing
)

// faulty wraps a backend and can fail, hang, delay or find nothing, switched
// at run time. It counts calls.
type faulty struct {
	backend.CustomerUserBackend
	mode  atomic.Int32
	delay atomic.Int64 // added to every call, in nanoseconds
	calls atomic.Int64
	mu    sync.Mutex
	seen  []string // operations, in order
}

func newFaulty(b backend.CustomerUserBackend) *faulty { return &faulty{CustomerUserBackend: b} }

func (f *faulty) set(m mode)               { f.mode.Store(int32(m)) }
func (f *faulty) setDelay(d time.Duration) { f.delay.Store(int64(d)) }
func (f *faulty) String() string           { return fmt.Sprintf("faulty(%s)", f.Name()) }
func (f *faulty) record(op string)         { f.mu.Lock(); f.seen = append(f.seen, op); f.mu.Unlock() }
func (f *faulty) unavailable(op string) error {
	return backend.OpError(f.Name(), op, backend.ErrUnavailable)
}

// enter applies the delay and the mode; it returns an error when the call
// must fail, and whether reads must find nothing.
func (f *faulty) enter(ctx context.Context, op string) (bool, error) {
	f.calls.Add(1)
	f.record(op)
	if d := time.Duration(f.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	switch mode(f.mode.Load()) {
	case failing:
		return false, f.unavailable(op)
	case hanging:
		<-ctx.Done()
		return false, backend.OpError(f.Name(), op, ctx.Err())
	case empty:
		return true, nil
	}
	return false, nil
}

func (f *faulty) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	none, err := f.enter(ctx, "get")
	if err != nil {
		return backend.CustomerUser{}, err
	}
	if none {
		return backend.CustomerUser{}, backend.OpError(f.Name(), "get", backend.ErrNotFound)
	}
	return f.CustomerUserBackend.Get(ctx, login)
}

func (f *faulty) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	none, err := f.enter(ctx, "search")
	if err != nil || none {
		return nil, err
	}
	return f.CustomerUserBackend.Search(ctx, q)
}

func (f *faulty) Add(ctx context.Context, u backend.CustomerUser, pw string) (backend.CustomerUser, error) {
	if _, err := f.enter(ctx, "add"); err != nil {
		return backend.CustomerUser{}, err
	}
	return f.CustomerUserBackend.Add(ctx, u, pw)
}

func (f *faulty) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	if _, err := f.enter(ctx, "update"); err != nil {
		return backend.CustomerUser{}, err
	}
	return f.CustomerUserBackend.Update(ctx, login, u)
}

func (f *faulty) SetPassword(ctx context.Context, login, pw string) error {
	if _, err := f.enter(ctx, "set-password"); err != nil {
		return err
	}
	return f.CustomerUserBackend.SetPassword(ctx, login, pw)
}

func (f *faulty) Authenticate(ctx context.Context, login, pw string) (backend.CustomerUser, error) {
	none, err := f.enter(ctx, "authenticate")
	if err != nil {
		return backend.CustomerUser{}, err
	}
	if none {
		return backend.CustomerUser{}, backend.OpError(f.Name(), "authenticate", backend.ErrInvalidCredentials)
	}
	return f.CustomerUserBackend.Authenticate(ctx, login, pw)
}
