package memorybackend

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// scaleUsers is the size of the scale benchmark (issue 10, item 6);
// CUSTOMERUSER_SCALE_USERS sets another one (for a quick look).
var scaleUsers = 1_000_000

func init() {
	if n, err := strconv.Atoi(os.Getenv("CUSTOMERUSER_SCALE_USERS")); err == nil && n > 0 {
		scaleUsers = n
	}
}

// BenchmarkScale measures the memory backend at a million users, in each
// mode (substring or MatchPrefix, with and without NGramIndex): New, the
// heap per user, single writes (Add, Update, rename: every operation timed,
// median and worst reported), Get beside a plain map lookup, and searches.
// It builds 1M users per mode (about a minute each), so it runs only with
// CUSTOMERUSER_SCALE=1: make bench-mem-scale.
//
// Every figure is a metric of its sub-benchmark (median and max over the
// timed runs, in µs or ms); ns/op means nothing here (-benchtime=1x).
func BenchmarkScale(b *testing.B) {
	if os.Getenv("CUSTOMERUSER_SCALE") != "1" {
		b.Skip("set CUSTOMERUSER_SCALE=1 (make bench-mem-scale): builds 1M users per mode")
	}
	for _, mode := range []struct {
		name          string
		prefix, ngram bool
	}{
		{"substring", false, false},
		{"prefix", true, false},
		{"substring-ngram", false, true},
		{"prefix-ngram", true, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var be *Backend
			b.Run("New", func(b *testing.B) {
				be = scaleNew(b, Config{MatchPrefix: mode.prefix, NGramIndex: mode.ngram})
			})
			if be == nil {
				b.Fatal("New failed")
			}
			scaleWrites(b, be)
			scaleGet(b, be)
			scaleSearches(b, be, mode.prefix)
			runtime.KeepAlive(be)
		})
	}
}

// scaleNew builds the backend, times New and reports the heap it holds per
// user (runtime.MemStats after a GC: records, strings, hashes, indexes).
func scaleNew(b *testing.B, cfg Config) *Backend {
	var be *Backend
	for b.Loop() {
		be = nil
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cfg.Users = benchUserList(scaleUsers)
		start := time.Now()
		var err error
		if be, err = New(cfg); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		cfg.Users = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(took.Seconds(), "s/New")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(scaleUsers), "bytes/user")
		b.ReportMetric(0, "ns/op")
	}
	return be
}

// timings reports the median, the 99th percentile and the worst of d in µs.
func timings(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	us := func(x time.Duration) float64 { return float64(x) / float64(time.Microsecond) }
	b.ReportMetric(us(d[len(d)/2]), "med-µs")
	b.ReportMetric(us(d[len(d)*99/100]), "p99-µs")
	b.ReportMetric(us(d[len(d)-1]), "max-µs")
	b.ReportMetric(0, "ns/op")
}

