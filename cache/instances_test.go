package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/cache"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// twoInstances gives two app instances' Caches, each over its own
// sqlbackend on one real MariaDB database, on one injected clock, with
// GetTTL and EmailTTL of a minute and "anna" stored. wire connects their
// invalidation hooks (through JSON, as a bus would carry them).
func twoInstances(t *testing.T, wire bool) (a, b *cache.Cache, clk *clock) {
	t.Helper()
	d := testmysql.NewDatabase(t)
	cfg := sqlbackend.Config{Name: "sql", Hasher: &testHasher}
	require.NoError(t, sqlbackend.CreateSchema(t.Context(), d.DB, cfg))
	clk = newClock()
	var instances [2]*cache.Cache
	for i := range instances {
		sb, err := sqlbackend.New(d.DB, cfg)
		require.NoError(t, err)
		cc := cache.Config{Now: clk.Now, GetTTL: time.Minute, EmailTTL: time.Minute, SearchTTL: 30 * time.Second}
		if wire {
			other := 1 - i
			cc.OnInvalidate = func(inv cache.Invalidation) {
				msg, err := json.Marshal(inv)
				require.NoError(t, err)
				var got cache.Invalidation
				require.NoError(t, json.Unmarshal(msg, &got))
				instances[other].Invalidate(got)
			}
		}
		instances[i], err = cache.New(sb, cc)
		require.NoError(t, err)
	}
	_, err := instances[0].Add(t.Context(), sampleUser("anna"), "")
	require.NoError(t, err)
	return instances[0], instances[1], clk
}

// city reads anna's city through c by Get, by search and by email.
func city(t *testing.T, c *cache.Cache) (get, search, email string) {
	t.Helper()
	u, err := c.Get(t.Context(), "Anna")
	require.NoError(t, err)
	res, err := c.Search(t.Context(), backend.Query{Search: "anna"})
	require.NoError(t, err)
	require.Len(t, res, 1)
	byEmail, err := c.Search(t.Context(), backend.Query{Email: "anna@example.com"})
	require.NoError(t, err)
	require.Len(t, byEmail, 1)
	return u.City, res[0].City, byEmail[0].City
}

func setCity(t *testing.T, c *cache.Cache, value string) {
	t.Helper()
	u, err := c.Get(t.Context(), "anna")
	require.NoError(t, err)
	u.City = value
	_, err = c.Update(t.Context(), "anna", u)
	require.NoError(t, err)
}

// TestTwoInstancesWithoutTheHookAreStaleAtMostTheTTL: instance B, which
// read anna before instance A changed her, shows the old record until
// each of its entries expires, and never longer.
func TestTwoInstancesWithoutTheHookAreStaleAtMostTheTTL(t *testing.T) {
	a, b, clk := twoInstances(t, false)
	assertCity := func(c *cache.Cache, get, search, email string, msg string) {
		t.Helper()
		g, s, e := city(t, c)
		assert.Equal(t, []string{get, search, email}, []string{g, s, e}, msg)
	}
	assertCity(b, "", "", "", "B has read anna")
	setCity(t, a, "Graz")
	assertCity(a, "Graz", "Graz", "Graz", "the writing instance is never stale")
	assertCity(b, "", "", "", "B is stale right after A's write")

	clk.Advance(29 * time.Second)
	assertCity(b, "", "", "", "29 s: still within every TTL")
	clk.Advance(2 * time.Second)
	assertCity(b, "", "Graz", "", "31 s: the search (30 s) expired")
	clk.Advance(29 * time.Second)
	assertCity(b, "Graz", "Graz", "Graz", "60 s: Get and the email lookup (1 min) expired")
}

// TestTwoInstancesWithTheHookAreNeverStale: with A's OnInvalidate applied
// to B (and back), B shows every write of A at once.
func TestTwoInstancesWithTheHookAreNeverStale(t *testing.T) {
	a, b, _ := twoInstances(t, true)
	g, s, e := city(t, b)
	require.Equal(t, []string{"", "", ""}, []string{g, s, e})
	_, _, _ = city(t, a)
	for i, writer := range []*cache.Cache{a, b, a} {
		value := fmt.Sprintf("City %d", i)
		setCity(t, writer, value)
		for _, c := range []*cache.Cache{a, b} {
			g, s, e := city(t, c)
			assert.Equal(t, []string{value, value, value}, []string{g, s, e}, "write %d read on both instances", i)
		}
	}
	// Reads between writes were hits: the hook invalidated only what changed.
	assert.Positive(t, b.Stats().Hits)
	assert.EqualValues(t, 4, a.Stats().Invalidations, "A's Add, its two writes and B's one")
}

// TestAllPagesThroughSQLAndTheCache lists users of a real MariaDB with
// backend.All, directly and through a Cache.
func TestAllPagesThroughSQLAndTheCache(t *testing.T) {
	d := testmysql.NewDatabase(t)
	cfg := sqlbackend.Config{Name: "sql", Hasher: &testHasher}
	require.NoError(t, sqlbackend.CreateSchema(t.Context(), d.DB, cfg))
	sb, err := sqlbackend.New(d.DB, cfg)
	require.NoError(t, err)
	const n = 612
	for i := range n {
		u := sampleUser(fmt.Sprintf("User%04d", i))
		if i%7 == 0 {
			u.Valid = backend.InvalidTemporarily
		}
		_, err := sb.Add(t.Context(), u, "")
		require.NoError(t, err)
	}
	c := newCache(t, sb, cache.Config{})
	for _, b := range []backend.CustomerUserBackend{sb, c} {
		count, prev := 0, ""
		for u, err := range backend.All(context.Background(), b, backend.Query{IncludeInvalid: true, Limit: 250}) {
			require.NoError(t, err)
			if prev != "" {
				require.Negative(t, backend.CompareLogins(prev, u.Login))
			}
			prev = u.Login
			count++
		}
		assert.Equal(t, n, count, "every user of %T once", b)
		valid := 0
		for _, err := range backend.All(t.Context(), b, backend.Query{Search: "user*", Limit: 100}) {
			require.NoError(t, err)
			valid++
		}
		assert.Equal(t, n-(n+6)/7, valid, "valid users only")
	}
}
