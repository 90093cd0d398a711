package backend

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzIdentityKey checks the properties every backend relies on: the key of
// a key is itself, it is NFC for valid UTF-8, case never separates two
// spellings, SameIdentity agrees with CompareLogins, SearchFold never fails,
// and NormalizeLogin's result is a login of the same identity.
func FuzzIdentityKey(f *testing.F) {
	for _, s := range []string{"", "abc", "ÄRGER", "\u212Aelvin", "re\u0301ne", "straße", "ǅ", "İstanbul",
		"ΟΔΟΣ", "ａｌｉｃｅ", "dev😀", "ﬁ", "\xff", "a\x00b", "\u202e", "ᾈ", "\u0345"} {
		f.Add(s, "ärger")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka := IdentityKey(a)
		if IdentityKey(ka) != ka {
			t.Fatalf("key of the key differs: %q -> %q -> %q", a, ka, IdentityKey(ka))
		}
		if utf8.ValidString(a) && !norm.NFC.IsNormalString(ka) {
			t.Fatalf("key %q of %q is not NFC", ka, a)
		}
		if utf8.ValidString(a) && utf8.RuneCountInString(ka) > utf8.RuneCountInString(norm.NFC.String(a))+1 {
			t.Fatalf("simple folding grew %q to %q", a, ka)
		}
		if SameIdentity(a, b) != (CompareLogins(a, b) == 0 || IdentityKey(a) == IdentityKey(b)) {
			t.Fatalf("SameIdentity and CompareLogins disagree on %q, %q", a, b)
		}
		if (CompareLogins(a, b) < 0) != (CompareLogins(b, a) > 0) {
			t.Fatalf("CompareLogins not antisymmetric on %q, %q", a, b)
		}
		_ = SearchFold(a)
		if l, err := NormalizeLogin(a); err == nil && !SameIdentity(l, a) {
			t.Fatalf("NormalizeLogin(%q) = %q, another identity", a, l)
		}
	})
}
