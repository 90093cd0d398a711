package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/cache"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestOverALaggingReplica puts Caches over a sqlbackend that reads a real
// MariaDB replica, stops replication and writes through a Cache: its Get
// shows the write at once (the record the write returned, read on the
// primary) although the replica is behind; a search read from the lagging
// replica is returned but, with ReadLag, not kept, so once the replica
// caught up the next search is right; without ReadLag the same stale
// result is kept for SearchTTL.
func TestOverALaggingReplica(t *testing.T) {
	ctx := context.Background()
	p := testmysql.SharedPair(t)
	d := p.NewDatabase(t)
	cfg := sqlbackend.Config{Name: "sql", Hasher: &testHasher}
	require.NoError(t, sqlbackend.CreateSchema(ctx, d.DB, cfg))
	cfg.ReadDB = d.Replica
	sb, err := sqlbackend.New(d.DB, cfg)
	require.NoError(t, err)
	_, err = sb.Add(ctx, sampleUser("anna"), "")
	require.NoError(t, err)
	require.NoError(t, p.WaitCaughtUp(ctx))

	clk := newClock()
	settling := newCache(t, sb, cache.Config{Now: clk.Now, ReadLag: 5 * time.Second, SearchTTL: time.Minute})
	plain := newCache(t, sb, cache.Config{Now: clk.Now, SearchTTL: time.Minute})
	for _, c := range []*cache.Cache{settling, plain} {
		u, err := c.Get(ctx, "anna")
		require.NoError(t, err)
		require.Empty(t, u.City)
	}

	require.NoError(t, p.StopReplication(ctx))
	t.Cleanup(func() { require.NoError(t, p.StartReplication(context.Background())) })
	search := func(c *cache.Cache) string {
		t.Helper()
		res, err := c.Search(ctx, backend.Query{Search: "anna"})
		require.NoError(t, err)
		require.Len(t, res, 1)
		return res[0].City
	}
	for _, c := range []*cache.Cache{settling, plain} {
		u, err := c.Get(ctx, "anna")
		require.NoError(t, err)
		u.City = "Graz"
		u.ChangedAt = time.Time{}
		_, err = c.Update(ctx, "anna", u)
		require.NoError(t, err)
		got, err := c.Get(ctx, "anna")
		require.NoError(t, err)
		assert.Equal(t, "Graz", got.City, "a Get after a write through the Cache shows it, replica or not")
		assert.Empty(t, search(c), "a search reads the lagging replica")
	}
	direct, err := sb.Get(ctx, "anna")
	require.NoError(t, err)
	require.Empty(t, direct.City, "the backend's own Get reads the lagging replica")

	require.NoError(t, p.StartReplication(ctx))
	require.NoError(t, p.WaitCaughtUp(ctx))
	assert.Equal(t, "Graz", search(settling), "with ReadLag the stale search result was not kept")
	assert.Empty(t, search(plain), "without it the stale result is kept for SearchTTL")
	clk.Advance(time.Minute)
	assert.Equal(t, "Graz", search(plain), "and no longer")

	// Once the lag window is over, results are kept again.
	clk.Advance(5 * time.Second)
	searches := settling.Stats().Misses
	assert.Equal(t, "Graz", search(settling))
	assert.Equal(t, "Graz", search(settling))
	assert.Equal(t, searches+1, settling.Stats().Misses, "one miss, then a hit")
}
