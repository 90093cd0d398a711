package password

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// Scheme names the format of a stored password string, as Identify sees it.
type Scheme string

// The schemes Verify understands. The names follow the OTRS family's
// CryptType values where one exists.
const (
	SchemeNone       Scheme = ""            // empty stored string: no password set
	SchemeBcrypt     Scheme = "bcrypt"      // $2a$ / $2b$ / $2y$, cost 04..31
	SchemeBcryptOTRS Scheme = "bcrypt-otrs" // BCRYPT:<cost>:<salt16>:<hash31>
	SchemeSHA2       Scheme = "sha2"        // 64 hex digits, SHA-256 of the password
	SchemeSHA1       Scheme = "sha1"        // 40 hex digits, SHA-1 of the password
	SchemeSHA512     Scheme = "sha512"      // 128 hex digits, SHA-512 of the password
	SchemeMD5Crypt   Scheme = "md5-crypt"   // $1$<salt, 1..8 bytes>$<22 chars>
	SchemeAPR1       Scheme = "apr1"        // $apr1$<salt, 1..8 bytes>$<22 chars>
	SchemeCrypt      Scheme = "crypt"       // 13 chars of [./0-9A-Za-z], traditional DES crypt
	SchemePlain      Scheme = "plain"       // anything else: the password itself
	// SchemeUnknown is a string that is marked as a hash (it begins with "$"
	// or "BCRYPT:") but is malformed or of an unsupported kind ("$6$...",
	// "BCRYPT:99:short:x"). No password verifies it.
	SchemeUnknown Scheme = "unknown"
)

// IsBcrypt reports whether s is one of the two bcrypt forms.
func (s Scheme) IsBcrypt() bool { return s == SchemeBcrypt || s == SchemeBcryptOTRS }

// parsed is a stored string taken apart.
type parsed struct {
	scheme Scheme
	cost   int    // bcrypt
	salt   []byte // bcrypt: raw 16 bytes
	magic  string // md5-crypt, apr1
	salt8  string // md5-crypt, apr1
	hash   string // bcrypt: 31 chars; md5-crypt, apr1: 22 chars
	digest []byte // sha*: the decoded hex
}

// Identify names the format of a stored password string. It decides by the
// shape of the string alone, in this order:
//   - "" is SchemeNone;
//   - a string beginning with "BCRYPT:" or "$" is a hash: SchemeBcryptOTRS,
//     SchemeBcrypt, SchemeMD5Crypt or SchemeAPR1 when well formed, else
//     SchemeUnknown (never plain);
//   - 40, 64 or 128 hex digits (either case) are SchemeSHA1, SchemeSHA2,
//     SchemeSHA512;
//   - 13 characters of [./0-9A-Za-z] are SchemeCrypt;
//   - anything else is SchemePlain.
func Identify(stored string) Scheme {
	return parse(stored).scheme
}

func parse(s string) parsed {
	switch {
	case s == "":
		return parsed{scheme: SchemeNone}
	case strings.HasPrefix(s, "BCRYPT:"):
		return parseOTRSBcrypt(s[len("BCRYPT:"):])
	case strings.HasPrefix(s, "$"):
		return parseDollar(s)
	}
	if len(s) == 40 || len(s) == 64 || len(s) == 128 {
		if d, err := hex.DecodeString(s); err == nil {
			switch len(s) {
			case 40:
				return parsed{scheme: SchemeSHA1, digest: d}
			case 64:
				return parsed{scheme: SchemeSHA2, digest: d}
			default:
				return parsed{scheme: SchemeSHA512, digest: d}
			}
		}
	}
	if len(s) == desCryptLen && inAlphabet(s, cryptAlphabet) {
		return parsed{scheme: SchemeCrypt}
	}
	return parsed{scheme: SchemePlain}
}

var unknown = parsed{scheme: SchemeUnknown}

// parseCost reads a bcrypt cost of one or two ASCII digits in MinCost..MaxCost.
func parseCost(s string) (int, bool) {
	if len(s) < 1 || len(s) > 2 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= MinCost && n <= MaxCost
}

// parseOTRSBcrypt reads "<cost>:<salt16>:<hash31>" (after "BCRYPT:"). OTRS
// matches ^BCRYPT:(\d+):(.{16}):(.*)$ and uses the 16 salt characters as raw
// bytes.
func parseOTRSBcrypt(rest string) parsed {
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return unknown
	}
	cost, ok := parseCost(rest[:i])
	rest = rest[i+1:]
	if !ok || len(rest) != bcryptSaltBytes+1+bcryptHashB64Len || rest[bcryptSaltBytes] != ':' {
		return unknown
	}
	salt, hash := rest[:bcryptSaltBytes], rest[bcryptSaltBytes+1:]
	if strings.IndexByte(salt, '\n') >= 0 || !inAlphabet(hash, bcryptAlphabet) {
		return unknown
	}
	return parsed{scheme: SchemeBcryptOTRS, cost: cost, salt: []byte(salt), hash: hash}
}

