package memorybackend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/helpdeskkit/customeruser/backend"
)

// benchUsers is the size of the benchmark data set (issue item 9).
const benchUsers = 100_000

var (
	benchFirst = strings.Fields(`Hans Anna Max Maria Peter Petra Thomas Sabine Michael Julia Andreas Claudia
		Stefan Monika Christian Susanne Markus Birgit Frank Katrin Jürgen Nicole Klaus Sandra Wolfgang Andrea
		Matthias Stefanie Alexander Tanja Martin Melanie Daniel Karin Sebastian Ursula Tobias Heike Jan Silke
		Lukas Lena Jonas Laura Felix Sarah Paul Lisa Leon Emma Noah Mia Elias Sofia Ben Hannah Finn Lea
		Olivia Liam James Emily Oliver Amelia William Isla Jack Ava Noah Mila Mohammed Fatima Ali Aylin
		Mehmet Elif Yusuf Zeynep Pierre Camille Louis Chloé Luca Giulia Marco Chiara Jorge Lucía Pablo Carmen`)
	benchLast = strings.Fields(`Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann
		Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann
		Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter
		Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller
		Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm
		Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas
		Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer
		Arnold Wolff Pfeiffer Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson
		Evans Walker White Roberts Green Hall Wood Jackson Clarke Dubois Durand Lefebvre Moreau Laurent Rossi
		Russo Ferrari Esposito Bianchi Romano Colombo García Fernández González Rodríguez López Yılmaz Kaya
		Demir Şahin Çelik Nowak Kowalski Wiśniewski Novák Svoboda Horváth Nagy Jansen Bakker Visser Smit`)
	benchCities = strings.Fields(`Berlin Hamburg München Köln Frankfurt Stuttgart Düsseldorf Leipzig Dortmund
		Essen Bremen Dresden Hannover Nürnberg Wien Graz Linz Zürich Basel Bern`)
	benchStreets = strings.Fields(`Hauptstraße Schulstraße Gartenstraße Bahnhofstraße Dorfstraße Bergstraße
		Birkenweg Lindenstraße Kirchstraße Waldstraße Ringstraße Schillerstraße Goethestraße Mühlenweg`)
)

// benchUserList generates n customer users deterministically: names from
// the lists above, about 5,000 companies, a few further customer IDs, one in
// twenty users invalid, every user with a stored password hash (64 hex
// digits, the OTRS sha2 format) so that memory figures include one.
func benchUserList(n int) []User {
	r := rand.New(rand.NewPCG(42, 2026))
	users := make([]User, n)
	for i := range users {
		first := benchFirst[r.IntN(len(benchFirst))]
		last := benchLast[r.IntN(len(benchLast))]
		login := fmt.Sprintf("%s.%s%d", strings.ToLower(first[:1]), strings.ToLower(last), i)
		company := fmt.Sprintf("C%05d", r.IntN(5000))
		u := backend.CustomerUser{
			Login:      login,
			FirstName:  first,
			LastName:   last,
			Email:      login + "@" + strings.ToLower(company) + ".example.com",
			CustomerID: company,
			Phone:      fmt.Sprintf("+49 %d %07d", 30+r.IntN(900), r.IntN(1e7)),
			Street:     fmt.Sprintf("%s %d", benchStreets[r.IntN(len(benchStreets))], 1+r.IntN(200)),
			Zip:        fmt.Sprintf("%05d", r.IntN(100000)),
			City:       benchCities[r.IntN(len(benchCities))],
			Country:    "Germany",
			Valid:      backend.Valid,
		}
		if i%20 == 0 {
			u.Valid = backend.Invalid
		}
		if i%10 == 0 {
			u.CustomerIDs = []string{fmt.Sprintf("C%05d", r.IntN(5000))}
		}
		sum := sha256.Sum256([]byte(login))
		users[i] = User{CustomerUser: u, PasswordHash: hex.EncodeToString(sum[:])}
	}
	return users
}

var benchBackends struct {
	once      sync.Once
	substring *Backend
	prefix    *Backend
	logins    []string
}

// benchSetup builds the two 100,000-user backends once per test binary, and
// only when a benchmark asks for them.
func benchSetup(b *testing.B) (substring, prefix *Backend, logins []string) {
	bb := &benchBackends
	bb.once.Do(func() {
		users := benchUserList(benchUsers)
		var err error
		if bb.substring, err = New(Config{Users: users}); err != nil {
			panic(err)
		}
		if bb.prefix, err = New(Config{Users: users, MatchPrefix: true}); err != nil {
			panic(err)
		}
		r := rand.New(rand.NewPCG(7, 7))
		for range 4096 {
			l := users[r.IntN(len(users))].Login
			// Upper-case half of them, where lower-casing gives the login
			// back ("Yılmaz" does not: I lower-cases to i, not ı).
			if up := strings.ToUpper(l); r.IntN(2) == 0 && strings.ToLower(up) == l {
				l = up
			}
			bb.logins = append(bb.logins, l)
		}
	})
	if bb.substring == nil {
		b.Fatal("benchmark backends could not be built")
	}
	return bb.substring, bb.prefix, bb.logins
}

