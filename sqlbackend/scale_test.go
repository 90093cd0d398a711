package sqlbackend_test

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// scaleRows is the table size of BenchmarkScale: CUSTOMERUSER_SCALE, 0 (skip)
// when unset.
func scaleRows(b *testing.B) int {
	s := os.Getenv("CUSTOMERUSER_SCALE")
	if s == "" {
		b.Skip("set CUSTOMERUSER_SCALE=1000000 (make bench-sql-scale)")
	}
	n, err := strconv.Atoi(s)
	require.NoError(b, err, "CUSTOMERUSER_SCALE")
	return n
}

// scaleRecords generates n users as bulkLoad does (every tenth with a
// further customer ID, every twentieth invalid), each with an OTRS sha2
// hash, for Import.
func scaleRecords(n int) iter.Seq2[sqlbackend.ImportRecord, error] {
	return func(yield func(sqlbackend.ImportRecord, error) bool) {
		for i := range n {
			login := fmt.Sprintf("user%07d", i)
			u := backend.CustomerUser{Login: login, Email: login + "@example.com", CustomerID: fmt.Sprintf("CUST%06d", i/10),
				FirstName: bulkFirst[i%len(bulkFirst)], LastName: fmt.Sprintf("%s%d", bulkLast[(i/len(bulkFirst))%len(bulkLast)], i),
				City: "Berlin", Valid: backend.Valid}
			if i%20 == 19 {
				u.Valid = backend.Invalid
			}
			if i%10 == 0 {
				u.CustomerIDs = []string{fmt.Sprintf("EXTRA%06d", i/10)}
			}
			if !yield(sqlbackend.ImportRecord{User: u, PasswordHash: "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82"}, nil) {
				return
			}
		}
	}
}

