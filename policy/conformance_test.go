package policy_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
)

// TestConformance runs backendtest against the Directory: over one memory
// backend, over three (the seed spread over them), and over a read-only one.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		readOnly bool
	}{{"one", 1, false}, {"three", 3, false}, {"read-only", 1, true}} {
		t.Run(tc.name, func(t *testing.T) { // one after another: the timing case compares medians
			backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
				users := make([][]memorybackend.User, tc.n)
				for i, s := range seed {
					users[i%tc.n] = append(users[i%tc.n], memorybackend.User{CustomerUser: s.User, Password: s.Password})
				}
				var backends []backend.CustomerUserBackend
				var names []string
				for i := range tc.n {
					name := fmt.Sprintf("mem%d", i)
					backends = append(backends, newMemory(t, name, tc.readOnly, users[i]...))
					names = append(names, name)
				}
				h := minHasher
				d, err := policy.NewDirectory(policy.Config{Backends: backends, Hasher: &h})
				require.NoError(t, err)
				return backendtest.Harness{Backend: d, Caps: backendtest.Capabilities{ReadOnly: tc.readOnly, Sources: names}}
			})
		})
	}
}
