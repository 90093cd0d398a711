//go:build !race

package backendtest

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = false