// BenchmarkScale loads CUSTOMERUSER_SCALE users with Import (reported as
// import-s and rows/s) and compares, each pair in one run and interleaved,
// the backend with the OTRS-style query and with the plain indexed query:
//
//	CUSTOMERUSER_SCALE=1000000 go test -run '^$' -bench BenchmarkScale -benchtime 10x -timeout 60m -v ./sqlbackend/
//
// (make bench-sql-scale).
func BenchmarkScale(b *testing.B) {
	n := scaleRows(b)
	ctx := context.Background()
	// The default schema (substring search, with the trigram index); the
	// prefix backend shares its table.
	substring, d := newBackend(b, sqlbackend.Config{Hasher: &testHasher})
	prefix := newBackendOn(b, d.DB, sqlbackend.Config{MatchPrefix: true, Hasher: &testHasher})
	db := d.DB
	// The throwaway server starts with a small buffer pool; the table and
	// its indexes at 1M rows are about 1 GiB.
	_, _ = db.ExecContext(ctx, "SET GLOBAL innodb_buffer_pool_size = 1536*1024*1024")
	start := time.Now()
	// The trigram index is built after the import, by Reindex (the
	// documented path for a migration).
	p, err := substring.Import(ctx, scaleRecords(n), sqlbackend.ImportOptions{BatchSize: 2000, DeferSearchIndex: true})
	require.NoError(b, err)
	require.Equal(b, n, p.Inserted)
	took := time.Since(start)
	b.Logf("Import of %d users: %v (%.0f rows/s)", n, took, float64(n)/took.Seconds())
	start = time.Now()
	indexed, err := substring.Reindex(ctx, sqlbackend.ReindexOptions{BatchSize: 5000})
	require.NoError(b, err)
	require.Equal(b, n+(n+9)/10, indexed, "every user and every further-ID row (one user in ten has one)")
	reindexTook := time.Since(start)
	// Reindex flipped ngram_stale on every row: InnoDB purges the old
	// index entries in the background, and until it has, the (empty)
	// range of stale rows that every trigram search reads is long. Wait
	// for the purge, as a server at rest has done.
	purgeStart := time.Now()
	waitPurged(b, db)
	b.Logf("InnoDB purge after Reindex: %v", time.Since(purgeStart).Round(time.Second))
	var grams int64
	require.NoError(b, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user_ngram").Scan(&grams))
	var ngMB, userMB float64
	require.NoError(b, db.QueryRowContext(ctx, `SELECT
		SUM(IF(TABLE_NAME = 'customer_user_ngram', DATA_LENGTH + INDEX_LENGTH, 0)) / 1048576,
		SUM(IF(TABLE_NAME = 'customer_user', DATA_LENGTH + INDEX_LENGTH, 0)) / 1048576
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`).Scan(&ngMB, &userMB))
	b.Logf("Reindex (trigram index) of %d users: %v; %d trigram rows (%.1f per user), %.0f MiB (customer_user: %.0f MiB)",
		n, reindexTook, grams, float64(grams)/float64(n), ngMB, userMB)
	_, err = db.ExecContext(ctx, "ANALYZE TABLE customer_user, customer_user_customer, customer_user_ngram")
	require.NoError(b, err)

	b.Run("Import", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(took.Seconds(), "import-s")
		b.ReportMetric(float64(n)/took.Seconds(), "rows/s")
		b.ReportMetric(reindexTook.Seconds(), "reindex-s")
	})

	logins := make([]string, 1000)
	for i := range logins {
		logins[i] = fmt.Sprintf("USER%07d", (i*7919)%n)
	}
	// The floor: the plain indexed query of the user's columns, through a
	// statement prepared once on the same *sql.DB (one round trip, as the
	// backend's own prepared lookup).
	plain, err := db.PrepareContext(ctx, prefix.PlainGetSQL())
	require.NoError(b, err)
	defer plain.Close()
	// getRound lookups per iteration and side: a lookup is short, so that
	// -benchtime 10x still measures thousands.
	const getRound = 200
	b.Run("Get-vs-plain", func(b *testing.B) {
		pair(b, "backend", "plain", func(b *testing.B, i int) {
			for j := range getRound {
				if _, err := prefix.Get(ctx, logins[(i*getRound+j)%len(logins)]); err != nil {
					b.Fatal(err)
				}
			}
		}, func(b *testing.B, i int) {
			for j := range getRound {
				rows, err := plain.QueryContext(ctx, logins[(i*getRound+j)%len(logins)])
				if got := drainRows(b, rows, err); got != 1 {
					b.Fatal("want 1 row, got", got)
				}
			}
		})
	})

	// The backend's own lookup query, raw: what the Go side adds. (Per
	// iteration getRound lookups: divide the ns/op figures by getRound.)
	join, err := db.PrepareContext(ctx, prefix.GetSQL())
	require.NoError(b, err)
	defer join.Close()
	b.Run("GetSQL-vs-plain", func(b *testing.B) {
		pair(b, "getsql", "plain", func(b *testing.B, i int) {
			for j := range getRound {
				rows, err := join.QueryContext(ctx, logins[(i*getRound+j)%len(logins)])
				if got := drainRows(b, rows, err); got < 1 {
					b.Fatal("want rows, got", got)
				}
			}
		}, func(b *testing.B, i int) {
			for j := range getRound {
				rows, err := plain.QueryContext(ctx, logins[(i*getRound+j)%len(logins)])
				if got := drainRows(b, rows, err); got != 1 {
					b.Fatal("want 1 row, got", got)
				}
			}
		})
	})

	// The whole table through backend.All (keyset pages of 1,000), with
	// the peak live heap: flat, one page at a time.
	b.Run("All-list", func(b *testing.B) {
		var seen int
		var took time.Duration
		var peak uint64
		for b.Loop() {
			seen, took, peak = listAll(b, prefix, 1000)
		}
		require.Equal(b, n, seen)
		b.ReportMetric(float64(took.Nanoseconds())/float64(seen), "ns/user")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})

	words := []struct{ name, word string }{{"frequent", "weber"}, {"rare", "user000471"}, {"nohit", "zzqxj"}}
	for _, mode := range []struct {
		name string
		be   *sqlbackend.Backend
	}{{"Prefix", prefix}, {"Substring", substring}} {
		for _, w := range words {
			q := backend.Query{Search: w.word}
			if n, err := mode.be.Search(ctx, q); err == nil {
				b.Logf("%s %s: %d results", mode.name, w.name, len(n))
			}
			if s, args, err := mode.be.SearchSQL(ctx, q); err == nil && s != "" {
				b.Logf("EXPLAIN %s %s: %v", mode.name, w.name, explainRows(b, db, s, args...))
			}
			b.Run("Search"+mode.name+"-"+w.name+"-vs-OTRS", func(b *testing.B) {
				pat := "%" + w.word + "%"
				pair(b, "backend", "otrs", func(b *testing.B, i int) {
					if _, err := mode.be.Search(ctx, q); err != nil {
						b.Fatal(err)
					}
				}, func(b *testing.B, i int) { drain(b, db, otrsSearchSQL, pat, pat, pat, pat) })
			})
			qt, qtArgs, err := mode.be.QueryTimeSearchSQL(ctx, q)
			require.NoError(b, err)
			b.Run("Search"+mode.name+"-"+w.name+"-vs-querytimeorder", func(b *testing.B) {
				pair(b, "backend", "querytime", func(b *testing.B, i int) {
					if _, err := mode.be.Search(ctx, q); err != nil {
						b.Fatal(err)
					}
				}, func(b *testing.B, i int) { drain(b, db, qt, qtArgs...) })
			})
		}
	}
}

