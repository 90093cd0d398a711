package ldapbackend_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// Benchmarks against 20,000 entries with 8 goroutines. The data is loaded
// with slapadd before slapd starts, and only when a benchmark runs (plain
// go test never pays for it):
//
//	go test -run '^$' -bench . -benchtime 3s ./ldapbackend/
const (
	benchEntries    = 20000
	benchGoroutines = 8
	benchOU         = "ou=bench," + testldap.BaseDN
)

var (
	benchOnce sync.Once
	benchSrv  *testldap.Server
	benchErr  error
)

func benchServer(b *testing.B) *testldap.Server {
	b.Helper()
	if testing.Short() {
		b.Skip("needs slapd")
	}
	benchOnce.Do(func() {
		var sb strings.Builder
		fmt.Fprintf(&sb, "dn: %s\nobjectClass: organizationalUnit\nou: bench\n\n", benchOU)
		for i := range benchEntries {
			fmt.Fprintf(&sb, "dn: uid=b%05d,%s\nobjectClass: inetOrgPerson\nobjectClass: customerUser\nuid: b%05d\ncn: Bench User%d\ngivenName: Bench\nsn: User%d\n"+
				"customerMail: b%05d@bench.example.org\ncustomerID: C%03d\ncustomerValid: 1\nuserPassword: pw-b%05d\n\n",
				i, benchOU, i, i, i, i, i%500, i)
		}
		benchSrv, benchErr = testldap.Start(testldap.Options{PagedResultsUnlimited: true, SeedLDIF: sb.String()})
		if benchErr == nil {
			stopBench = func() { _ = benchSrv.Close() }
			benchErr = warm(benchSrv)
		}
	})
	if benchErr != nil {
		b.Fatalf("bench server: %v", benchErr)
	}
	return benchSrv
}

// stopBench is called by TestMain.
var stopBench = func() {}

func benchLogin() string { return fmt.Sprintf("b%05d", rand.IntN(benchEntries)) }

// parallel runs body on benchGoroutines goroutines and reports ops/s.
func parallel(b *testing.B, body func(pb *testing.PB)) {
	b.Helper()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchGoroutines + procs - 1) / procs)
	b.ResetTimer()
	b.RunParallel(body)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchBackend(b *testing.B, srv *testldap.Server, url string) *ldapbackend.Backend {
	cfg := testConfig(srv, benchOU, false)
	cfg.URLs = []string{url}
	cfg.TLS.RootCAs = srv.CAPool
	cfg.PoolSize = benchGoroutines
	be, err := ldapbackend.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = be.Close() })
	// Warm the pool outside the timer.
	var wg sync.WaitGroup
	for range benchGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := be.Get(b.Context(), benchLogin()); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	return be
}

var benchAttrs = []string{"uid", "title", "givenName", "sn", "customerMail", "telephoneNumber", "facsimileTelephoneNumber",
	"mobile", "street", "postalCode", "l", "customerCountry", "description", "customerID", "customerIDs", "customerValid",
	"createTimestamp", "modifyTimestamp"}

func rawSearch(c *ldap.Conn, login string) error {
	res, err := c.Search(ldap.NewSearchRequest(benchOU, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(login)+"))", benchAttrs, nil))
	if err != nil {
		return err
	}
	if len(res.Entries) != 1 {
		return fmt.Errorf("%s: %d entries", login, len(res.Entries))
	}
	return nil
}

func rawConnect(srv *testldap.Server, url string) (*ldap.Conn, error) {
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}), ldap.DialWithTLSConfig(srv.TLSConfig()))
	if err != nil {
		return nil, err
	}
	dn, pw := srv.Reader()
	if err := c.Bind(dn, pw); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// BenchmarkGet compares, per transport, the pooled backend with what the
