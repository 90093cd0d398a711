package cache_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

func TestMain(m *testing.M) { os.Exit(testmysql.Run(m)) }

// testHasher keeps bcrypt cheap in tests.
var testHasher = password.Hasher{Cost: 4}

// clock is an injected clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counting counts the reads that reach the backend under a Cache, and can
// make them fail or wait.
type counting struct {
	backend.CustomerUserBackend
	gets, searches, auths atomic.Int64
	// getErr, when set, is returned by Get instead of asking the backend.
	getErr atomic.Pointer[error]
	// gate, when set, makes Get wait for it to be closed (after counting).
	gate atomic.Pointer[chan struct{}]
	// afterGet, when set, runs after the backend's Get, before it returns.
	afterGet atomic.Pointer[func()]
}

func (c *counting) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	c.gets.Add(1)
	if g := c.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return backend.CustomerUser{}, backend.OpError(c.Name(), "get", ctx.Err())
		}
	}
	if e := c.getErr.Load(); e != nil {
		return backend.CustomerUser{}, *e
	}
	u, err := c.CustomerUserBackend.Get(ctx, login)
	if f := c.afterGet.Load(); f != nil {
		(*f)()
	}
	return u, err
}

func (c *counting) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	c.searches.Add(1)
	return c.CustomerUserBackend.Search(ctx, q)
}

func (c *counting) Authenticate(ctx context.Context, login, pw string) (backend.CustomerUser, error) {
	c.auths.Add(1)
	return c.CustomerUserBackend.Authenticate(ctx, login, pw)
}

func sampleUser(login string) backend.CustomerUser {
	return backend.CustomerUser{
		Login: login, FirstName: "First " + login, LastName: "Last", Email: login + "@example.com",
		CustomerID: "ACME", Valid: backend.Valid,
	}
}

// memory returns a memory backend holding users with the given logins
// (password "secret-<login>"), under a counting wrapper.
func memory(t testing.TB, logins ...string) *counting {
	t.Helper()
	users := make([]memorybackend.User, len(logins))
	for i, l := range logins {
		users[i] = memorybackend.User{CustomerUser: sampleUser(l), Password: "secret-" + l}
	}
	b, err := memorybackend.New(memorybackend.Config{Name: "mem", Users: users, Hasher: &testHasher})
	require.NoError(t, err)
	return &counting{CustomerUserBackend: b}
}
