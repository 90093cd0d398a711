package backend

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the search language.
const (
	MaxSearchWords = 32
)

// Pattern is a text with '*' wildcards, kept as the literal pieces between
// them. Every other character, '%', '_', '\', '(', ')' and NUL included, is
// literal. Parts has one element when there is no wildcard; "*" alone gives
// two empty parts and matches everything.
type Pattern struct {
	Parts []string
}

// NewPattern splits s on '*'.
func NewPattern(s string) Pattern { return Pattern{Parts: strings.Split(s, "*")} }

// HasWildcard reports whether the pattern contains a '*'.
func (p Pattern) HasWildcard() bool { return len(p.Parts) > 1 }

// MatchAll reports whether the pattern is only wildcards (it matches every value).
func (p Pattern) MatchAll() bool {
	if !p.HasWildcard() {
		return false
	}
	for _, s := range p.Parts {
		if s != "" {
			return false
		}
	}
	return true
}

// Lower returns the pattern with every part lower-cased.
func (p Pattern) Lower() Pattern {
	parts := make([]string, len(p.Parts))
	for i, s := range p.Parts {
		parts[i] = strings.ToLower(s)
	}
	return Pattern{Parts: parts}
}

// Fold returns the pattern with every part folded by SearchFold (case and
// accents), the form to match against SearchFold-ed field values.
func (p Pattern) Fold() Pattern {
	parts := make([]string, len(p.Parts))
	for i, s := range p.Parts {
		parts[i] = SearchFold(s)
	}
	return Pattern{Parts: parts}
}

// String gives the pattern back in its '*' form.
func (p Pattern) String() string { return strings.Join(p.Parts, "*") }

// Match reports whether value matches the pattern. anchorStart requires the
// first part at the start of value, anchorEnd the last part at its end; with
// neither, the pattern may match anywhere (substring). Matching is exact:
// lower-case both sides first for case-insensitive matching.
func (p Pattern) Match(value string, anchorStart, anchorEnd bool) bool {
	parts := p.Parts
	if len(parts) == 0 {
		return true
	}
	if len(parts) == 1 {
		switch {
		case anchorStart && anchorEnd:
			return value == parts[0]
		case anchorStart:
			return strings.HasPrefix(value, parts[0])
		case anchorEnd:
			return strings.HasSuffix(value, parts[0])
		}
		return strings.Contains(value, parts[0])
	}
	first, last := parts[0], parts[len(parts)-1]
	if anchorStart {
		if !strings.HasPrefix(value, first) {
			return false
		}
		value = value[len(first):]
	} else if i := strings.Index(value, first); i >= 0 {
		value = value[i+len(first):]
	} else {
		return false
	}
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(value, mid)
		if i < 0 {
			return false
		}
		value = value[i+len(mid):]
	}
	if anchorEnd {
		return strings.HasSuffix(value, last)
	}
	return strings.Contains(value, last)
}

// SearchTerm is one word of a search: a pattern that must match one of the
// search fields, or, when Negate is set, none of them.
type SearchTerm struct {
	Pattern Pattern
	Negate  bool
	// Phrase is set when the word was quoted; it may then contain white space and '+'.
	Phrase bool
}

// SearchExpr is a parsed search: all terms must hold (AND).
type SearchExpr struct {
	Terms []SearchTerm
}

// Empty reports whether the expression has no terms (it matches every user).
func (e SearchExpr) Empty() bool { return len(e.Terms) == 0 }

// Match evaluates the expression against the values of a user's search
// fields, all already folded like the expression (SearchFold and Fold). prefix selects prefix matching (each word
// must start a field value) instead of substring matching.
func (e SearchExpr) Match(lowerFields []string, prefix bool) bool {
	for _, t := range e.Terms {
		hit := false
		for _, f := range lowerFields {
			if t.Pattern.Match(f, prefix, false) {
				hit = true
				break
			}
		}
		if hit == t.Negate {
			return false
		}
	}
	return true
}

// Fold returns the expression with every pattern folded by SearchFold: with
// the field values folded the same way, Match then matches case- and
// accent-insensitively, as the search language requires.
func (e SearchExpr) Fold() SearchExpr {
	terms := make([]SearchTerm, len(e.Terms))
	for i, t := range e.Terms {
		t.Pattern = t.Pattern.Fold()
		terms[i] = t
	}
	return SearchExpr{Terms: terms}
}

// Lower returns the expression with every pattern lower-cased (case-
// insensitive only; the search language asks for Fold).
func (e SearchExpr) Lower() SearchExpr {
	terms := make([]SearchTerm, len(e.Terms))
	for i, t := range e.Terms {
		t.Pattern = t.Pattern.Lower()
		terms[i] = t
	}
	return SearchExpr{Terms: terms}
}

// ParseSearch parses the search language:
//
//   - words are separated by white space or '+' and are ANDed;
//   - "a phrase" in double quotes is one word (white space and '+' kept);
//   - !word (or !"a phrase") excludes users that the word matches;
//   - '*' is a wildcard; every other character is literal;
//   - matching is case- and accent-insensitive (SearchFold), as a substring
//     (or a prefix when the backend is configured so) of one of the
//     backend's search fields; a phrase may also match the full name
//     ("maria meier" finds Maria Meier).
//
// An empty or white-space-only search is an empty expression. A malformed
// search (unbalanced quote, a lone '!', an empty phrase, more than
// MaxSearchWords words, more than MaxQueryBytes bytes, invalid UTF-8) gives a
// *ValidationError.
func ParseSearch(s string) (SearchExpr, error) {
	bad := func(reason string) (SearchExpr, error) {
		return SearchExpr{}, &ValidationError{Field: FieldSearch, Reason: reason}
	}
	if len(s) > MaxQueryBytes {
		return bad(fmt.Sprintf("longer than %d bytes", MaxQueryBytes))
	}
	if !utf8.ValidString(s) {
		return bad("not valid UTF-8")
	}
	var (
		expr SearchExpr
		i    int
	)
	isSep := func(r rune) bool { return r == '+' || unicode.IsSpace(r) }
	for {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !isSep(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			break
		}
		var t SearchTerm
		if s[i] == '!' {
			t.Negate = true
			i++
		}
		var word strings.Builder
		inQuote := false
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == '"' {
				inQuote = !inQuote
				t.Phrase = true
				i += n
				continue
			}
			if !inQuote && isSep(r) {
				break
			}
			word.WriteString(s[i : i+n])
			i += n
		}
		if inQuote {
			return bad("unbalanced double quote")
		}
		if word.Len() == 0 {
			if t.Phrase {
				return bad("empty phrase")
			}
			return bad("'!' without a word")
		}
		if len(expr.Terms) == MaxSearchWords {
			return bad(fmt.Sprintf("more than %d words", MaxSearchWords))
		}
		t.Pattern = NewPattern(word.String())
		expr.Terms = append(expr.Terms, t)
	}
	return expr, nil
}