// parseDollar reads the "$id$..." modular crypt formats we support.
func parseDollar(s string) parsed {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if len(s) != standardBcryptLen || s[6] != '$' {
			return unknown
		}
		cost, ok := parseCost(s[4:6])
		if !ok {
			return unknown
		}
		salt, ok := decodeBcryptSalt(s[7 : 7+bcryptSaltB64Len])
		hash := s[7+bcryptSaltB64Len:]
		if !ok || !inAlphabet(hash, bcryptAlphabet) {
			return unknown
		}
		return parsed{scheme: SchemeBcrypt, cost: cost, salt: salt, hash: hash}
	case strings.HasPrefix(s, md5Magic):
		return parseMD5(s, md5Magic, SchemeMD5Crypt)
	case strings.HasPrefix(s, apr1Magic):
		return parseMD5(s, apr1Magic, SchemeAPR1)
	}
	return unknown
}

// parseMD5 reads "<magic><salt>$<22 chars>" with a salt of 1..8 bytes
// without "$" (the salt as written, which OTRS takes from the login).
func parseMD5(s, magic string, scheme Scheme) parsed {
	rest := s[len(magic):]
	i := strings.IndexByte(rest, '$')
	if i < 1 || i > md5SaltMax {
		return unknown
	}
	salt, hash := rest[:i], rest[i+1:]
	if len(hash) != md5HashLen || !inAlphabet(hash, cryptAlphabet) {
		return unknown
	}
	return parsed{scheme: scheme, magic: magic, salt8: salt, hash: hash}
}

// Verify reports whether password matches the stored string, whatever OTRS
// family format it is in (see Identify), and whether the caller should
// replace the stored string by h.Hash(password): rehash is true after a
// successful verify when the stored scheme is not bcrypt, is bcrypt with a
// cost below h's, or is bcrypt in the other Format than h.Format.
//
// A password that backend.CheckLoginPassword refuses (empty, longer than
// backend.MaxPasswordBytes, with a NUL) and a SchemeNone or SchemeUnknown
// stored string never verify, and Verify spends the time of Dummy on them,
// so that none of them can be told from a wrong password by its timing. The
// comparison is constant-time.
//
// Only the first 72 bytes of a password count against bcrypt hashes, and
// only the first 8 against traditional crypt ones (see the package doc).
//
// login is the user's login. Every accepted format carries its own salt, so
// it is not used today; OTRS uses it when writing md5-crypt, apr1 and crypt
// hashes, and as a salt of last resort when verifying strings of no known
// shape, which Verify treats as plain.
func (h Hasher) Verify(stored, password, login string) (ok, rehash bool) {
	ok, rehash, _ = h.VerifyContext(nil, stored, password, login) //nolint:staticcheck // nil: never cancelled
	return ok, rehash
}

// VerifyContext is Verify that ends with ctx.Err() (and ok false) when ctx
// ends during the bcrypt rounds; the rounds stop then. A nil ctx never ends.
func (h Hasher) VerifyContext(ctx context.Context, stored, password, login string) (ok, rehash bool, err error) {
	if !backend.CheckLoginPassword(password) {
		return false, false, h.DummyContext(ctx, password)
	}
	p := parse(stored)
	switch p.scheme {
	case SchemeBcrypt, SchemeBcryptOTRS:
		got, err := bcryptRawContext(ctx, password, p.cost, p.salt)
		if err != nil {
			return false, false, err
		}
		ok = constantTimeEqual(got, p.hash)
		want := FormatStandard
		if p.scheme == SchemeBcryptOTRS {
			want = FormatOTRS
		}
		return ok, ok && (p.cost < h.cost() || h.Format != want), nil
	case SchemeSHA2:
		sum := sha256.Sum256([]byte(password))
		ok = subtle.ConstantTimeCompare(sum[:], p.digest) == 1
	case SchemeSHA1:
		sum := sha1.Sum([]byte(password))
		ok = subtle.ConstantTimeCompare(sum[:], p.digest) == 1
	case SchemeSHA512:
		sum := sha512.Sum512([]byte(password))
		ok = subtle.ConstantTimeCompare(sum[:], p.digest) == 1
	case SchemeMD5Crypt, SchemeAPR1:
		ok = constantTimeEqual(md5Crypt(password, p.magic, p.salt8), p.hash)
	case SchemeCrypt:
		got, valid := desCrypt(password, stored[:2])
		ok = valid && constantTimeEqual(got, stored)
	case SchemePlain:
		ok = constantTimeEqual(password, stored)
	default: // SchemeNone, SchemeUnknown
		// Nothing can verify, but answering at once would tell an attacker
		// that this login exists (unknown logins cost a Dummy).
		return false, false, h.DummyContext(ctx, password)
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return false, false, err
		}
	}
	// Every scheme that is not bcrypt is weaker than bcrypt.
	return ok, ok, nil
}

// constantTimeEqual compares two strings in constant time. Both are hashed
// to 32 bytes first, so that not even the length of a stored plain-text
// password shows in the timing (subtle.ConstantTimeCompare returns at once
// on unequal lengths).
func constantTimeEqual(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}
