// Package backendtest is the conformance suite every customer-user backend
// passes, in the manner of testing/fstest: a behaviour worth having is written
// once here and checked against every implementation of
// backend.CustomerUserBackend.
//
// A backend's test calls Run with a function that builds a fresh backend
// holding exactly the given seed users:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
//			users := make([]memorybackend.User, len(seed))
//			for i, s := range seed {
//				users[i] = memorybackend.User{CustomerUser: s.User, Password: s.Password}
//			}
//			b, err := memorybackend.New(memorybackend.Config{Users: users})
//			require.NoError(t, err)
//			return backendtest.Harness{Backend: b}
//		})
//	}
//
// Each subtest gets its own harness. Cases that need a capability the backend
// lacks (writes on a read-only backend, white-space passwords on LDAP, ...) are
// skipped with a message saying so, never silently.
package backendtest
