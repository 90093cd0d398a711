package sqlbackend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// pageAll pages through a search with After and returns the logins.
func pageAll(t *testing.T, b *sqlbackend.Backend, q backend.Query) []string {
	t.Helper()
	var out []string
	for range 1000 {
		res, err := b.Search(context.Background(), q)
		require.NoError(t, err)
		if len(res) == 0 {
			return out
		}
		for _, u := range res {
			out = append(out, u.Login)
		}
		q.After = res[len(res)-1].Login
	}
	t.Fatal("paging does not end")
	return nil
}

// sortedLogins is the direct evaluation of the contract's order.
func sortedLogins(logins []string) []string {
	out := slices.Clone(logins)
	slices.SortFunc(out, backend.CompareLogins)
	return out
}

// TestSortKeyStaleRows writes rows behind the backend's back (inserted and
// renamed as Znuny does, without the sort key): searches still return them
// in the contract's order, log LogStaleSortKeys, and Reindex makes the
// sort index whole again.
func TestSortKeyStaleRows(t *testing.T) {
	ctx := context.Background()
	for _, prefix := range []bool{false, true} {
		t.Run(fmt.Sprintf("MatchPrefix=%t", prefix), func(t *testing.T) {
			d := testmysql.NewDatabase(t)
			var logs bytes.Buffer
			cfg := sqlbackend.Config{MatchPrefix: prefix, Hasher: &testHasher, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			require.NoError(t, sqlbackend.CreateSchema(ctx, d.DB, cfg))
			b, err := sqlbackend.New(d.DB, cfg)
			require.NoError(t, err)
			// Logins whose lower-cased order differs from the identity
			// key's (final sigma folds to sigma), and case variants.
			var all []string
			for _, l := range []string{"ςb", "σa", "Bob", "alice", "Carl", "dora", "ELSE", "émile", "Zack", "user10", "User2"} {
				u := sampleUser(l)
				u.FirstName = "Zed"
				_, err := b.Add(ctx, u, "")
				require.NoError(t, err)
				all = append(all, l)
			}
			for _, l := range []string{"Anton", "mike", "Σc"} {
				_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user (login, email, customer_id, first_name, last_name,
					valid_id, create_time, create_by, change_time, change_by) VALUES (?, ?, 'ACME', 'Zed', 'Foreign', 1, NOW(), 1, NOW(), 1)`,
					l, l+"@foreign.example.com")
				require.NoError(t, err)
				all = append(all, l)
			}
			_, err = d.DB.ExecContext(ctx, "UPDATE customer_user SET login = 'Aaron' WHERE login = 'Bob'")
			require.NoError(t, err)
			all[slices.Index(all, "Bob")] = "Aaron"
			want := sortedLogins(all)

			q := backend.Query{Search: "zed", Limit: 3}
			assert.Equal(t, want, pageAll(t, b, q), "stale rows found and ordered")
			if prefix {
				// A substring search takes the trigram index, which has
				// the stale rows as candidates: no sort needed.
				assert.Contains(t, logs.String(), sqlbackend.LogStaleSortKeys)
			}

			var progress []int
			n, err := b.Reindex(ctx, sqlbackend.ReindexOptions{BatchSize: 2, Progress: func(done int) { progress = append(progress, done) }})
			require.NoError(t, err)
			if prefix {
				assert.Equal(t, 4, n, "three inserted, one renamed")
				assert.Equal(t, []int{2, 4}, progress)
			} else {
				assert.Equal(t, 8, n, "three inserted, one renamed: in the sort index and in the trigram index")
				assert.Equal(t, []int{2, 4, 6, 8}, progress)
				var unindexed int
				require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user WHERE ngram_stale = 1").Scan(&unindexed))
				assert.Zero(t, unindexed)
			}
			var stale int
			require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user WHERE login_isort IS NULL").Scan(&stale))
			assert.Zero(t, stale)
			n, err = b.Reindex(ctx, sqlbackend.ReindexOptions{})
			require.NoError(t, err)
			assert.Zero(t, n, "nothing left")

			logs.Reset()
			fresh, err := sqlbackend.New(d.DB, cfg)
			require.NoError(t, err)
			assert.Equal(t, want, pageAll(t, fresh, q))
			assert.NotContains(t, logs.String(), sqlbackend.LogStaleSortKeys)
			// Limit 1: the first by the identity key, though the server's
			// LOWER puts "ςb" before "σa".
			res, err := fresh.Search(ctx, backend.Query{Search: "zed", Limit: 1, After: "émile"})
			require.NoError(t, err)
			require.Len(t, res, 1)
			assert.Equal(t, "σa", res[0].Login)
		})
	}
}

// TestSortIndexServesSubstringSearch shows that a substring search reads
// the sort index in order (no filesort of every match).
func TestSortIndexServesSubstringSearch(t *testing.T) {
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	bulkLoad(t, d.DB, 2000)
	query, args, err := b.SearchSQL(context.Background(), backend.Query{Search: "weber"})
	require.NoError(t, err)
	plan := explain(t, d.DB, query, args...)
	require.NotEmpty(t, plan)
	assert.Equal(t, "customer_user_isort", plan[0]["key"], "%v", plan)
	assert.NotContains(t, plan[0]["Extra"], "filesort", "%v", plan)
}

// TestRandomizedSearchOrder compares paged searches with a direct
// evaluation on random logins (case variants, accents, final sigma), some
// written behind the backend's back, before and after Reindex.
func TestRandomizedSearchOrder(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	r := rand.New(rand.NewPCG(2026, 12))
	alphabet := []rune("aAbBeéÉsSςσΣzZ0")
	words := []string{"red", "green", "blue"}
	type rec struct{ login, word string }
	var recs []rec
	seen := map[string]bool{}
	for len(recs) < 300 {
		var sb strings.Builder
		for range 1 + r.IntN(5) {
			sb.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		login := sb.String()
		if seen[backend.IdentityKey(login)] {
			continue
		}
		seen[backend.IdentityKey(login)] = true
		w := words[r.IntN(len(words))]
		if r.IntN(5) == 0 {
			_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user (login, email, customer_id, first_name, last_name,
				valid_id, create_time, create_by, change_time, change_by) VALUES (?, ?, 'ACME', ?, 'X', 1, NOW(), 1, NOW(), 1)`,
				login, fmt.Sprintf("f%d@example.com", len(recs)), w)
			require.NoError(t, err)
		} else {
			u := sampleUser(login)
			u.Email = fmt.Sprintf("u%d@example.com", len(recs))
			u.FirstName = w
			_, err := b.Add(ctx, u, "")
			require.NoError(t, err)
		}
		recs = append(recs, rec{login, w})
	}
	check := func(stage string) {
		for _, w := range words {
			var want []string
			for _, rc := range recs {
				if rc.word == w {
					want = append(want, rc.login)
				}
			}
			want = sortedLogins(want)
			for _, limit := range []int{1, 7, 50} {
				assert.Equal(t, want, pageAll(t, b, backend.Query{Search: w, Limit: limit}), "%s: %s limit %d", stage, w, limit)
			}
		}
	}
	check("stale")
	_, err := b.Reindex(ctx, sqlbackend.ReindexOptions{BatchSize: 16})
	require.NoError(t, err)
	check("reindexed")
}

// TestNewWarnsAboutMissingIndexes: on the OTRS tables New logs what a
// prefix search and the sort order lack, with the statements that add it;
// after them (and Reindex) it logs nothing.
func TestNewWarnsAboutMissingIndexes(t *testing.T) {
	ctx := context.Background()
	d := otrsDatabase(t)
	_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user (login, email, customer_id, first_name, last_name,
		valid_id, create_time, create_by, change_time, change_by) VALUES ('Legacy', 'l@example.com', 'X', 'Lea', 'Gacy', 1, NOW(), 1, NOW(), 1)`)
	require.NoError(t, err)
	warnings := func() []map[string]any {
		var buf bytes.Buffer
		_, err := sqlbackend.New(d.DB, sqlbackend.Config{MatchPrefix: true, Hasher: &testHasher, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
		require.NoError(t, err)
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m))
			if m["msg"] == sqlbackend.LogMissingIndexes {
				out = append(out, m)
			}
		}
		return out
	}
	w := warnings()
	require.Len(t, w, 1)
	missing, stmts := w[0]["missing"].(string), w[0]["statements"].(string)
	for _, col := range []string{"first_name", "last_name", "email", "customer_id"} {
		assert.Contains(t, missing, "customer_user."+col)
		assert.Contains(t, stmts, "ON `customer_user` (`"+col+"`)")
	}
	assert.Contains(t, missing, "login_isort")
	assert.Contains(t, stmts, "ALTER TABLE `customer_user` ADD COLUMN `login_ikey`")

	require.NoError(t, sqlbackend.CreateSchema(ctx, d.DB, sqlbackend.Config{}))
	w = warnings()
	require.Len(t, w, 1, "the sort key is still missing")
	stmts = w[0]["statements"].(string)
	assert.NotContains(t, stmts, "CREATE INDEX")
	_, err = d.DB.ExecContext(ctx, stmts)
	require.NoError(t, err, "the statement New names runs as it is")
	assert.Empty(t, warnings())

	b, err := sqlbackend.New(d.DB, sqlbackend.Config{MatchPrefix: true, Hasher: &testHasher})
	require.NoError(t, err)
	n, err := b.Reindex(ctx, sqlbackend.ReindexOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = b.Add(ctx, sampleUser("added"), "")
	require.NoError(t, err)
	res, err := b.Search(ctx, backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, []string{"added", "Legacy"}, loginsOf(res))
}

// TestSortKeyConcurrentWriters: adds and renames from several goroutines
// leave every row with its current sort key, and searches in the
// contract's order.
func TestSortKeyConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	const writers, each = 4, 15
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				login := fmt.Sprintf("W%d-%02d", w, i)
				u := sampleUser(login)
				u.FirstName = "Conc"
				if _, err := b.Add(ctx, u, ""); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					u.Login = fmt.Sprintf("ς-renamed-%d-%02d", w, i)
					if _, err := b.Update(ctx, login, u); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	var want []string
	for w := range writers {
		require.NoError(t, <-errs)
		for i := range each {
			if i%3 == 0 {
				want = append(want, fmt.Sprintf("ς-renamed-%d-%02d", w, i))
			} else {
				want = append(want, fmt.Sprintf("W%d-%02d", w, i))
			}
		}
	}
	var stale int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user WHERE login_isort IS NULL").Scan(&stale))
	assert.Zero(t, stale)
	assert.Equal(t, sortedLogins(want), pageAll(t, b, backend.Query{Search: "conc", Limit: 9}))
}