// scaleWrites times single writes at 1M users: Add of new users, Update of
// existing ones (same login), and renames. Passwords are empty so that the
// figures are the backend's work, not bcrypt's.
func scaleWrites(b *testing.B, be *Backend) {
	const n = 5000
	ctx := context.Background()
	logins := make([]string, n)
	b.Run("Add", func(b *testing.B) {
		d := make([]time.Duration, 0, n)
		template := benchUserList(1)[0].CustomerUser
		for round := 0; b.Loop(); round++ {
			d = d[:0]
			for i := range n {
				u := template
				u.Login = fmt.Sprintf("scale-add-%d-%d", round, i)
				u.Email = u.Login + "@example.net"
				start := time.Now()
				got, err := be.Add(ctx, u, "")
				d = append(d, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				logins[i] = got.Login
			}
		}
		timings(b, d)
	})
	b.Run("Update", func(b *testing.B) {
		d := make([]time.Duration, 0, n)
		for b.Loop() {
			d = d[:0]
			for i, l := range logins {
				u, err := be.Get(ctx, l)
				if err != nil {
					b.Fatal(err)
				}
				u.LastName = fmt.Sprintf("Changed%d", i)
				u.ChangedAt = time.Time{}
				start := time.Now()
				_, err = be.Update(ctx, l, u)
				d = append(d, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		timings(b, d)
	})
	b.Run("rename", func(b *testing.B) {
		d := make([]time.Duration, 0, n)
		for round := 0; b.Loop(); round++ {
			d = d[:0]
			for i, l := range logins {
				u, err := be.Get(ctx, l)
				if err != nil {
					b.Fatal(err)
				}
				// To the other end of the login order and back.
				u.Login = fmt.Sprintf("%c-renamed-%d-%d", 'a'+i%26, round, i)
				u.ChangedAt = time.Time{}
				start := time.Now()
				got, err := be.Update(ctx, l, u)
				d = append(d, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				logins[i] = got.Login
			}
		}
		timings(b, d)
	})
}

// scaleGet times Get of random logins beside the floor: lower-case the
// login, one plain map lookup, copy the user.
func scaleGet(b *testing.B, be *Backend) {
	ctx := context.Background()
	be.mu.RLock()
	logins := make([]string, 0, 4096)
	floor := make(map[string]*backend.CustomerUser, be.s.len())
	for k, r := range be.s.byLogin {
		floor[k] = &r.user
		// Upper-cased where lower-casing gives the login back ("Yılmaz"
		// does not: I lower-cases to i, not ı).
		if l := r.user.Login; len(logins) < cap(logins) {
			if up := strings.ToUpper(l); strings.ToLower(up) == l {
				l = up
			}
			logins = append(logins, l)
		}
	}
	be.mu.RUnlock()
	const gets = 200_000
	b.Run("Get", func(b *testing.B) {
		for b.Loop() {
			start := time.Now()
			for i := range gets {
				if _, err := be.Get(ctx, logins[i%len(logins)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/gets, "ns/get")
		}
		b.ReportMetric(0, "ns/op")
	})
	b.Run("Get-floor", func(b *testing.B) {
		var sink backend.CustomerUser
		for b.Loop() {
			start := time.Now()
			for i := range gets {
				u := floor[strings.ToLower(logins[i%len(logins)])]
				if u == nil {
					b.Fatal("not found")
				}
				sink = *u
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/gets, "ns/get")
		}
		b.ReportMetric(0, "ns/op")
		_ = sink
	})
}

// scaleSearches times searches at 1M users, each run until 20 timings or
// 2 s, and reports median and max.
func scaleSearches(b *testing.B, be *Backend, prefix bool) {
	ctx := context.Background()
	type search struct {
		name string
		q    backend.Query
	}
	cases := []search{
		{"frequent", backend.Query{Search: "huber"}},
		{"rare", backend.Query{Search: "c04711"}},
		{"few", backend.Query{Search: "huber12345"}},
		{"none", backend.Query{Search: "zzqx"}},
		{"two-words", backend.Query{Search: "anna müller"}},
		{"dense", backend.Query{Search: "m"}},
		{"all-first-page", backend.Query{Limit: 50}},
	}
	if !prefix {
		cases = append(cases, search{"inner", backend.Query{Search: "uber123"}})
	}
	for _, tc := range cases {
		b.Run("Search/"+tc.name, func(b *testing.B) {
			got, err := be.Search(ctx, tc.q)
			if err != nil {
				b.Fatal(err)
			}
			var d []time.Duration
			for b.Loop() {
				d = d[:0]
				for deadline := time.Now().Add(2 * time.Second); len(d) < 20 && time.Now().Before(deadline); {
					start := time.Now()
					if _, err := be.Search(ctx, tc.q); err != nil {
						b.Fatal(err)
					}
					d = append(d, time.Since(start))
				}
			}
			timings(b, d)
			b.ReportMetric(float64(len(got)), "hits")
		})
	}
}
