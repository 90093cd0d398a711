package sqlbackend_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// replicated is a backend reading from the replica of the shared pair, the
// same backend without a replica (to see what the primary holds), and the
// pair.
type replicated struct {
	b, primary *sqlbackend.Backend
	d          *testmysql.ReplicatedDatabase
	p          *testmysql.Pair
}

func newReplicated(t testing.TB, cfg sqlbackend.Config) replicated {
	t.Helper()
	p := testmysql.SharedPair(t)
	d := p.NewDatabase(t)
	if cfg.Hasher == nil {
		cfg.Hasher = &testHasher
	}
	require.NoError(t, sqlbackend.CreateSchema(context.Background(), d.DB, cfg))
	primary, err := sqlbackend.New(d.DB, cfg)
	require.NoError(t, err)
	cfg.ReadDB = d.Replica
	b, err := sqlbackend.New(d.DB, cfg)
	require.NoError(t, err)
	require.Same(t, d.Replica, b.ReadDB())
	require.Same(t, d.DB, primary.ReadDB(), "without a replica reads go to the primary")
	return replicated{b: b, primary: primary, d: d, p: p}
}

func (r replicated) caughtUp(t testing.TB) {
	t.Helper()
	require.NoError(t, r.p.WaitCaughtUp(context.Background()))
}

// lag stops replication until the test ends.
func (r replicated) lag(t testing.TB) {
	t.Helper()
	require.NoError(t, r.p.StopReplication(context.Background()))
	t.Cleanup(func() { require.NoError(t, r.p.StartReplication(context.Background())) })
}

// TestReplicaLagging stops replication and shows which reads may be stale
// (Get and Search, served by the replica) and which never are: the
// password check of Authenticate, the uniqueness checks of Add and Update,
// and Update's optimistic check, which all read the primary.
func TestReplicaLagging(t *testing.T) {
	ctx := context.Background()
	r := newReplicated(t, sqlbackend.Config{Name: "replica"})
	b := r.b
	alice, err := b.Add(ctx, sampleUser("alice"), "OldSecret1")
	require.NoError(t, err)
	r.caughtUp(t)
	got, err := b.Get(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, alice, got, "caught up: the replica has the record")

	r.lag(t)

	// An update reaches the primary only.
	changed := alice
	changed.FirstName = "Alicia"
	changed.ChangedAt = time.Time{}
	changed, err = b.Update(ctx, "alice", changed)
	require.NoError(t, err, "writes go to the primary")
	assert.Equal(t, "Alicia", changed.FirstName, "the record Update returns is read inside the write, on the primary")
	stale, err := b.Get(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "First alice", stale.FirstName, "Get may be stale: it reads the lagging replica")
	fresh, err := r.primary.Get(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "Alicia", fresh.FirstName)
	found, err := b.Search(ctx, backend.Query{Search: "alice"})
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, "First alice", found[0].FirstName, "Search may be stale too")
	found, err = b.Search(ctx, backend.Query{Search: "Alicia"})
	require.NoError(t, err)
	assert.Empty(t, found, "the replica does not know the new name yet")

	// Never stale: the password.
	require.NoError(t, b.SetPassword(ctx, "alice", "NewSecret1"))
	_, err = b.Authenticate(ctx, "alice", "OldSecret1")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials, "the old password never works after a change")
	u, err := b.Authenticate(ctx, "alice", "NewSecret1")
	require.NoError(t, err, "the new password works at once")
	assert.Equal(t, "Alicia", u.FirstName, "Authenticate returns the primary's record")

	// A user added during the lag: unknown to Get, known to everything
	// that reads the primary.
	_, err = b.Add(ctx, sampleUser("carol"), "CarolSecret1")
	require.NoError(t, err)
	_, err = b.Get(ctx, "carol")
	require.ErrorIs(t, err, backend.ErrNotFound, "Get may not see a new user yet")
	_, err = b.Authenticate(ctx, "carol", "CarolSecret1")
	require.NoError(t, err, "a new user can log in at once")

	// Never stale: uniqueness.
	_, err = b.Add(ctx, sampleUser("Carol"), "")
	require.ErrorIs(t, err, backend.ErrDuplicateLogin, "a duplicate login is refused although the replica does not have it")
	other := sampleUser("carol2")
	other.Email = "CAROL@example.com"
	_, err = b.Add(ctx, other, "")
	require.ErrorIs(t, err, backend.ErrDuplicateEmail, "a duplicate email is refused although the replica does not have it")
	rename := fresh
	rename.Login, rename.ChangedAt = "carol", time.Time{}
	_, err = b.Update(ctx, "alice", rename)
	require.ErrorIs(t, err, backend.ErrDuplicateLogin, "a rename onto a user only the primary has is refused")
	reEmail := fresh
	reEmail.Email, reEmail.ChangedAt = "carol@example.com", time.Time{}
	_, err = b.Update(ctx, "alice", reEmail)
	require.ErrorIs(t, err, backend.ErrDuplicateEmail)

	// Never stale: the optimistic check compares with the primary's
	// change_time, so a form filled from a stale Get is refused.
	require.True(t, stale.ChangedAt.Before(changed.ChangedAt), "the update moved change_time")
	stale.LastName = "Overwritten"
	_, err = b.Update(ctx, "alice", stale)
	require.ErrorIs(t, err, backend.ErrConflict, "an update based on the replica's stale record is refused")
	withFresh, err := r.primary.Get(ctx, "alice")
	require.NoError(t, err)
	withFresh.LastName = "Fresh"
	_, err = b.Update(ctx, "alice", withFresh)
	require.NoError(t, err, "an update based on the primary's record goes through")

	// Nothing the refused writes did reached the primary.
	n := countRows(t, r.d.DB, "customer_user")
	assert.Equal(t, 2, n)

	// Caught up, the replica serves the current records.
	require.NoError(t, r.p.StartReplication(ctx))
	got, err = b.Get(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "Alicia", got.FirstName)
	assert.Equal(t, "Fresh", got.LastName)
	_, err = b.Get(ctx, "carol")
	require.NoError(t, err)
}

