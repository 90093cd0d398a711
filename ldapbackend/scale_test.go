package ldapbackend_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// scaleEntries is the directory size of BenchmarkScaleLDAP:
// CUSTOMERUSER_LDAP_SCALE, default 100,000; the benchmark runs only when
// CUSTOMERUSER_SCALE is set (make bench-scale).
func scaleEntries(b *testing.B) int {
	if os.Getenv("CUSTOMERUSER_SCALE") == "" {
		b.Skip("set CUSTOMERUSER_SCALE=1000000 (make bench-scale)")
	}
	n := 100000
	if s := os.Getenv("CUSTOMERUSER_LDAP_SCALE"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("CUSTOMERUSER_LDAP_SCALE=%q", s)
		}
		n = v
	}
	return n
}

// scaleLDIF is n customer users under ou=scale, bulk loaded by slapadd.
func scaleLDIF(n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "dn: ou=scale,%s\nobjectClass: organizationalUnit\nou: scale\n\n", testldap.BaseDN)
	for i := range n {
		fmt.Fprintf(&sb, "dn: uid=s%07d,ou=scale,%s\nobjectClass: inetOrgPerson\nobjectClass: customerUser\nuid: s%07d\ncn: Scale User%d\ngivenName: Scale\nsn: User%d\n"+
			"customerMail: s%07d@scale.example.org\ncustomerID: C%04d\ncustomerValid: 1\nuserPassword: pw-s%07d\n\n",
			i, testldap.BaseDN, i, i, i, i, i%1000, i)
	}
	return sb.String()
}

// spread runs each way rounds times, interleaved (the order rotates), and
// reports per way the min, median and max of its per-round rate, and the
// ratio of the first way's median to each other's.
func spread(b *testing.B, rounds, per int, names []string, ops []func(w int) error) {
	rates := make([][]float64, len(ops))
	for r := range rounds {
		for i := range ops {
			k := (i + r) % len(ops)
			d, err := runOps(per, ops[k])
			if err != nil {
				b.Fatal(names[k], err)
			}
			rates[k] = append(rates[k], float64(per)/d.Seconds())
		}
	}
	med := make([]float64, len(ops))
	for i, rs := range rates {
		slices.Sort(rs)
		med[i] = rs[len(rs)/2]
		b.ReportMetric(rs[0], names[i]+"-min-ops/s")
		b.ReportMetric(med[i], names[i]+"-med-ops/s")
		b.ReportMetric(rs[len(rs)-1], names[i]+"-max-ops/s")
	}
	for i := 1; i < len(ops); i++ {
		b.ReportMetric(med[0]/med[i], names[0]+"/"+names[i]+"-med")
	}
}

// BenchmarkScaleLDAP compares, at CUSTOMERUSER_LDAP_SCALE entries (100,000),
// over LDAPS with an RSA-2048 and with an ECDSA P-256 server certificate,
// the pooled backend with the OTRS way (connect, bind, search, unbind per
// call) and with raw persistent go-ldap connections, for Get and for a
// prefix search; and lists the whole directory with backend.All (paged),
// reporting the peak heap:
//
//	CUSTOMERUSER_SCALE=1 go test -run '^$' -bench BenchmarkScaleLDAP -benchtime 1x -timeout 30m -v ./ldapbackend/
func BenchmarkScaleLDAP(b *testing.B) {
	n := scaleEntries(b)
	ldif := scaleLDIF(n)
	const rounds = 5
	for _, key := range []struct {
		name string
		rsa  bool
	}{{"rsa2048", true}, {"ecdsa", false}} {
		start := time.Now()
		srv, err := testldap.Start(testldap.Options{PagedResultsUnlimited: true, SeedLDIF: ldif, RSAServerKey: key.rsa})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: slapd with %d entries loaded in %v", key.name, n, time.Since(start).Round(time.Millisecond))
		ou := "ou=scale," + testldap.BaseDN
		cfg := testConfig(srv, ou, false)
		cfg.URLs = []string{srv.LDAPSURL}
		cfg.TLS.RootCAs = srv.CAPool
		cfg.PoolSize = benchGoroutines
		be, err := ldapbackend.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		login := func() string { return fmt.Sprintf("s%07d", rand.IntN(n)) }
		raw := make([]*ldap.Conn, benchGoroutines)
		for i := range raw {
			if raw[i], err = rawConnect(srv, srv.LDAPSURL); err != nil {
				b.Fatal(err)
			}
		}
		rawGet := func(c *ldap.Conn, l string) error {
			res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(l)+"))", benchAttrs, nil))
			if err == nil && len(res.Entries) != 1 {
				err = fmt.Errorf("%s: %d entries", l, len(res.Entries))
			}
			return err
		}
		b.Run("Get-"+key.name, func(b *testing.B) {
			for b.Loop() {
				spread(b, rounds, 400, []string{"pooled", "per-call", "raw"}, []func(int) error{
					func(int) error { _, err := be.Get(b.Context(), login()); return err },
					func(int) error {
						c, err := rawConnect(srv, srv.LDAPSURL)
						if err != nil {
							return err
						}
						err = rawGet(c, login())
						_ = c.Unbind()
						_ = c.Close()
						return err
					},
					func(w int) error { return rawGet(raw[w], login()) },
				})
			}
		})
		// A word that 100 entries match (s00012 of s0001200..s0001299): the
		// backend's search against a raw substring search of uid, cn and
		// customerMail on a persistent connection.
		b.Run("SearchPrefix-"+key.name, func(b *testing.B) {
			for b.Loop() {
				spread(b, rounds, 200, []string{"pooled", "raw"}, []func(int) error{
					func(int) error {
						_, err := be.Search(b.Context(), backend.Query{Search: fmt.Sprintf("s%05d", rand.IntN(n/100))})
						return err
					},
					func(w int) error {
						word := fmt.Sprintf("s%05d", rand.IntN(n/100))
						_, err := raw[w].Search(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 250, 0, false,
							fmt.Sprintf("(&(objectClass=inetOrgPerson)(|(uid=*%s*)(cn=*%s*)(customerMail=*%s*)))", word, word, word),
							benchAttrs, nil))
						return err
					},
				})
			}
		})
		if key.rsa {
			// The whole directory through backend.All in pages of
			// backend.MaxLimit, with the peak live heap. Each page reads the
			// DNs of every entry after the cursor (paged results): a
			// directory has no order to continue from.
			b.Run("All-list", func(b *testing.B) {
				var seen int
				var took time.Duration
				var peak uint64
				for b.Loop() {
					var ms runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&ms)
					base := ms.HeapAlloc
					seen, peak = 0, 0
					start := time.Now()
					for _, err := range backend.All(b.Context(), be, backend.Query{IncludeInvalid: true, Limit: backend.MaxLimit}) {
						if err != nil {
							b.Fatal(err)
						}
						seen++
						if seen%10000 == 0 {
							runtime.GC()
							runtime.ReadMemStats(&ms)
							if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
								peak = ms.HeapAlloc - base
							}
						}
					}
					took = time.Since(start)
				}
				if seen != n {
					b.Fatalf("listed %d entries, want %d", seen, n)
				}
				b.ReportMetric(float64(took.Nanoseconds())/float64(seen), "ns/user")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			})
		}
		for _, c := range raw {
			_ = c.Close()
		}
		_ = be.Close()
		_ = srv.Close()
	}
}
