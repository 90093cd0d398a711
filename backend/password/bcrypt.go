package password

import (
	"context"
	"encoding/base64"

	"golang.org/x/crypto/blowfish"
)

// bcryptAlphabet is bcrypt's own base64 alphabet (not RFC 4648's): "./"
// first, then upper case, lower case, digits.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptB64 encodes without padding, as every bcrypt implementation does. A
// 16-byte salt gives 22 characters, the 23-byte hash 31.
var bcryptB64 = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

const (
	// MinCost and MaxCost bound Hasher.Cost (0 means DefaultCost). OTRS
	// clamps the costs it writes to 9..31; 4 is allowed so tests stay fast.
	MinCost = 4
	MaxCost = 31

	// MaxBcryptKeyBytes is how many bytes of password+NUL bcrypt uses. Longer
	// passwords are cut, exactly as OpenBSD bcrypt and Perl's
	// Crypt::Eksblowfish::Bcrypt (which the OTRS family uses) cut them, so a
	// hash written here verifies there and the other way round: only the
	// first 72 bytes of a password count.
	MaxBcryptKeyBytes = 72

	bcryptSaltBytes   = 16
	bcryptSaltB64Len  = 22
	bcryptHashBytes   = 23
	bcryptHashB64Len  = 31
	standardBcryptLen = 7 + bcryptSaltB64Len + bcryptHashB64Len // "$2a$12$" + salt + hash
)

// bcryptMagic is the 24-byte text "OrpheanBeholderScryDoubt" that bcrypt
// encrypts 64 times with the expensive key schedule.
var bcryptMagic = [24]byte{
	'O', 'r', 'p', 'h', 'e', 'a', 'n', 'B',
	'e', 'h', 'o', 'l', 'd', 'e', 'r', 'S',
	'c', 'r', 'y', 'D', 'o', 'u', 'b', 't',
}

// bcryptKey is the key bcrypt really uses: the password bytes, a NUL, the whole
// cut to 72 bytes (OpenBSD's "$2b$" semantics and Eksblowfish's key_nul).
func bcryptKey(password string) []byte {
	if len(password) >= MaxBcryptKeyBytes {
		return []byte(password[:MaxBcryptKeyBytes])
	}
	key := make([]byte, len(password)+1) // the last byte stays NUL
	copy(key, password)
	return key
}

// bcryptRaw computes the bcrypt hash of password for a raw 16-byte salt and a
// cost in MinCost..MaxCost and returns its 31-character encoding. This is the
// EksBlowfish construction of Provos and Mazières: a salted key schedule,
// 2^cost rounds that alternately expand the key and the salt, then 64
// encryptions of the magic text; only 23 of its 24 bytes are kept.
func bcryptRaw(password string, cost int, salt []byte) string {
	h, _ := bcryptRawContext(nil, password, cost, salt)
	return h
}

// ctxCheckRounds is how many expensive rounds run between two looks at the
// context (16 rounds take about 1 ms).
const ctxCheckRounds = 16

// bcryptRawContext is bcryptRaw that gives up with ctx.Err() when ctx ends
// during the rounds (a nil ctx never ends).
func bcryptRawContext(ctx context.Context, password string, cost int, salt []byte) (string, error) {
	key := bcryptKey(password)
	c, err := blowfish.NewSaltedCipher(key, salt)
	if err != nil {
		// Unreachable: key is at least the NUL byte and the salt is 16 bytes.
		panic("password: blowfish setup: " + err.Error())
	}
	rounds := uint64(1) << uint(cost)
	for i := uint64(0); i < rounds; i++ {
		if ctx != nil && i%ctxCheckRounds == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		blowfish.ExpandKey(key, c)
		blowfish.ExpandKey(salt, c)
	}
	text := bcryptMagic
	for i := 0; i < len(text); i += 8 {
		for j := 0; j < 64; j++ {
			c.Encrypt(text[i:i+8], text[i:i+8])
		}
	}
	return bcryptB64.EncodeToString(text[:bcryptHashBytes]), nil
}

// EncodeBcryptSalt gives the 22-character bcrypt-base64 form of a 16-byte raw
// salt, as it appears in a standard "$2a$" hash. It converts an OTRS salt16 to
// the standard form: EncodeBcryptSalt([]byte("sodium__chloride")) is
// "a07iYVTrVz7hYEvtakjiXO". It returns "" when salt is not 16 bytes.
func EncodeBcryptSalt(salt []byte) string {
	if len(salt) != bcryptSaltBytes {
		return ""
	}
	return bcryptB64.EncodeToString(salt)
}

// decodeBcryptSalt decodes a 22-character salt. The last character carries 4
// unused bits, which are ignored as in OpenBSD bcrypt.
func decodeBcryptSalt(s string) ([]byte, bool) {
	if len(s) != bcryptSaltB64Len || !inAlphabet(s, bcryptAlphabet) {
		return nil, false
	}
	b, err := bcryptB64.DecodeString(s)
	if err != nil || len(b) != bcryptSaltBytes {
		return nil, false
	}
	return b, true
}

// inAlphabet reports whether every byte of s is in alphabet.
func inAlphabet(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		found := false
		for j := 0; j < len(alphabet); j++ {
			if s[i] == alphabet[j] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
