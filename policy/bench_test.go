package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
)

// benchUsers are n users "u<prefix><i>".
func benchUsers(prefix string, n int) []memorybackend.User {
	out := make([]memorybackend.User, n)
	for i := range out {
		l := fmt.Sprintf("u%s%05d", prefix, i)
		out[i] = memorybackend.User{CustomerUser: person(l, l+"@bench.example.org")}
	}
	return out
}

// BenchmarkSearchSlowBackends: three backends each answering Search in
// 20 ms. The Directory asks them at once, so it costs about one backend's
// time (OTRS asks them one after another: 3x).
func BenchmarkSearchSlowBackends(b *testing.B) {
	slow := func(name string) *faulty {
		f := newFaulty(newMemory(b, name, false, benchUsers(name, 100)...))
		f.setDelay(20 * time.Millisecond)
		return f
	}
	one := slow("a")
	dir, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{slow("b"), slow("c"), slow("d")}})
	require.NoError(b, err)
	q := backend.Query{Search: "person", Limit: 50}
	b.Run("one-backend", func(b *testing.B) {
		for b.Loop() {
			if _, err := one.Search(b.Context(), q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("directory-of-three", func(b *testing.B) {
		for b.Loop() {
			res, err := dir.Search(b.Context(), q)
			if err != nil || len(res) != 50 {
				b.Fatal(err, len(res))
			}
		}
	})
}

// BenchmarkGet: Directory Get over three memory backends against one
// backend's Get, with the user in the first, and in the last backend.
func BenchmarkGet(b *testing.B) {
	mk := func(name string) *memorybackend.Backend { return newMemory(b, name, false, benchUsers(name, 1000)...) }
	one := mk("a")
	dir, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{mk("a"), mk("b"), mk("c")}})
	require.NoError(b, err)
	for name, run := range map[string]func() error{
		"one-backend":                 func() error { _, err := one.Get(b.Context(), "ua00500"); return err },
		"directory-of-three/in-first": func() error { _, err := dir.Get(b.Context(), "ua00500"); return err },
		"directory-of-three/in-last":  func() error { _, err := dir.Get(b.Context(), "uc00500"); return err },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