// explainRows returns EXPLAIN's rows as "table type key rows Extra".
func explainRows(tb testing.TB, db *sql.DB, query string, args ...any) []string {
	var out []string
	for _, m := range explain(tb, db, query, args...) {
		out = append(out, fmt.Sprintf("%s %s %s %s %s", m["table"], m["type"], m["key"], m["rows"], m["Extra"]))
	}
	return out
}

// drainRows scans every row of a result, as a caller of database/sql would.
func drainRows(tb testing.TB, rows *sql.Rows, err error) int {
	require.NoError(tb, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(tb, err)
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(sql.RawBytes)
	}
	n := 0
	for rows.Next() {
		require.NoError(tb, rows.Scan(dest...))
		n++
	}
	require.NoError(tb, rows.Err())
	return n
}

// listAll lists every user of be with backend.All in pages of page and
// returns how many it saw, the time it took and the peak live heap above
// the start (sampled every 10,000 users, after a GC each time: the heap
// the listing holds, not its garbage).
func listAll(tb testing.TB, be backend.CustomerUserBackend, page int) (n int, took time.Duration, peak uint64) {
	tb.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	start := time.Now()
	for _, err := range backend.All(context.Background(), be, backend.Query{IncludeInvalid: true, Limit: page}) {
		require.NoError(tb, err)
		n++
		if n%10000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
		}
	}
	return n, time.Since(start), peak
}

// waitPurged waits (up to 15 minutes) until InnoDB's history list, the
// undo records purge has still to apply, is short.
func waitPurged(tb testing.TB, db *sql.DB) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Minute)
	for time.Now().Before(deadline) {
		var typ, name, status string
		require.NoError(tb, db.QueryRow("SHOW ENGINE INNODB STATUS").Scan(&typ, &name, &status))
		if i := strings.Index(status, "History list length "); i >= 0 {
			rest := status[i+len("History list length "):]
			if j := strings.IndexAny(rest, "\n "); j > 0 {
				if n, err := strconv.Atoi(rest[:j]); err == nil && n < 1000 {
					return
				}
			}
		}
		time.Sleep(2 * time.Second)
	}
	tb.Log("InnoDB purge still running after 15 minutes")
}