// TestReplicaDown stops the replica server: reads go on from the primary
// with one warning (rate-limited), not an error; once the replica is back
// and the retry interval passed, reads go to it again.
func TestReplicaDown(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer // slog's handler serializes the writes
	r := newReplicated(t, sqlbackend.Config{Name: "replica", ReplicaRetry: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	b := r.b
	_, err := b.Add(ctx, sampleUser("alice"), "Secret123")
	require.NoError(t, err)
	r.caughtUp(t)
	_, err = b.Get(ctx, "alice")
	require.NoError(t, err)
	assert.Empty(t, logs.String())

	require.NoError(t, r.p.StopReplica())
	t.Cleanup(func() {
		if err := r.d.Replica.PingContext(ctx); err != nil {
			require.NoError(t, r.p.StartReplica(ctx))
		}
	})
	// Written while the replica is down: only the primary can answer.
	changed := sampleUser("alice")
	changed.FirstName = "Alicia"
	_, err = b.Update(ctx, "alice", changed)
	require.NoError(t, err)

	u, err := b.Get(ctx, "alice")
	require.NoError(t, err, "a replica that is down is not an error")
	assert.Equal(t, "Alicia", u.FirstName, "read from the primary")
	found, err := b.Search(ctx, backend.Query{Search: "Alicia"})
	require.NoError(t, err)
	require.Len(t, found, 1)
	_, err = b.Get(ctx, "nobody")
	require.ErrorIs(t, err, backend.ErrNotFound, "the primary's answer, not an availability error")
	assert.Equal(t, 1, strings.Count(logs.String(), sqlbackend.LogReplicaDown), logs.String())
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "backend=replica")

	// After the retry interval a read tries the replica again, fails over
	// again, and does not warn again within the minute.
	time.Sleep(250 * time.Millisecond)
	for i := 0; i < 3; i++ {
		_, err = b.Get(ctx, "alice")
		require.NoError(t, err)
		_, err = b.Search(ctx, backend.Query{Login: "alice"})
		require.NoError(t, err)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), sqlbackend.LogReplicaDown), "the warning is rate-limited")
	assert.NotContains(t, logs.String(), "Secret123")

	// Back: with replication stopped, a stale read proves it comes from
	// the replica again.
	require.NoError(t, r.p.StartReplica(ctx))
	r.lag(t)
	changed.FirstName = "Alexandra"
	_, err = b.Update(ctx, "alice", changed)
	require.NoError(t, err)
	time.Sleep(250 * time.Millisecond)
	u, err = b.Get(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "Alicia", u.FirstName, "read from the (lagging) replica again")
	assert.Contains(t, logs.String(), sqlbackend.LogReplicaBack)
}

