package password

import (
	"strings"
	"testing"

	"github.com/helpdeskkit/customeruser/backend"
)

// fuzzMaxCost keeps fuzzing fast: a stored bcrypt string may name cost 31
// (2^31 rounds, hours), which is legal, so Verify is only called on bcrypt
// strings up to this cost.
const fuzzMaxCost = 6

// fuzzSeeds are stored strings of every shape, well formed and not.
var fuzzSeeds = []string{
	"",
	"plain text",
	"2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82",
	"1561482c1292222496d39bb43eb61619184a51c9",
	"d0efdee0385bacc4cc65e61d7b91b0402d1f704246179dd9be0063d437411f47b6138e0bbd5e358b7024528e31c94c0383ea65c38853dda824e4532e256639ec",
	"$1$jdoe$1fmu3sKFirQJrmeMiHeon1",
	"$apr1$jdoe$OOGMiorY7qwsdHbeh21jm/",
	"BCRYPT:4:sodium__chloride:E0fOSXOLnPBPq4CUsaEHVdiA5z8g/Bq",
	"$2b$04$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW",
	"jdl1FMVQukacA",
	"BCRYPT:99:short:x",
	"$2a$xx$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW",
	"$1$",
	"$1$ab$",
	"$6$salt$hash",
	"BCRYPT:31:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m",
	"$2a$31$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW",
	"\xff\x00$",
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "Secret123", "jdoe")
	}
	f.Add("x", "x", "")
	f.Add("", "pässwörd", "kカス")
}

// verifyAffordable reports whether Verify on stored finishes quickly.
func verifyAffordable(stored string) bool {
	p := parse(stored)
	return !p.scheme.IsBcrypt() || p.cost <= fuzzMaxCost
}

// FuzzVerify: no input panics; empty passwords never verify; a plain
// string verifies exactly itself; rehash only follows success; whatever
// Hash produces verifies and is identified as bcrypt.
func FuzzVerify(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, stored, password, login string) {
		scheme := Identify(stored)
		if verifyAffordable(stored) {
			for _, h := range []Hasher{{Cost: 4}, {Cost: 5, Format: FormatOTRS}} {
				ok, rehash := h.Verify(stored, password, login)
				if rehash && !ok {
					t.Fatalf("rehash without success")
				}
				if ok && password == "" {
					t.Fatalf("empty password verified against %q", stored)
				}
				if scheme == SchemePlain {
					want := stored == password && len(password) <= backend.MaxPasswordBytes
					if ok != want {
						t.Fatalf("plain %q vs %q: ok=%v", stored, password, ok)
					}
				}
				if ok && (scheme == SchemeNone || scheme == SchemeUnknown) {
					t.Fatalf("scheme %q verified", scheme)
				}
			}
		}

		if backend.CheckPassword(password) != nil {
			return
		}
		// One Hash per input keeps the fuzzer fast; the login picks the form.
		h := Hasher{Cost: 4, Format: Format(len(login) % 2)}
		hashed, err := h.Hash(password)
		if err != nil {
			t.Fatalf("Hash refused a valid password: %v", err)
		}
		if want := map[Format]Scheme{FormatStandard: SchemeBcrypt, FormatOTRS: SchemeBcryptOTRS}[h.Format]; Identify(hashed) != want {
			t.Fatalf("Identify(%q) = %q, want %q", hashed, Identify(hashed), want)
		}
		ok, rehash := h.Verify(hashed, password, login)
		if !ok || rehash {
			t.Fatalf("own hash: ok=%v rehash=%v", ok, rehash)
		}
		if len(password) < MaxBcryptKeyBytes-1 {
			if ok, _ := h.Verify(hashed, password+"x", login); ok {
				t.Fatalf("own hash verified a longer password")
			}
		}
		// The other form rehashes, at the same cost.
		other := Hasher{Cost: 4, Format: 1 - h.Format}
		if ok, rehash := other.Verify(hashed, password, login); !ok || !rehash {
			t.Fatalf("other form: ok=%v rehash=%v", ok, rehash)
		}
	})
}

// FuzzIdentify: Identify never panics, always names a known scheme, never
// calls a string marked as a hash plain, and agrees with the shapes.
func FuzzIdentify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	known := map[Scheme]bool{
		SchemeNone: true, SchemeBcrypt: true, SchemeBcryptOTRS: true, SchemeSHA2: true, SchemeSHA1: true,
		SchemeSHA512: true, SchemeMD5Crypt: true, SchemeAPR1: true, SchemeCrypt: true, SchemePlain: true, SchemeUnknown: true,
	}
	f.Fuzz(func(t *testing.T, stored string) {
		s := Identify(stored)
		if !known[s] {
			t.Fatalf("unknown scheme %q", s)
		}
		if (strings.HasPrefix(stored, "$") || strings.HasPrefix(stored, "BCRYPT:")) && s == SchemePlain {
			t.Fatalf("%q marked as a hash but identified as plain", stored)
		}
		if (s == SchemeNone) != (stored == "") {
			t.Fatalf("Identify(%q) = %q", stored, s)
		}
		wantLen := map[Scheme]int{SchemeSHA1: 40, SchemeSHA2: 64, SchemeSHA512: 128, SchemeCrypt: 13, SchemeBcrypt: 60}
		if n, ok := wantLen[s]; ok && len(stored) != n {
			t.Fatalf("%q: scheme %q with length %d", stored, s, len(stored))
		}
		if !verifyAffordable(stored) {
			return
		}
		// The stored string typed in as the password verifies only as plain.
		ok, _ := Hasher{Cost: 4}.Verify(stored, stored, "")
		if want := s == SchemePlain && backend.CheckLoginPassword(stored); ok != want {
			t.Fatalf("Verify(%q, itself) = %v (scheme %q)", stored, ok, s)
		}
	})
}
