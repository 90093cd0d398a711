//go:build race

package backendtest

// raceEnabled is true when the tests run under the race detector, whose
// instrumentation makes CPU-bound code such as bcrypt many times slower and
// its timing meaningless.
const raceEnabled = true
