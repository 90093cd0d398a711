package sqlbackend_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// directSearch is the contract's answer to a search, evaluated in Go on
// every user: the words (ParseSearch) against the default search fields,
// the further customer IDs and the full name, folded by SearchFold; valid
// users only; in login order.
func directSearch(t *testing.T, users map[string]backend.CustomerUser, search string) []string {
	t.Helper()
	expr, err := backend.ParseSearch(search)
	require.NoError(t, err)
	expr = expr.Fold()
	var out []string
	for _, u := range users {
		if u.Valid != backend.Valid {
			continue
		}
		vals := []string{u.Login, u.FirstName, u.LastName, u.CustomerID, u.Email, u.FirstName + " " + u.LastName}
		vals = append(vals, u.CustomerIDs...)
		for i, v := range vals {
			vals[i] = backend.SearchFold(v)
		}
		if expr.Match(vals, false) {
			out = append(out, u.Login)
		}
	}
	slices.SortFunc(out, backend.CompareLogins)
	return out
}

// TestNgramRandomizedSearch compares substring searches through the
// trigram index with a direct evaluation, on 2,000 random users (some with
// further customer IDs, some invalid, some written or changed behind the
// backend's back), before and after Reindex: rare and frequent words,
// several words, wildcards, phrases, accents and no hits. (No 'ß': the
// collation's LIKE does not expand it to "ss", a documented limit of every
// SQL search path.)
func TestNgramRandomizedSearch(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	r := rand.New(rand.NewPCG(2026, 1203))
	syll := []string{"ka", "ro", "mü", "li", "sen", "ber", "we", "é", "ta", "ni", "ço", "x"}
	word := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(syll[r.IntN(len(syll))])
		}
		return sb.String()
	}
	users := map[string]backend.CustomerUser{}
	var order []string
	for i := 0; len(users) < 2000; i++ {
		u := backend.CustomerUser{
			Login: fmt.Sprintf("%s%d", word(2), i), FirstName: word(1 + r.IntN(3)), LastName: word(2 + r.IntN(3)),
			Email: fmt.Sprintf("m%d@%s.example", i, word(2)), CustomerID: strings.ToUpper(word(2)), Valid: backend.Valid,
		}
		if r.IntN(10) == 0 {
			u.Valid = backend.Invalid
		}
		if r.IntN(8) == 0 {
			u.CustomerIDs = []string{"FID-" + word(2)}
		}
		if r.IntN(10) == 0 {
			// Written by another application: no trigrams, no sort key.
			_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user (login, email, customer_id, first_name, last_name,
				valid_id, create_time, create_by, change_time, change_by) VALUES (?, ?, ?, ?, ?, ?, NOW(), 1, NOW(), 1)`,
				u.Login, u.Email, u.CustomerID, u.FirstName, u.LastName, int(u.Valid))
			require.NoError(t, err)
			u.CustomerIDs = nil
		} else {
			stored, err := b.Add(ctx, u, "")
			require.NoError(t, err)
			u = stored
		}
		users[u.Login] = u
		order = append(order, u.Login)
	}
	// Changed behind the backend's back: a new last name.
	for _, l := range order[:40] {
		u := users[l]
		u.LastName = "Foreign" + word(2)
		_, err := d.DB.ExecContext(ctx, "UPDATE customer_user SET last_name = ? WHERE login = ?", u.LastName, l)
		require.NoError(t, err)
		users[l] = u
	}
	// Further customer IDs added behind the backend's back (stale rows of
	// the further IDs' trigram index).
	for _, l := range order[100:130] {
		u := users[l]
		if u.Valid == 0 {
			continue
		}
		id := "FOREIGNID-" + word(2)
		_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user_customer (user_id, customer_id, create_time, create_by, change_time, change_by)
			VALUES (?, ?, NOW(), 1, NOW(), 1)`, l, id)
		require.NoError(t, err)
		u.CustomerIDs = append(slices.Clone(u.CustomerIDs), id)
		users[l] = u
	}
	// Changed through the backend: renamed, new names, new further IDs.
	for _, l := range order[40:80] {
		u := users[l]
		u.Login = "ren" + l
		u.FirstName = word(2)
		u.CustomerIDs = []string{"FID-" + word(2)}
		stored, err := b.Update(ctx, l, u)
		require.NoError(t, err)
		delete(users, l)
		users[stored.Login] = stored
	}

	var searches []string
	all := slices.Collect(func(yield func(backend.CustomerUser) bool) {
		for _, u := range users {
			if !yield(u) {
				return
			}
		}
	})
	slices.SortFunc(all, func(a, b backend.CustomerUser) int { return backend.CompareLogins(a.Login, b.Login) })
	for range 60 {
		u := all[r.IntN(len(all))]
		vals := []string{u.Login, u.FirstName, u.LastName, u.Email, u.CustomerID}
		v := []rune(vals[r.IntN(len(vals))])
		start := r.IntN(len(v))
		end := min(len(v), start+3+r.IntN(5))
		searches = append(searches, string(v[start:end]))
	}
	searches = append(searches, "ber", "sen", "kar", "zzqx", "fid-", "foreign", "ren", "eignid", "eignid-ka", "fid-kar", "\"ka ro\"", "ka*ro", "BER sen",
		"mu", "é", "ss", "Müli", "MUELI", "ber !sen", "example", "m1*@")
	check := func(stage string) {
		for _, s := range searches {
			want := directSearch(t, users, s)
			limits := []int{250}
			if len(want) <= 30 {
				limits = append(limits, 4)
			}
			for _, limit := range limits {
				got := pageAll(t, b, backend.Query{Search: s, Limit: limit})
				if !assert.Equal(t, want, got, "%s: %q limit %d", stage, s, limit) {
					return
				}
			}
		}
	}
	check("stale rows")
	n, err := b.Reindex(ctx, sqlbackend.ReindexOptions{BatchSize: 100})
	require.NoError(t, err)
	assert.Positive(t, n)
	for _, table := range []string{"customer_user", "customer_user_customer"} {
		var unindexed int
		require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE ngram_stale = 1").Scan(&unindexed))
		assert.Zero(t, unindexed, table)
	}
	check("reindexed")
	// Every search with candidates reads in login order first, and pages
	// its candidates when that comes up short.
	restore := sqlbackend.SetNgramDense(0)
	defer restore()
	check("probe first")
}