// BenchmarkGet looks up random logins (half of them upper-cased) among
// 100,000. The floor sub-benchmark does only what any Get must do (lower-case
// the login, one lookup in a plain map, copy the user) so that the backend's
// figure can be read as a ratio to it, measured in the same run.
func BenchmarkGet(b *testing.B) {
	be, _, logins := benchSetup(b)
	ctx := context.Background()
	b.Run("backend", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := be.Get(ctx, logins[i%len(logins)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		m := make(map[string]*backend.CustomerUser, be.s.len())
		for _, r := range be.s.byLogin {
			m[r.loginKey] = &r.user
		}
		var sink backend.CustomerUser
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			u := m[strings.ToLower(logins[i%len(logins)])]
			if u == nil {
				b.Fatal("not found")
			}
			sink = *u
		}
		_ = sink
	})
}

func benchSearch(b *testing.B, be *Backend, q backend.Query, wantMin int) {
	ctx := context.Background()
	got, err := be.Search(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	if len(got) < wantMin {
		b.Fatalf("query %+v found %d users, want at least %d", q, len(got), wantMin)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := be.Search(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(got)), "hits")
}

// BenchmarkSearchSubstring runs one-word substring searches over 100,000
// users: a frequent word (the scan stops at the 250th hit), a rare one and
// one that matches nothing (both scan every user: the worst case).
func BenchmarkSearchSubstring(b *testing.B) {
	be, _, _ := benchSetup(b)
	for _, tc := range []struct {
		name    string
		q       backend.Query
		wantMin int
	}{
		{"frequent", backend.Query{Search: "huber"}, 250},
		{"rare", backend.Query{Search: "c04711"}, 1},
		{"none", backend.Query{Search: "zzqx"}, 0},
		{"two-words", backend.Query{Search: "anna müller"}, 1},
	} {
		b.Run(tc.name, func(b *testing.B) { benchSearch(b, be, tc.q, tc.wantMin) })
	}
}

// BenchmarkSearchPrefix runs prefix searches over 100,000 users with
// MatchPrefix: a last name, a customer ID, two words, a word with a few hits
// and a prefix so short that the login-ordered scan is used.
func BenchmarkSearchPrefix(b *testing.B) {
	_, be, _ := benchSetup(b)
	for _, tc := range []struct {
		name    string
		q       backend.Query
		wantMin int
	}{
		{"lastname", backend.Query{Search: "hub"}, 250},
		{"customerid", backend.Query{Search: "c04711"}, 1},
		{"two-words", backend.Query{Search: "anna mül"}, 1},
		{"few", backend.Query{Search: "h.huber1"}, 1},
		{"none", backend.Query{Search: "zzqx"}, 0},
		{"dense", backend.Query{Search: "m"}, 250},
	} {
		b.Run(tc.name, func(b *testing.B) { benchSearch(b, be, tc.q, tc.wantMin) })
	}
}

// BenchmarkSearchAfter pages with Query.After near the end of 100,000 users:
// each path seeks to the cursor (a binary search) instead of walking the
// users before it, so a late page costs what the first one does (the prefix
// index marks only the candidates after the cursor).
func BenchmarkSearchAfter(b *testing.B) {
	be, pre, _ := benchSetup(b)
	be.mu.RLock()
	first := be.s.order.nth(0).rec.user.Login
	late := be.s.order.nth(be.s.len() - 300).rec.user.Login
	middle := be.s.order.nth(be.s.len() / 2).rec.user.Login
	be.mu.RUnlock()
	for _, tc := range []struct {
		name string
		be   *Backend
		q    backend.Query
	}{
		{"scan/first-page", be, backend.Query{Limit: 50}},
		{"scan/late-page", be, backend.Query{Limit: 50, After: late}},
		{"scan/after-first", be, backend.Query{Limit: 50, After: first}},
		{"prefix-index/middle-page", pre, backend.Query{Search: "hub", Limit: 50, After: middle}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchSearch(b, tc.be, tc.q, 1) })
	}
}

// BenchmarkMemoryPerUser loads 100,000 users and reports the heap the
// backend holds per user (everything it keeps: records, strings, hashes,
// indexes), measured with runtime.MemStats after a GC.
func BenchmarkMemoryPerUser(b *testing.B) {
	for _, prefix := range []bool{false, true} {
		name := "substring"
		if prefix {
			name = "prefix"
		}
		b.Run(name, func(b *testing.B) {
			var perUser float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				users := benchUserList(benchUsers)
				be, err := New(Config{Users: users, MatchPrefix: prefix})
				if err != nil {
					b.Fatal(err)
				}
				users = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				perUser = float64(after.HeapAlloc-before.HeapAlloc) / benchUsers
				runtime.KeepAlive(be)
			}
			b.ReportMetric(perUser, "bytes/user")
		})
	}
}
