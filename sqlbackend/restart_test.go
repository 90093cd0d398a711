package sqlbackend_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestServerRestartUnderLoad stops and restarts the same mariadbd (same data
// directory, same port) while 8 goroutines add and read users through one
// *Backend. While the server is down every error is ErrUnavailable; after
// the restart the same *Backend works again and every add that was
// acknowledged before the stop is there.
func TestServerRestartUnderLoad(t *testing.T) {
	if os.Getenv(testmysql.EnvDSN) != "" {
		// The test needs a server of its own to stop; with an external
		// server configured it still starts one when MariaDB is installed.
		if _, err := os.Stat("/usr/sbin/mariadbd"); err != nil {
			t.Skipf("%s is set and no local mariadbd to stop and restart", testmysql.EnvDSN)
		}
	}
	ctx := t.Context()
	srv := testmysql.Start(t)
	d := srv.NewDatabase(t)
	b := newBackendOn(t, d.DB, sqlbackend.Config{})

	const workers = 8
	var (
		stop        atomic.Bool
		down        atomic.Bool
		mu          sync.Mutex
		acked       []string
		unavailable atomic.Int64
		okAfter     atomic.Int64
		restarted   atomic.Bool
		unexpected  []error
		wg          sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				login := fmt.Sprintf("w%d-%05d", w, i)
				_, err := b.Add(ctx, sampleUser(login), "")
				if err == nil {
					mu.Lock()
					acked = append(acked, login)
					mu.Unlock()
					if restarted.Load() {
						okAfter.Add(1)
					}
				}
				if err == nil {
					_, err = b.Get(ctx, login)
				}
				if err == nil {
					_, err = b.Search(ctx, backend.Query{Search: fmt.Sprintf("w%d", w), Limit: 5})
				}
				switch {
				case err == nil:
				case errors.Is(err, backend.ErrUnavailable):
					unavailable.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					mu.Lock()
					unexpected = append(unexpected, fmt.Errorf("(server down: %v) %w", down.Load(), err))
					mu.Unlock()
				}
			}
		}()
	}

	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	ackedBeforeStop := len(acked)
	mu.Unlock()
	down.Store(true)
	require.NoError(t, srv.Stop())
	mu.Lock()
	ackedAtStop := append([]string(nil), acked...)
	mu.Unlock()
	time.Sleep(500 * time.Millisecond)
	downErrors := unavailable.Load()
	require.NoError(t, srv.Restart(), "restart")
	down.Store(false)
	restarted.Store(true)
	deadline := time.Now().Add(30 * time.Second)
	for okAfter.Load() < workers*5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()

	t.Logf("acknowledged adds: %d before the stop, %d in all; ErrUnavailable while down: %d; adds after the restart: %d",
		len(ackedAtStop), len(acked), downErrors, okAfter.Load())
	assert.Empty(t, unexpected, "every error is ErrUnavailable")
	require.Greater(t, ackedBeforeStop, 0, "load ran before the stop")
	require.Greater(t, downErrors, int64(0), "the calls while the server was down failed")
	require.GreaterOrEqual(t, okAfter.Load(), int64(workers*5), "the same *Backend works after the restart")

	// Every acknowledged write is there, before the stop and after the restart.
	for _, login := range acked {
		_, err := b.Get(ctx, login)
		require.NoError(t, err, "acknowledged add of %s survived the restart", login)
	}
	// Page through everything with the keyset cursor (Limit is bounded).
	total, after := 0, ""
	for {
		res, err := b.Search(ctx, backend.Query{Limit: backend.MaxLimit, After: after})
		require.NoError(t, err)
		total += len(res)
		if len(res) < backend.MaxLimit {
			break
		}
		after = res[len(res)-1].Login
	}
	assert.GreaterOrEqual(t, total, len(acked))
}
