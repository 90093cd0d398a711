package sqlbackend_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// benchRows is the table size of BenchmarkSQL.
const benchRows = 100000

// otrsSearchSQL is the query the OTRS family generates for a customer
// search of one word (Kernel/System/CustomerUser/DB.pm, CustomerSearch, with
// LOWER as on a case-sensitive database): a substring match over four
// columns, which no index can serve.
const otrsSearchSQL = `SELECT login, first_name, last_name, email FROM customer_user
	WHERE (LOWER(login) LIKE LOWER(?) OR LOWER(first_name) LIKE LOWER(?) OR LOWER(last_name) LIKE LOWER(?)
	OR LOWER(customer_id) LIKE LOWER(?)) AND valid_id IN (1) LIMIT 250`

// Selective words as an agent types them: a name with the start of a
// number, a login, a customer number.
var benchWords = []string{"richter12", "user04711", "cust0815", "krüger88"}

// BenchmarkSQL compares, in one run and on 100,000 users, the backend with
// the same SQL issued directly through database/sql (the floor) and with the
// query OTRS generates. The users are loaded only when benchmarks run.
//
//	go test -run '^$' -bench BenchmarkSQL -benchtime 2s ./sqlbackend/
func BenchmarkSQL(b *testing.B) {
	ctx := context.Background()
	prefix, d := newBackend(b, sqlbackend.Config{MatchPrefix: true, Hasher: &testHasher})
	substring := newBackendOn(b, d.DB, sqlbackend.Config{Hasher: &testHasher})
	bulkLoad(b, d.DB, benchRows)
	db := d.DB
	logins := make([]string, 1000)
	for i := range logins {
		logins[i] = fmt.Sprintf("USER%06d", (i*7919)%benchRows)
	}

	b.Run("Get/backend", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := prefix.Get(ctx, logins[i%len(logins)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get/raw", func(b *testing.B) {
		// The query Get sends, scanned into plain destinations.
		query := prefix.GetSQL()
		cols := countColumns(b, db, query, logins[0])
		dest := make([]any, cols)
		for i := range dest {
			dest[i] = new(sql.RawBytes)
		}
		for i := 0; b.Loop(); i++ {
			rows, err := db.QueryContext(ctx, query, logins[i%len(logins)])
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				if err := rows.Scan(dest...); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := rows.Close(); err != nil || n != 1 {
				b.Fatal(err, n)
			}
		}
	})

	for _, mode := range []struct {
		name string
		be   *sqlbackend.Backend
	}{{"Prefix", prefix}, {"Substring", substring}} {
		b.Run("Search"+mode.name+"/backend", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				users, err := mode.be.Search(ctx, backend.Query{Search: benchWords[i%len(benchWords)]})
				if err != nil || len(users) == 0 {
					b.Fatal(err, len(users))
				}
			}
		})
		b.Run("Search"+mode.name+"/raw", func(b *testing.B) {
			type prepared struct {
				query string
				args  []any
			}
			var qs []prepared
			for _, w := range benchWords {
				q, args, err := mode.be.SearchSQL(ctx, backend.Query{Search: w})
				require.NoError(b, err)
				qs = append(qs, prepared{q, args})
			}
			for i := 0; b.Loop(); i++ {
				q := qs[i%len(qs)]
				if n := drain(b, db, q.query, q.args...); n == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
	// Search folds accents: without the virtual accent-insensitive copies
	// that CreateSchema adds (and their indexes), the prefix search would
	// compare each column converted to an accent-insensitive collation,
	// which no index serves. The same query, so converted, issued raw:
	unfolded := func(query string) string { return unfoldSQL(query) }
	b.Run("SearchPrefixUnfolded/raw", func(b *testing.B) {
		type prepared struct {
			query string
			args  []any
		}
		var qs []prepared
		for _, w := range benchWords {
			q, args, err := prefix.SearchSQL(ctx, backend.Query{Search: w})
			require.NoError(b, err)
			qs = append(qs, prepared{unfolded(q), args})
		}
		for i := 0; b.Loop(); i++ {
			q := qs[i%len(qs)]
			if n := drain(b, db, q.query, q.args...); n == 0 {
				b.Fatal("no rows")
			}
		}
	})
	// Paired: each iteration runs both sides, alternating which goes first,
	// so that the load of a shared machine hits both alike; the ratio is
	// reported as a metric.
	getQuery := prefix.GetSQL()
	rawGet := func(b *testing.B, i int) {
		if n := drain(b, db, getQuery, logins[i%len(logins)]); n != 1 {
			b.Fatal("want 1 row, got", n)
		}
	}
	ourGet := func(b *testing.B, i int) {
		if _, err := prefix.Get(ctx, logins[i%len(logins)]); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Paired/Get-vs-raw", func(b *testing.B) { pair(b, "backend", "raw", ourGet, rawGet) })
	otrs := func(b *testing.B, i int) {
		p := "%" + benchWords[i%len(benchWords)] + "%"
		if n := drain(b, db, otrsSearchSQL, p, p, p, p); n == 0 {
			b.Fatal("no rows")
		}
	}
	search := func(be *sqlbackend.Backend) func(*testing.B, int) {
		return func(b *testing.B, i int) {
			if users, err := be.Search(ctx, backend.Query{Search: benchWords[i%len(benchWords)]}); err != nil || len(users) == 0 {
				b.Fatal(err, len(users))
			}
		}
	}
	b.Run("Paired/SearchPrefix-vs-OTRS", func(b *testing.B) { pair(b, "backend", "otrs", search(prefix), otrs) })
	b.Run("Paired/SearchSubstring-vs-OTRS", func(b *testing.B) { pair(b, "backend", "otrs", search(substring), otrs) })

	b.Run("SearchOTRS", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := "%" + benchWords[i%len(benchWords)] + "%"
			if n := drain(b, db, otrsSearchSQL, p, p, p, p); n == 0 {
				b.Fatal("no rows")
			}
		}
	})
}

var foldColRe = regexp.MustCompile("t\\.`([A-Za-z0-9_$]+)_sfold`")

// unfoldSQL replaces the folded copies of a search query by the columns
// converted to the accent-insensitive collation: the query the backend
// would need without them.
func unfoldSQL(query string) string {
	return foldColRe.ReplaceAllString(query, "CONVERT(t.`$1` USING utf8mb4) COLLATE utf8mb4_uca1400_ai_ci")
}

// pair runs a and b once per iteration, alternating the order, and reports
// each one's time per operation and the ratio a/b.
func pair(tb *testing.B, nameA, nameB string, a, b func(tb *testing.B, i int)) {
	var da, db time.Duration
	var sa, sb []time.Duration
	for i := 0; tb.Loop(); i++ {
		var ta, tbb time.Duration
		if i%2 == 0 {
			t0 := time.Now()
			a(tb, i)
			t1 := time.Now()
			b(tb, i)
			ta, tbb = t1.Sub(t0), time.Since(t1)
		} else {
			t0 := time.Now()
			b(tb, i)
			t1 := time.Now()
			a(tb, i)
			tbb, ta = t1.Sub(t0), time.Since(t1)
		}
		da, db = da+ta, db+tbb
		sa, sb = append(sa, ta), append(sb, tbb)
	}
	n := float64(tb.N)
	tb.ReportMetric(float64(da.Nanoseconds())/n, nameA+"-ns/op")
	tb.ReportMetric(float64(db.Nanoseconds())/n, nameB+"-ns/op")
	tb.ReportMetric(float64(da)/float64(db), nameA+"/"+nameB)
	// The spread: min, median and max of each side, and the ratio of the
	// medians (the figure BENCHMARKS.md reports).
	slices.Sort(sa)
	slices.Sort(sb)
	if len(sa) > 1 {
		med := func(s []time.Duration) time.Duration { return s[len(s)/2] }
		tb.ReportMetric(float64(sa[0].Nanoseconds()), nameA+"-min-ns")
		tb.ReportMetric(float64(med(sa).Nanoseconds()), nameA+"-med-ns")
		tb.ReportMetric(float64(sa[len(sa)-1].Nanoseconds()), nameA+"-max-ns")
		tb.ReportMetric(float64(sb[0].Nanoseconds()), nameB+"-min-ns")
		tb.ReportMetric(float64(med(sb).Nanoseconds()), nameB+"-med-ns")
		tb.ReportMetric(float64(sb[len(sb)-1].Nanoseconds()), nameB+"-max-ns")
		tb.ReportMetric(float64(med(sa))/float64(med(sb)), nameA+"/"+nameB+"-med")
	}
}

func countColumns(b *testing.B, db *sql.DB, query string, args ...any) int {
	rows, err := db.Query(query, args...)
	require.NoError(b, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(b, err)
	return len(cols)
}

// drain runs a query and scans every row, as a caller of database/sql would.
func drain(b *testing.B, db *sql.DB, query string, args ...any) int {
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		b.Fatal(err)
	}
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(sql.RawBytes)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
