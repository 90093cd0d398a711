//go:build !race

package password

// raceEnabled: see race_test.go.
const raceEnabled = false
