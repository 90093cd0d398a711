package ldapbackend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// Back-off of a failing URL: skipped for backoffMin after the first failure,
// doubling up to backoffMax while it keeps failing.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
)

// dialer opens connections to the first usable URL.
type dialer struct {
	log         *slog.Logger
	servers     []server
	startTLS    bool
	dialTimeout time.Duration
	now         func() time.Time

	mu    sync.Mutex
	state []urlState
	// bindCost is the duration of the last successful connection with a
	// bind (the service account's or a user's): what a user bind costs,
	// before Authenticate has measured a wrong password.
	bindCost atomic.Int64
}

type urlState struct {
	failures  int
	downUntil time.Time
}

// order gives the indexes of the servers to try: the ones not backing off,
// in configured order, then (so that a total outage is noticed as soon as it
// ends) the backing-off ones.
func (d *dialer) order() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	up := make([]int, 0, len(d.servers))
	var down []int
	for i, st := range d.state {
		if now.Before(st.downUntil) {
			down = append(down, i)
		} else {
			up = append(up, i)
		}
	}
	return append(up, down...)
}

func (d *dialer) report(i int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := &d.state[i]
	if err == nil {
		*st = urlState{}
		return
	}
	st.failures++
	wait := backoffMin << min(st.failures-1, 10)
	if wait > backoffMax {
		wait = backoffMax
	}
	st.downUntil = d.now().Add(wait)
}

// dial connects to the first reachable server, upgrades with StartTLS when
// configured and, when bind is given, binds. Connecting, TLS and binding
// together get DialTimeout per URL; a URL that fails (or accepts and then
// drops or ignores us) is reported for back-off and the next one is tried.
// A bind the server refuses ends the attempt with a *bindError.
func (d *dialer) dial(ctx context.Context, bind func(*ldap.Conn) error) (*ldap.Conn, error) {
	var errs []error
	for _, i := range d.order() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		began := time.Now()
		c, err := d.dialOne(ctx, d.servers[i], bind)
		if err == nil && bind != nil {
			d.bindCost.Store(int64(time.Since(began)))
		}
		if ctx.Err() != nil {
			if c != nil {
				_ = c.Close()
			}
			return nil, ctx.Err()
		}
		var be *bindError
		if errors.As(err, &be) {
			// The server answered: a wrong service password is not an outage.
			d.report(i, nil)
			return nil, err
		}
		d.report(i, err)
		if err == nil {
			return c, nil
		}
		err = fmt.Errorf("%s: %w", d.servers[i].url, err)
		d.log.Warn(backend.LogUnavailable, "op", "connect", "error", err)
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (d *dialer) dialOne(ctx context.Context, s server, bind func(*ldap.Conn) error) (*ldap.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, d.dialTimeout)
	defer cancel()
	nd := &net.Dialer{Timeout: d.dialTimeout}
	raw, err := nd.DialContext(dctx, "tcp", s.hostport)
	if err != nil {
		return nil, err
	}
	if s.ldaps {
		tc := tls.Client(raw, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		raw = tc
	}
	// No go-ldap request timeout: it costs a goroutine and timers per
	// message; Backend.do bounds each call with RequestTimeout instead.
	c := ldap.NewConn(raw, s.ldaps)
	c.Start()
	timedOut := func(err error) error {
		if dctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("no answer within DialTimeout %v: %w", d.dialTimeout, err)
		}
		return err
	}
	if d.startTLS && !s.ldaps {
		if err := watch(dctx, c, func() error { return c.StartTLS(s.tls) }); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("StartTLS: %w", timedOut(err))
		}
	}
	if bind != nil {
		if err := watch(dctx, c, func() error { return bind(c) }); err != nil {
			dropped := isNetwork(err) || c.IsClosing() || dctx.Err() != nil
			_ = c.Close()
			if dropped {
				return nil, timedOut(err)
			}
			return nil, &bindError{err}
		}
	}
	return c, nil
}

// watch runs op, closing c when ctx ends first so that op returns promptly;
// it then returns ctx.Err() and c is unusable.
func watch(ctx context.Context, c *ldap.Conn, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	err := op()
	if !stop() {
		return ctx.Err()
	}
	return err
}

// pool keeps up to size bound service connections.
type pool struct {
	d        *dialer
	bindDN   string
	bindPW   string
	tokens   chan struct{} // one per connection that may exist
	idle     chan *ldap.Conn
	mu       sync.Mutex
	closed   bool
	closedCh chan struct{}
}

func newPool(d *dialer, size int, bindDN, bindPW string) *pool {
	p := &pool{
		d: d, bindDN: bindDN, bindPW: bindPW,
		tokens:   make(chan struct{}, size),
		idle:     make(chan *ldap.Conn, size),
		closedCh: make(chan struct{}),
	}
	for range size {
		p.tokens <- struct{}{}
	}
	return p
}

var errPoolClosed = errors.New("backend closed")

// get returns a healthy bound connection, reusing an idle one or dialing.
func (p *pool) get(ctx context.Context) (*ldap.Conn, error) {
	select {
	case <-p.tokens:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closedCh:
		return nil, errPoolClosed
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.tokens <- struct{}{}
		return nil, errPoolClosed
	}
	for c := p.takeIdle(); c != nil; c = p.takeIdle() {
		if !c.IsClosing() {
			return c, nil
		}
		_ = c.Close() // the server went away (or timed us out): replace it
	}
	var bind func(*ldap.Conn) error
	if p.bindDN != "" {
		bind = func(c *ldap.Conn) error { return c.Bind(p.bindDN, p.bindPW) }
	}
	c, err := p.d.dial(ctx, bind)
	if err != nil {
		p.tokens <- struct{}{}
		return nil, err
	}
	return c, nil
}

// put returns c to the pool; broken connections are closed instead.
func (p *pool) put(c *ldap.Conn, broken bool) {
	p.mu.Lock()
	closed := p.closed
	if !broken && !closed && !c.IsClosing() {
		p.idle <- c // never blocks: at most size connections exist
		p.mu.Unlock()
		p.tokens <- struct{}{}
		return
	}
	p.mu.Unlock()
	_ = c.Close()
	p.tokens <- struct{}{}
}

// close drains the pool; connections in use are closed when they come back.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.closedCh)
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			_ = c.Close()
		default:
			return
		}
	}
}

func (p *pool) takeIdle() *ldap.Conn {
	select {
	case c := <-p.idle:
		return c
	default:
		return nil
	}
}

// bindError is a service bind the server refused (not a network failure).
type bindError struct{ err error }

func (e *bindError) Error() string { return "service bind: " + e.err.Error() }
func (e *bindError) Unwrap() error { return e.err }
