package policy_test

import (
	"testing"

	"github.com/helpdeskkit/customeruser/policy"
)

// TestMemoryPreferences runs the store conformance checks on MemoryPreferences.
func TestMemoryPreferences(t *testing.T) {
	testPreferenceStore(t, func(*testing.T) policy.PreferenceStore { return policy.NewMemoryPreferences() })
}
