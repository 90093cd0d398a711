//go:build linux

package memorybackend

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/helpdeskkit/customeruser/backend"
)

// scaleUsers is the size of the scale benchmark (issue 10, item 6), from
// CUSTOMERUSER_SCALE as the other packages' scale benchmarks read it: a
// number of users, where 1 means the default million; unset or not a
// positive number, the benchmark skips itself.
var scaleUsers = 0

func init() {
	switch n, err := strconv.Atoi(os.Getenv("CUSTOMERUSER_SCALE")); {
	case err != nil || n <= 0:
	case n == 1:
		scaleUsers = 1_000_000
	default:
		scaleUsers = n
	}
}

// BenchmarkScale measures the memory backend at a million users, in each
// mode (substring or MatchPrefix, with and without NGramIndex): New, the
// heap per user, single writes (Add, Update, rename: every operation timed,
// median and worst reported), Get beside a plain map lookup, and searches.
// It builds 1M users per mode (a minute or two each), so it runs only with
// CUSTOMERUSER_SCALE set (1 or a number of users): make bench-mem-scale.
//
// Every figure is a metric of its sub-benchmark (median and max over the
// timed runs, in µs or ms); ns/op means nothing here (-benchtime=1x).
func BenchmarkScale(b *testing.B) {
	if scaleUsers == 0 {
		b.Skip("set CUSTOMERUSER_SCALE=1 (or a number of users; make bench-mem-scale): builds 1M users per mode")
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
		var gcBefore, gcAfter runtime.MemStats
		runtime.ReadMemStats(&gcBefore)
		cpu := cpuTime()
		start := time.Now()
		var err error
		if be, err = New(cfg); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		cpu = cpuTime() - cpu
		runtime.ReadMemStats(&gcAfter)
		cfg.Users = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(took.Seconds(), "s/New")
		// The CPU time of the process during New (all goroutines, the
		// garbage collector's included): on a shared machine a steadier
		// figure than the wall time.
		b.ReportMetric(cpu.Seconds(), "cpu-s/New")
		b.ReportMetric(float64(gcAfter.NumGC-gcBefore.NumGC), "GCs/New")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(scaleUsers), "bytes/user")
		b.ReportMetric(0, "ns/op")
	}
	return be
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID):
// unlike the wall time it does not count the time the thread waited for a
// core, which on a shared machine is most of the worst cases.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// timer times single operations by wall clock and by thread CPU time; the
// caller's goroutine stays on its thread meanwhile.
type timer struct{ wall, cpu []time.Duration }

func newTimer(n int) *timer {
	runtime.LockOSThread()
	return &timer{wall: make([]time.Duration, 0, n), cpu: make([]time.Duration, 0, n)}
}

// time runs fn and records its durations.
func (t *timer) time(fn func() error) error {
	c := threadCPU()
	start := time.Now()
	err := fn()
	t.wall = append(t.wall, time.Since(start))
	t.cpu = append(t.cpu, threadCPU()-c)
	return err
}

// report reports the wall timings and the worst CPU time, and lets the
// goroutine leave its thread.
func (t *timer) report(b *testing.B) {
	runtime.UnlockOSThread()
	timings(b, t.wall)
	slices.Sort(t.cpu)
	b.ReportMetric(float64(t.cpu[len(t.cpu)/2])/float64(time.Microsecond), "cpu-med-µs")
	b.ReportMetric(float64(t.cpu[len(t.cpu)-1])/float64(time.Microsecond), "cpu-max-µs")
}

// timings reports the median, the 99th percentile and the worst of d in
// µs, and how many took over 1 ms.
func timings(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	over := len(d) - sort.Search(len(d), func(i int) bool { return d[i] > time.Millisecond })
	b.ReportMetric(float64(over), "over-1ms")
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
	// gcs reports the collections during a phase: an operation that
	// allocates while one runs may have to help mark (a GC assist).
	gcs := func(b *testing.B, before uint32) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.NumGC-before), "GCs")
	}
	numGC := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	ctx := context.Background()
	logins := make([]string, n)
	b.Run("Add", func(b *testing.B) {
		defer gcs(b, numGC())
		var tm *timer
		template := benchUserList(1)[0].CustomerUser
		for round := 0; b.Loop(); round++ {
			tm = newTimer(n)
			for i := range n {
				u := template
				u.Login = fmt.Sprintf("scale-add-%d-%d", round, i)
				u.Email = u.Login + "@example.net"
				if err := tm.time(func() error {
					got, err := be.Add(ctx, u, "")
					logins[i] = got.Login
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			tm.report(b)
		}
	})
	b.Run("Update", func(b *testing.B) {
		defer gcs(b, numGC())
		for b.Loop() {
			tm := newTimer(n)
			for i, l := range logins {
				u, err := be.Get(ctx, l)
				if err != nil {
					b.Fatal(err)
				}
				u.LastName = fmt.Sprintf("Changed%d", i)
				u.ChangedAt = time.Time{}
				if err := tm.time(func() error { _, err := be.Update(ctx, l, u); return err }); err != nil {
					b.Fatal(err)
				}
			}
			tm.report(b)
		}
	})
	b.Run("rename", func(b *testing.B) {
		defer gcs(b, numGC())
		for round := 0; b.Loop(); round++ {
			tm := newTimer(n)
			for i, l := range logins {
				u, err := be.Get(ctx, l)
				if err != nil {
					b.Fatal(err)
				}
				// All over the login order.
				u.Login = fmt.Sprintf("%c-renamed-%d-%d", 'a'+i%26, round, i)
				u.ChangedAt = time.Time{}
				if err := tm.time(func() error {
					got, err := be.Update(ctx, l, u)
					logins[i] = got.Login
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			tm.report(b)
		}
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
