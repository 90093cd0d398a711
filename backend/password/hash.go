package password

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// Format chooses the text form of the bcrypt hashes a Hasher writes. Verify
// reads both forms whatever the Format.
type Format int

const (
	// FormatStandard writes "$2a$<cost>$<22-char salt><31-char hash>", the
	// form of OpenBSD, x/crypto/bcrypt and most software.
	FormatStandard Format = iota
	// FormatOTRS writes "BCRYPT:<cost>:<salt16>:<31-char hash>", the form
	// OTRS, Znuny and OTOBO write and read. Use it on a table that the OTRS
	// family also reads: they take "$2a$..." for md5-crypt and cannot verify it.
	FormatOTRS
)

// String names the format ("standard", "otrs").
func (f Format) String() string {
	switch f {
	case FormatStandard:
		return "standard"
	case FormatOTRS:
		return "otrs"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// DefaultCost is the bcrypt cost used when Hasher.Cost is 0; it is also the
// OTRS family's default bcryptCost.
const DefaultCost = 12

// otrsSaltAlphabet is the alphabet OTRS draws its 16 salt characters from.
const otrsSaltAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Hasher hashes new passwords with bcrypt and verifies every stored format
// of the OTRS family. The zero value writes standard bcrypt at DefaultCost.
// A Hasher is a small value, safe for concurrent use.
type Hasher struct {
	// Cost is the bcrypt cost (log2 of the rounds): 0 means DefaultCost,
	// otherwise MinCost..MaxCost.
	Cost int
	// Format is the text form Hash writes.
	Format Format
}

// cost is the effective cost: DefaultCost for 0.
func (h Hasher) cost() int {
	if h.Cost == 0 {
		return DefaultCost
	}
	return h.Cost
}

// Check reports a Cost or Format the Hasher cannot use, as a
// *backend.ValidationError; nil means Hash will work. Constructors of
// backends call it once to refuse a bad configuration early.
func (h Hasher) Check() error {
	if c := h.cost(); c < MinCost || c > MaxCost {
		return &backend.ValidationError{Field: "Hasher.Cost", Reason: fmt.Sprintf("%d is outside %d..%d (0 means %d)", c, MinCost, MaxCost, DefaultCost)}
	}
	if h.Format != FormatStandard && h.Format != FormatOTRS {
		return &backend.ValidationError{Field: "Hasher.Format", Reason: fmt.Sprintf("unknown format %d", int(h.Format))}
	}
	return nil
}

// Hash returns a new bcrypt hash of password in h.Format with a fresh random
// salt. The password must pass backend.CheckPassword (not empty, at most
// backend.MaxPasswordBytes, valid UTF-8, no NUL); otherwise Hash returns its
// *backend.ValidationError (Field "password"). Only the first 72 bytes of
// the password count (see MaxBcryptKeyBytes). A bad Cost or Format gives the
// error of Check.
func (h Hasher) Hash(password string) (string, error) {
	return h.HashContext(nil, password) //nolint:staticcheck // nil: never cancelled
}

// HashContext is Hash that ends with ctx.Err() when ctx ends during the
// bcrypt rounds; the rounds stop then. A nil ctx never ends.
func (h Hasher) HashContext(ctx context.Context, password string) (string, error) {
	if err := backend.CheckPassword(password); err != nil {
		return "", err
	}
	if err := h.Check(); err != nil {
		return "", err
	}
	cost := h.cost()
	if h.Format == FormatOTRS {
		salt, err := randomOTRSSalt()
		if err != nil {
			return "", err
		}
		raw, err := bcryptRawContext(ctx, password, cost, []byte(salt))
		if err != nil {
			return "", err
		}
		return formatOTRS(cost, salt, raw), nil
	}
	salt := make([]byte, bcryptSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	raw, err := bcryptRawContext(ctx, password, cost, salt)
	if err != nil {
		return "", err
	}
	return formatStandard(cost, salt, raw), nil
}

// formatOTRS writes "BCRYPT:<cost>:<salt16>:<hash31>"; OTRS writes the cost
// without leading zero.
func formatOTRS(cost int, salt, hash string) string {
	return "BCRYPT:" + strconv.Itoa(cost) + ":" + salt + ":" + hash
}

// formatStandard writes "$2a$<cost, two digits>$<salt22><hash31>".
func formatStandard(cost int, salt []byte, hash string) string {
	return fmt.Sprintf("$2a$%02d$%s%s", cost, EncodeBcryptSalt(salt), hash)
}

// randomOTRSSalt draws 16 characters uniformly from [0-9A-Za-z].
func randomOTRSSalt() (string, error) {
	out := make([]byte, 0, bcryptSaltBytes)
	var buf [32]byte
	for len(out) < bcryptSaltBytes {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("password: reading random salt: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps the draw uniform.
			if b < 248 && len(out) < bcryptSaltBytes {
				out = append(out, otrsSaltAlphabet[int(b)%len(otrsSaltAlphabet)])
			}
		}
	}
	return string(out), nil
}

// dummySalt and dummyHash are what Dummy hashes with and compares to: the
// result is dropped, so any salt and any 31 characters do.
var (
	dummySalt = []byte("customeruserdumm")
	dummyHash = strings.Repeat(".", bcryptHashB64Len)
)

// Dummy spends about the time of one Verify of a bcrypt hash at h.Cost and
// discards the result. Backends call it for an unknown login, so that an
// unknown login and a wrong password take the same time. An invalid Cost counts as DefaultCost. Dummy is safe for
// concurrent use.
func (h Hasher) Dummy(password string) {
	_ = h.DummyContext(nil, password) //nolint:staticcheck // nil: never cancelled
}

// DummyContext is Dummy that stops with ctx.Err() when ctx ends during the
// rounds. A nil ctx never ends.
func (h Hasher) DummyContext(ctx context.Context, password string) error {
	cost := h.cost()
	if cost < MinCost || cost > MaxCost {
		cost = DefaultCost
	}
	if !backend.CheckLoginPassword(password) {
		password = "x" // only the time counts, and it does not depend on the password
	}
	// Compare like Verify does; the result is meaningless and dropped.
	raw, err := bcryptRawContext(ctx, password, cost, dummySalt)
	if err != nil {
		return err
	}
	_ = constantTimeEqual(raw, dummyHash)
	return nil
}
