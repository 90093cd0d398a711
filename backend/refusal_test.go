package backend

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefusalTimer(t *testing.T) {
	var rt RefusalTimer
	assert.Zero(t, rt.Typical(), "nothing observed and no Initial")
	rt.Initial = 3 * time.Millisecond
	assert.Equal(t, 3*time.Millisecond, rt.Typical())
	for _, d := range []time.Duration{10, 1, 1000, 5, 7} {
		rt.Observe(d * time.Millisecond)
	}
	assert.Equal(t, 7*time.Millisecond, rt.Typical(), "the median, not the mean")
	for i := 0; i < 100; i++ {
		rt.Observe(2 * time.Millisecond)
	}
	assert.Equal(t, 2*time.Millisecond, rt.Typical(), "old observations age out")

	start := time.Now()
	require.NoError(t, rt.Pad(context.Background(), start))
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Millisecond)

	rt.Observe(time.Hour)
	for i := 0; i < 20; i++ {
		rt.Observe(time.Hour)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, rt.Pad(ctx, time.Now()), context.DeadlineExceeded, "the context ends the wait")
}