// TestNgramStaleRows: a row another application changed is found by its
// new words (it is a candidate while stale), not by its old ones, and
// Reindex covers it again; rows the backend writes are never stale.
func TestNgramStaleRows(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	for _, l := range []string{"anna", "bert", "carla"} {
		_, err := b.Add(ctx, sampleUser(l), "")
		require.NoError(t, err)
	}
	stale := func() int {
		var n int
		require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user WHERE ngram_stale = 1").Scan(&n))
		return n
	}
	require.Zero(t, stale(), "rows the backend adds are indexed")
	u, err := b.Get(ctx, "bert")
	require.NoError(t, err)
	u.LastName = "Quaxley"
	_, err = b.Update(ctx, "bert", u)
	require.NoError(t, err)
	require.Zero(t, stale(), "rows the backend updates are indexed")
	search := func(s string) []string {
		res, err := b.Search(ctx, backend.Query{Search: s})
		require.NoError(t, err)
		return loginsOf(res)
	}
	assert.Equal(t, []string{"bert"}, search("uaxle"))

	_, err = d.DB.ExecContext(ctx, "UPDATE customer_user SET last_name = 'Zimbalist' WHERE login = 'bert'")
	require.NoError(t, err)
	assert.Equal(t, 1, stale())
	// Searches see another application's writes within staleMemoFor (a
	// second): as if it had passed.
	sqlbackend.ForgetStale(b)
	assert.Equal(t, []string{"bert"}, search("imbali"), "the new word of a stale row")
	assert.Empty(t, search("uaxle"), "the old word: its trigrams are still there, the row no longer matches")
	n, err := b.Reindex(ctx, sqlbackend.ReindexOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Zero(t, stale())
	assert.Equal(t, []string{"bert"}, search("imbali"))
	assert.True(t, sqlbackend.UsesNgram(ctx, b, "imbali"), "a rare word is answered from the trigram index")
}

// TestNgramPlan: a rare word is answered from the trigram index, words
// without a trigram and frequent words are not (the search in login order
// serves those).
func TestNgramPlan(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	_, err := b.Add(ctx, sampleUser("solo"), "")
	require.NoError(t, err)
	assert.True(t, sqlbackend.UsesNgram(ctx, b, "olo"))
	assert.True(t, sqlbackend.UsesNgram(ctx, b, "nothing-like-it"), "no hit: the rarest trigram has no user")
	assert.False(t, sqlbackend.UsesNgram(ctx, b, "so"), "shorter than a trigram")
	assert.False(t, sqlbackend.UsesNgram(ctx, b, "!solo"), "only a negated word")
	prefix := newBackendOn(t, testmysqlDatabase(t), sqlbackend.Config{MatchPrefix: true})
	assert.False(t, sqlbackend.UsesNgram(ctx, prefix, "solo"), "prefix mode has no trigram index")
}

// TestNgramConcurrentWriters: adds and updates from several goroutines
// leave every row indexed and findable by its current words only.
func TestNgramConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	const writers, each = 4, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				login := fmt.Sprintf("cw%d-%02d", w, i)
				u := sampleUser(login)
				u.LastName = fmt.Sprintf("Oldname%d", w)
				stored, err := b.Add(ctx, u, "")
				if err != nil {
					errs <- err
					return
				}
				stored.LastName = fmt.Sprintf("Newname%d", w)
				if _, err := b.Update(ctx, login, stored); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var stale int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user WHERE ngram_stale = 1").Scan(&stale))
	assert.Zero(t, stale)
	for w := range writers {
		res, err := b.Search(ctx, backend.Query{Search: fmt.Sprintf("ewname%d", w)})
		require.NoError(t, err)
		assert.Len(t, res, each)
		res, err = b.Search(ctx, backend.Query{Search: fmt.Sprintf("ldname%d", w)})
		require.NoError(t, err)
		assert.Empty(t, res)
	}
	var grams int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user_ngram").Scan(&grams))
	assert.Positive(t, grams)
}