// OTRS family does for every customer login (a fresh connection, bind,
// search, unbind per call) and with raw persistent go-ldap connections (the
// floor: one bound connection per goroutine, nothing else).
func BenchmarkGet(b *testing.B) {
	srv := benchServer(b)
	for _, tr := range []struct{ name, url string }{{"ldaps", srv.LDAPSURL}, {"ldap", srv.URL}} {
		b.Run(tr.name+"/pooled", func(b *testing.B) {
			be := benchBackend(b, srv, tr.url)
			parallel(b, func(pb *testing.PB) {
				for pb.Next() {
					if _, err := be.Get(b.Context(), benchLogin()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(tr.name+"/per-call", func(b *testing.B) {
			parallel(b, func(pb *testing.PB) {
				for pb.Next() {
					c, err := rawConnect(srv, tr.url)
					if err != nil {
						b.Error(err)
						return
					}
					err = rawSearch(c, benchLogin())
					_ = c.Unbind()
					_ = c.Close()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(tr.name+"/raw-persistent", func(b *testing.B) {
			var mu sync.Mutex
			var conns []*ldap.Conn
			b.Cleanup(func() {
				for _, c := range conns {
					_ = c.Close()
				}
			})
			parallel(b, func(pb *testing.PB) {
				c, err := rawConnect(srv, tr.url)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				for pb.Next() {
					if err := rawSearch(c, benchLogin()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAuthenticate: lookup on a pooled connection plus a bind on a
// fresh connection per call (by design: a user never binds a pooled one).
func BenchmarkAuthenticate(b *testing.B) {
	srv := benchServer(b)
	for _, tr := range []struct{ name, url string }{{"ldaps", srv.LDAPSURL}, {"ldap", srv.URL}} {
		b.Run(tr.name, func(b *testing.B) {
			be := benchBackend(b, srv, tr.url)
			parallel(b, func(pb *testing.PB) {
				for pb.Next() {
					login := benchLogin()
					if _, err := be.Authenticate(b.Context(), login, "pw-"+login); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSearch lists the first 250 of 20,000 users (whole paged result
// read, sorted, cut) and a selective search word.
func BenchmarkSearch(b *testing.B) {
	srv := benchServer(b)
	be := benchBackend(b, srv, srv.URL)
	for _, q := range []backend.Query{{Search: "user1234"}, {CustomerID: "C042"}, {}} {
		b.Run(fmt.Sprintf("%+v", q.Search+q.CustomerID), func(b *testing.B) {
			parallel(b, func(pb *testing.PB) {
				for pb.Next() {
					if _, err := be.Search(b.Context(), q); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// warm reads every entry once, so that no benchmark pays for slapd's cold
// entry cache and their order does not matter.
func warm(srv *testldap.Server) error {
	c, err := srv.AdminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.SearchWithPaging(ldap.NewSearchRequest(benchOU, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", benchAttrs, nil), 1000)
	return err
}

// runOps runs n operations on benchGoroutines goroutines and returns the
// wall time. op gets the worker number.
func runOps(n int, op func(worker int) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchGoroutines)
	start := time.Now()
	for w := range benchGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := op(w); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, <-errs
}

// BenchmarkGetInterleaved measures the three ways of BenchmarkGet in
// alternating rounds within one benchmark, so that they share the machine's
// conditions (other load, CPU frequency) and their ratios are comparable.
// It reports ops/s of each way and the ratios pooled/per-call and
// pooled/raw; ns/op is that of the mix and means nothing on its own.
func BenchmarkGetInterleaved(b *testing.B) {
	srv := benchServer(b)
	const rounds = 6
	for _, tr := range []struct{ name, url string }{{"ldaps", srv.LDAPSURL}, {"ldap", srv.URL}} {
		b.Run(tr.name, func(b *testing.B) {
			be := benchBackend(b, srv, tr.url)
			raw := make([]*ldap.Conn, benchGoroutines)
			for i := range raw {
				c, err := rawConnect(srv, tr.url)
				if err != nil {
					b.Fatal(err)
				}
				raw[i] = c
				defer c.Close()
			}
			ways := []struct {
				name string
				op   func(w int) error
			}{
				{"pooled", func(int) error { _, err := be.Get(b.Context(), benchLogin()); return err }},
				{"per-call", func(int) error {
					c, err := rawConnect(srv, tr.url)
					if err != nil {
						return err
					}
					err = rawSearch(c, benchLogin())
					_ = c.Unbind()
					_ = c.Close()
					return err
				}},
				{"raw", func(w int) error { return rawSearch(raw[w], benchLogin()) }},
			}
			per := max(b.N/rounds, 1)
			total := make([]time.Duration, len(ways))
			b.ResetTimer()
			for r := range rounds {
				for i := range ways {
					// Rotate the order so that no way always runs first.
					k := (i + r) % len(ways)
					d, err := runOps(per, ways[k].op)
					if err != nil {
						b.Fatal(ways[k].name, err)
					}
					total[k] += d
				}
			}
			ops := float64(per * rounds)
			rate := make([]float64, len(ways))
			for i := range ways {
				rate[i] = ops / total[i].Seconds()
				b.ReportMetric(rate[i], ways[i].name+"-ops/s")
			}
			b.ReportMetric(rate[0]/rate[1], "pooled/per-call")
			b.ReportMetric(rate[0]/rate[2], "pooled/raw")
		})
	}
}

// BenchmarkAuthenticateOutcomes compares the cost of a right password, a
// wrong one and an unknown login (which binds a DN that does not exist, so
// that it costs as much as a wrong password).
func BenchmarkAuthenticateOutcomes(b *testing.B) {
	srv := benchServer(b)
	be := benchBackend(b, srv, srv.URL)
	for _, c := range []struct {
		name  string
		login func() string
		pw    func(login string) string
		want  error
	}{
		{"right", benchLogin, func(l string) string { return "pw-" + l }, nil},
		{"wrong", benchLogin, func(string) string { return "wrong" }, backend.ErrInvalidCredentials},
		{"unknown", func() string { return "nobody" + benchLogin() }, func(string) string { return "wrong" }, backend.ErrInvalidCredentials},
	} {
		b.Run(c.name, func(b *testing.B) {
			parallel(b, func(pb *testing.PB) {
				for pb.Next() {
					l := c.login()
					_, err := be.Authenticate(b.Context(), l, c.pw(l))
					if !errors.Is(err, c.want) && (c.want != nil || err != nil) {
						b.Errorf("%s: %v", l, err)
						return
					}
				}
			})
		})
	}
}
