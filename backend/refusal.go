package backend

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"
)

// RefusalTimer makes every refused login take as long as a wrong password.
//
// A login can be refused before any password is compared: the login is
// unknown or malformed, the password is empty, too long or holds a NUL, the
// user has no password. Answering those at once would tell an attacker which
// logins exist. A backend therefore measures each real comparison of a wrong
// password (Observe) and, on every other refusal, waits until the call has
// taken as long as the median of the recent ones (Pad). Before the first
// observation Pad waits for Initial (the backend sets it to what it knows,
// or spends a dummy hash of its own instead).
//
// The zero value is ready to use; a RefusalTimer is safe for concurrent use
// and must not be copied after first use.
type RefusalTimer struct {
	// Initial is the duration Pad waits for before anything was observed.
	Initial time.Duration

	mu      sync.Mutex
	samples [refusalSamples]time.Duration
	n       int // samples written, ever
	median  time.Duration
}

const refusalSamples = 31

// Observe records how long a refused login that really compared a password
// took, from the start of the call to the decision.
func (t *RefusalTimer) Observe(d time.Duration) {
	if d <= 0 {
		return
	}
	t.mu.Lock()
	t.samples[t.n%refusalSamples] = d
	t.n++
	k := min(t.n, refusalSamples)
	s := slices.Clone(t.samples[:k])
	slices.Sort(s)
	t.median = s[k/2]
	t.mu.Unlock()
}

// Typical gives the median of the recent observations, or Initial when there
// are none.
func (t *RefusalTimer) Typical() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return t.Initial
	}
	return t.median
}

// Pad waits until start plus Typical, or until ctx is done, whichever comes
// first. It returns ctx.Err() when the context ended the wait. A wait of
// less than an eighth of Typical is skipped (a backend that already spent a
// dummy hash is that close). Timers wake up to a millisecond late on a busy
// machine, so Pad sleeps until padSpin before the end and yields the
// processor in a loop for the rest.
func (t *RefusalTimer) Pad(ctx context.Context, start time.Time) error {
	typical := t.Typical()
	end := start.Add(typical)
	wait := time.Until(end)
	if wait <= typical/8 {
		return ctx.Err()
	}
	if wait > padSpin {
		timer := time.NewTimer(wait - padSpin)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
	}
	for time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// padSpin is the last stretch of a Pad that yields instead of sleeping.
const padSpin = 1500 * time.Microsecond