// TestReplicaConfig checks the configuration of a replica: a negative
// retry interval is refused, the replica's pool gets the primary's pool
// settings, the primary's own pool as ReadDB means no replica, and the
// configuration prints whether a replica is set and nothing of it.
func TestReplicaConfig(t *testing.T) {
	r := newReplicated(t, sqlbackend.Config{Pool: sqlbackend.Pool{MaxOpenConns: 7}})
	assert.Equal(t, 7, r.d.Replica.Stats().MaxOpenConnections, "the replica gets the pool settings")

	_, err := sqlbackend.New(r.d.DB, sqlbackend.Config{ReadDB: r.d.Replica, ReplicaRetry: -time.Second})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.Contains(t, err.Error(), "Config.ReplicaRetry")

	same, err := sqlbackend.New(r.d.DB, sqlbackend.Config{ReadDB: r.d.DB})
	require.NoError(t, err)
	assert.Same(t, r.d.DB, same.ReadDB())

	cfg := sqlbackend.Config{ReadDB: r.d.Replica}
	assert.Contains(t, cfg.String(), "ReadDB:true")
	assert.Contains(t, fmt.Sprintf("%#v", cfg), "ReadDB:true")
	assert.NotContains(t, fmt.Sprintf("%v", cfg), r.d.Name)
}

// caughtUpBackend waits, after every write, until the replica applied it:
// what a product that needs read-your-writes through a replica would have
// to do (MASTER_GTID_WAIT), and what lets the conformance suite, which
// expects a write to be visible to the next read, run on the replica.
type caughtUpBackend struct {
	*sqlbackend.Backend
	t testing.TB
	p *testmysql.Pair
}

// wait may run on the suite's goroutines: it reports, never stops the test.
func (c caughtUpBackend) wait() {
	if err := c.p.WaitCaughtUp(context.Background()); err != nil {
		c.t.Errorf("waiting for the replica: %v", err)
	}
}

func (c caughtUpBackend) Add(ctx context.Context, u backend.CustomerUser, pw string) (backend.CustomerUser, error) {
	defer c.wait()
	return c.Backend.Add(ctx, u, pw)
}

func (c caughtUpBackend) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	defer c.wait()
	return c.Backend.Update(ctx, login, u)
}

func (c caughtUpBackend) SetPassword(ctx context.Context, login, pw string) error {
	defer c.wait()
	return c.Backend.SetPassword(ctx, login, pw)
}

// TestReplicaConformance runs the shared suite on a backend that reads
// from a real replica with replication running. The suite expects
// read-your-writes, which a replica does not give (see "Read replicas" in
// the package doc), so every write through the harness waits until the
// replica applied it; Get and Search are then answered by the replica
// itself, not by the primary.
func TestReplicaConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
		var logs bytes.Buffer // slog's handler serializes the writes
		r := newReplicated(t, sqlbackend.Config{Name: "sqlreplica", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		t.Cleanup(func() {
			assert.NotContains(t, logs.String(), sqlbackend.LogReplicaDown, "every read was answered by the replica")
		})
		for _, s := range seed {
			_, err := r.b.Add(context.Background(), s.User, s.Password)
			require.NoError(t, err, "seeding %s", s.User.Login)
		}
		r.caughtUp(t)
		return backendtest.Harness{Backend: caughtUpBackend{Backend: r.b, t: t, p: r.p}}
	})
}

