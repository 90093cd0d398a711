//go:build race

package password

// raceEnabled is true under -race, which makes bcrypt about 40 times slower;
// tests then skip work that repeats what they already checked (never a
// vector, never a rule).
const raceEnabled = true
