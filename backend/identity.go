package backend

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// The identity rule.
//
// Two logins (or two emails, or two customer IDs) name the same identity if
// and only if their comparison keys are equal. The key (IdentityKey) is the
// value trimmed of surrounding white space, put in Unicode Normalization Form
// C, and case folded with Unicode simple case folding (CaseFolding.txt,
// statuses C and S), and nothing more:
//
//   - letters that differ only by case are one identity: "ÄRGER" and "ärger",
//     "ΟΔΟΣ" and "οδος", "Kelvin" written with U+212A KELVIN SIGN and "kelvin";
//   - canonically equivalent spellings are one identity: "é" as one code
//     point (NFC) and as "e" plus a combining accent (NFD);
//   - everything else stays distinct: accents ("rené" and "rene"), "ß" and
//     "ss" ("straße" and "strasse": simple folding keeps ß, full folding would
//     not), width ("ａｌｉｃｅ" and "alice"), compatibility forms ("ﬁ" and
//     "fi") and emoji ("dev😀" and "dev😁").
//
// Simple rather than full case folding is chosen so that folding never
// changes the number of characters and never merges what only a
// compatibility mapping would merge. Folding is done with golang.org/x/text's
// cases.Fold, rune by rune, keeping only its single-rune results; a rune that
// Unicode folds to several (ß, ŉ, ligatures) is lower-cased on its own
// (unicode.ToLower), which is what simple folding does for all of them.
//
// Characters that only deceive are refused in logins, emails and names (see
// CheckText): bidi controls, zero-width characters and other format and
// control characters. A backend stores new logins and emails in NFC; the
// rows of an existing OTRS table are read as they are and compared by key.

// IdentityKey is the comparison key of a login, email or customer ID: two
// values are the same identity iff their keys are equal (see the identity
// rule above). It never fails; invalid UTF-8 is kept byte for byte.
func IdentityKey(s string) string {
	s = strings.TrimSpace(s)
	// Fast path: ASCII without upper-case letters is its own key.
	ascii, lower := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if ascii {
		if lower {
			return s
		}
		return strings.ToLower(s)
	}
	if !utf8.ValidString(s) {
		return s
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(simpleFold(r))
	}
	// Folding can produce a sequence that is no longer NFC (rarely: a folded
	// letter may compose with a following mark).
	return norm.NFC.String(b.String())
}

// LoginKey is the comparison key of a login: IdentityKey.
func LoginKey(login string) string { return IdentityKey(login) }

// FoldKey is the comparison key of emails and customer IDs: IdentityKey.
func FoldKey(s string) string { return IdentityKey(s) }

// SameIdentity reports whether a and b are the same login (or email, or
// customer ID) under the identity rule.
func SameIdentity(a, b string) bool { return IdentityKey(a) == IdentityKey(b) }

// CompareLogins orders logins the way every search result is ordered: by the
// bytes of their identity keys (which is code point order of the folded
// NFC form), then, for two spellings of one identity, by their own bytes so
// that the order is total. It returns -1, 0 or +1.
func CompareLogins(a, b string) int {
	ka, kb := IdentityKey(a), IdentityKey(b)
	if c := strings.Compare(ka, kb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

var (
	folder    = cases.Fold()
	foldMu    sync.RWMutex
	foldCache = map[rune]rune{}
)

// simpleFold folds one rune by simple case folding (see IdentityKey).
func simpleFold(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	foldMu.RLock()
	f, ok := foldCache[r]
	foldMu.RUnlock()
	if ok {
		return f
	}
	f = r
	folded := folder.String(string(r))
	if fr, n := utf8.DecodeRuneInString(folded); n == len(folded) && fr != utf8.RuneError {
		f = fr
	} else if unicode.IsUpper(r) || unicode.IsTitle(r) {
		f = unicode.ToLower(r)
	}
	foldMu.Lock()
	foldCache[r] = f
	foldMu.Unlock()
	return f
}

// searchFolder removes accents and folds case (full folding: "straße"
// matches "strasse" in a search).
var searchFolder = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), cases.Fold(), norm.NFC)
}}

// SearchFold is the form search words and searched field values are compared
// in: case and accents folded (decomposed, combining marks removed, full
// Unicode case folding, recomposed), so that "muller" and "MULLER" find
// "Müller" and "mária" finds "Maria". Search is not identity: use
// IdentityKey to decide whether two logins are the same.
func SearchFold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	t := searchFolder.Get().(transform.Transformer)
	defer searchFolder.Put(t)
	t.Reset()
	out, _, err := transform.String(t, s)
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

// isDeceptive reports characters that only deceive a reader: format
// characters (category Cf: bidi controls, zero-width space and joiners, the
// byte order mark, soft hyphen, invisible operators, tag characters), the
// Unicode noncharacters, private-use and surrogate code points, and controls
// other than tab, newline and carriage return (those are handled by the
// caller). allowJoiners keeps U+200C ZERO WIDTH NON-JOINER and U+200D ZERO
// WIDTH JOINER, which Persian and Indic names and emoji sequences need.
func isDeceptive(r rune, allowJoiners bool) bool {
	if allowJoiners && (r == '\u200c' || r == '\u200d') {
		return false
	}
	switch {
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return true
	}
	return false
}