// BenchmarkReplicaGet compares Get from the replica with Get from the
// primary on 10,000 users, in one run (the servers are alike: same
// binary, same settings, on one machine). "alternating" runs one Get of
// each per iteration and reports their ratio; "alternating-raw" does the
// same with the query Get sends, issued directly (the servers' own ratio).
//
//	go test -run '^$' -bench BenchmarkReplicaGet -benchtime 2s -count 3 ./sqlbackend/
func BenchmarkReplicaGet(b *testing.B) {
	ctx := context.Background()
	const rows = 10000
	r := newReplicated(b, sqlbackend.Config{})
	bulkLoad(b, r.d.DB, rows)
	r.caughtUp(b)
	logins := make([]string, 1000)
	for i := range logins {
		logins[i] = fmt.Sprintf("USER%06d", (i*7919)%rows)
	}
	get := func(be *sqlbackend.Backend) func(b *testing.B, i int) {
		return func(b *testing.B, i int) {
			if _, err := be.Get(ctx, logins[i%len(logins)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name string
		be   *sqlbackend.Backend
	}{{"primary", r.primary}, {"replica", r.b}} {
		b.Run(c.name, func(b *testing.B) {
			f := get(c.be)
			for i := 0; b.Loop(); i++ {
				f(b, i)
			}
		})
	}
	b.Run("alternating", func(b *testing.B) { medianPair(b, "replica", "primary", get(r.b), get(r.primary)) })
	// The floor: the query Get sends, prepared once, straight through
	// database/sql to each server: the servers' own ratio.
	raw := func(db *sql.DB) func(b *testing.B, i int) {
		st, err := db.PrepareContext(ctx, r.primary.GetSQL())
		require.NoError(b, err)
		b.Cleanup(func() { _ = st.Close() })
		return func(b *testing.B, i int) {
			rows, err := st.QueryContext(ctx, logins[i%len(logins)])
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Close(); err != nil || n != 1 {
				b.Fatal(err, n)
			}
		}
	}
	b.Run("alternating-raw", func(b *testing.B) {
		medianPair(b, "replica", "primary", raw(r.d.Replica), raw(r.d.DB))
	})
}

// medianPair is pair (alternating a and b each iteration) reporting the
// median time of each, and the ratio of the medians, besides the ratio of
// the means: on a loaded machine a few stalls of seconds move the means,
// not the medians.
func medianPair(tb *testing.B, nameA, nameB string, a, b func(tb *testing.B, i int)) {
	var da, db []time.Duration
	for i := 0; tb.Loop(); i++ {
		first, second, d1, d2 := a, b, &da, &db
		if i%2 == 1 {
			first, second, d1, d2 = b, a, &db, &da
		}
		t0 := time.Now()
		first(tb, i)
		t1 := time.Now()
		second(tb, i)
		*d1 = append(*d1, t1.Sub(t0))
		*d2 = append(*d2, time.Since(t1))
	}
	sum := func(d []time.Duration) (s time.Duration) {
		for _, x := range d {
			s += x
		}
		return s
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	ma, mb := median(da), median(db)
	tb.ReportMetric(float64(ma.Nanoseconds()), nameA+"-p50-ns")
	tb.ReportMetric(float64(mb.Nanoseconds()), nameB+"-p50-ns")
	tb.ReportMetric(float64(ma)/float64(mb), nameA+"/"+nameB+"-p50")
	tb.ReportMetric(float64(sum(da))/float64(sum(db)), nameA+"/"+nameB+"-mean")
}
