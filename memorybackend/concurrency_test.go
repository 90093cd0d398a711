package memorybackend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

// TestConcurrentUse runs 50 goroutines of mixed reads and writes (run it with
// -race) and then checks that every index still agrees with the data.
func TestConcurrentUse(t *testing.T) {
	for _, mode := range []struct{ prefix, ngram bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("prefix=%v/ngram=%v", mode.prefix, mode.ngram), func(t *testing.T) {
			ctx := context.Background()
			b := newBackend(t, Config{MatchPrefix: mode.prefix, NGramIndex: mode.ngram, AutoLoginPrefix: "auto"})
			for i := range 20 {
				_, err := b.Add(ctx, person(fmt.Sprintf("seed%02d", i), "Seed", "User", fmt.Sprintf("seed%02d@example.com", i), "ACME"), "pw")
				require.NoError(t, err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 50*20)
			for g := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 20 {
						login := fmt.Sprintf("seed%02d", (g+i)%20)
						var err error
						switch (g + i) % 7 {
						case 0:
							_, err = b.Add(ctx, person(fmt.Sprintf("g%d-%d", g, i), "New", "User", fmt.Sprintf("g%d-%d@example.com", g, i), "ACME"), "")
						case 1:
							_, err = b.Add(ctx, person("", "Auto", "User", fmt.Sprintf("auto%d-%d@example.com", g, i), "ACME"), "")
						case 2:
							var u backend.CustomerUser
							if u, err = b.Get(ctx, login); err == nil {
								u.LastName = fmt.Sprintf("Changed%d", g)
								_, err = b.Update(ctx, login, u)
							}
						case 3:
							_, err = b.Search(ctx, backend.Query{Search: "user seed"})
							if err == nil {
								_, err = b.Search(ctx, backend.Query{Search: fmt.Sprintf("changed%d", g)})
							}
						case 4:
							_, err = b.Authenticate(ctx, login, "pw")
						case 5:
							// Renaming back and forth in case only: always succeeds.
							var u backend.CustomerUser
							if u, err = b.Get(ctx, login); err == nil {
								u.Login = fmt.Sprintf("SEED%02d", (g+i)%20)
								_, err = b.Update(ctx, login, u)
							}
						default:
							_, err = b.Search(ctx, backend.Query{CustomerID: "acme", Limit: 5})
						}
						if err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.False(t, errors.Is(err, backend.ErrInvalidInput), "%v", err)
				// A concurrent rename may hide a user; a concurrent write between
				// a Get and its Update is the optimistic check's conflict.
				assert.True(t, errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrConflict), "%v", err)
			}
			checkInvariants(t, b)
			all, err := b.Search(ctx, backend.Query{Limit: 10000})
			require.NoError(t, err)
			assert.Len(t, all, b.Len())
			autos, err := b.Search(ctx, backend.Query{Login: "auto-*", Limit: 10000})
			require.NoError(t, err)
			assert.NotEmpty(t, autos)
		})
	}
}
