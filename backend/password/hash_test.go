package password

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatStandard, FormatOTRS} {
		for _, cost := range []int{4, 5} {
			h := Hasher{Cost: cost, Format: f}
			stored, err := h.Hash("Secret123")
			require.NoError(t, err)
			ok, rehash := h.Verify(stored, "Secret123", "jdoe")
			assert.True(t, ok)
			assert.False(t, rehash)
			ok, _ = h.Verify(stored, "Secret124", "jdoe")
			assert.False(t, ok)
		}
	}
}

func TestSodiumChloride(t *testing.T) {
	assert.Equal(t, "a07iYVTrVz7hYEvtakjiXO", EncodeBcryptSalt([]byte("sodium__chloride")))
}
