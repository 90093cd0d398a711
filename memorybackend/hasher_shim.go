package memorybackend

// TEMPORARY: stands in for password.Hasher until backend/password lands on
// main; then this file is deleted and Config.Hasher becomes password.Hasher.

import (
	"crypto/subtle"

	"golang.org/x/crypto/bcrypt"
)

// PasswordHasher is a placeholder for password.Hasher.
type PasswordHasher struct {
	Cost int
}

func (h PasswordHasher) cost() int {
	if h.Cost == 0 {
		return 12
	}
	return h.Cost
}

// Hash makes a $2a$ bcrypt hash.
func (h PasswordHasher) Hash(pw string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(pw), h.cost())
	return string(b), err
}

// Verify checks bcrypt and plain.
func (h PasswordHasher) Verify(stored, pw, login string) (ok, rehash bool) {
	if pw == "" {
		return false, false
	}
	if len(stored) > 4 && stored[0] == '$' {
		if bcrypt.CompareHashAndPassword([]byte(stored), []byte(pw)) != nil {
			return false, false
		}
		c, _ := bcrypt.Cost([]byte(stored))
		return true, c < h.cost()
	}
	return subtle.ConstantTimeCompare([]byte(stored), []byte(pw)) == 1, true
}

// Dummy burns one Verify.
func (h PasswordHasher) Dummy(pw string) {
	_ = bcrypt.CompareHashAndPassword([]byte("$2a$04$abcdefghijklmnopqrstuuOBpD0Fa/0xZ1Z9hgOyWjoQ0L2OcXpmS"), []byte(pw))
}
