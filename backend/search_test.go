package backend

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func term(pattern string, negate, phrase bool) SearchTerm {
	return SearchTerm{Pattern: NewPattern(pattern), Negate: negate, Phrase: phrase}
}

func TestParseSearch(t *testing.T) {
	cases := []struct {
		in   string
		want []SearchTerm
	}{
		{"", nil},
		{"   \t\n", nil},
		{"+ +", nil},
		{"hans", []SearchTerm{term("hans", false, false)}},
		{"hans huber", []SearchTerm{term("hans", false, false), term("huber", false, false)}},
		{"hans+huber", []SearchTerm{term("hans", false, false), term("huber", false, false)}},
		{" hans +  huber ", []SearchTerm{term("hans", false, false), term("huber", false, false)}},
		{"hans !huber", []SearchTerm{term("hans", false, false), term("huber", true, false)}},
		{`"van der berg"`, []SearchTerm{term("van der berg", false, true)}},
		{`"a+b" c`, []SearchTerm{term("a+b", false, true), term("c", false, false)}},
		{`!"van der"`, []SearchTerm{term("van der", true, true)}},
		{`ab"c d"e`, []SearchTerm{term("abc de", false, true)}},
		{"hu*er", []SearchTerm{term("hu*er", false, false)}},
		{"*", []SearchTerm{term("*", false, false)}},
		{"!!x", []SearchTerm{term("!x", true, false)}},
		{"x!", []SearchTerm{term("x!", false, false)}},
		{`%_\()`, []SearchTerm{term(`%_\()`, false, false)}},
		{"a\x00b", []SearchTerm{term("a\x00b", false, false)}},
		{"müller カス", []SearchTerm{term("müller", false, false), term("カス", false, false)}},
		{"a\u00a0b", []SearchTerm{term("a", false, false), term("b", false, false)}},
	}
	for _, c := range cases {
		got, err := ParseSearch(c.in)
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, got.Terms, "%q", c.in)
		assert.Equal(t, len(c.want) == 0, got.Empty())
	}
}

func TestParseSearchMalformed(t *testing.T) {
	for _, in := range []string{`"open`, `a "b`, `!`, `a !`, `! a`, `""`, `!""`, `a ""`,
		strings.Repeat("w ", MaxSearchWords+1), strings.Repeat("x", MaxQueryBytes+1), "\xff", "ok \xc3"} {
		_, err := ParseSearch(in)
		require.Error(t, err, "%.40q", in)
		var ve *ValidationError
		require.True(t, errors.As(err, &ve), "%T", err)
		assert.Equal(t, FieldSearch, ve.Field)
		assert.ErrorIs(t, err, ErrInvalidInput)
	}
	_, err := ParseSearch(strings.Repeat("w ", MaxSearchWords))
	require.NoError(t, err, "exactly the maximum number of words")
}

func TestPatternMatch(t *testing.T) {
	cases := []struct {
		pattern, value         string
		anchorStart, anchorEnd bool
		want                   bool
	}{
		{"uber", "huber", false, false, true},
		{"uber", "huber", true, false, false},
		{"hub", "huber", true, false, true},
		{"huber", "huber", true, true, true},
		{"hube", "huber", true, true, false},
		{"ber", "huber", false, true, true},
		{"hu*er", "huber", true, true, true},
		{"hu*er", "huberx", true, true, false},
		{"hu*er", "xhuber", false, false, true},
		{"*uber", "huber", true, false, true},
		{"h*b*r", "hhuber", true, true, true},
		{"a*a", "a", true, true, false},
		{"a*a", "aa", true, true, true},
		{"*", "", true, true, true},
		{"**", "anything", true, true, true},
		{"%", "per%cent", false, false, true},
		{"_", "abc", false, false, false},
		{"", "x", false, false, true},
		{"x", "", false, false, false},
	}
	for _, c := range cases {
		got := NewPattern(c.pattern).Match(c.value, c.anchorStart, c.anchorEnd)
		assert.Equal(t, c.want, got, "%q ~ %q start=%v end=%v", c.pattern, c.value, c.anchorStart, c.anchorEnd)
	}
	assert.True(t, NewPattern("**").MatchAll())
	assert.False(t, NewPattern("a*").MatchAll())
	assert.False(t, NewPattern("").MatchAll())
	assert.Equal(t, "a*b", NewPattern("A*B").Lower().String())
}

func TestSearchExprMatch(t *testing.T) {
	fields := []string{"hhuber", "hans", "huber", "acme", "hans.huber@acme.example.org"}
	for in, want := range map[string]bool{
		"hans huber": true, "hans !huber": false, "HANS": true, "uber": true, "nomatch": false,
		`"hans huber"`: false, "!nomatch": true, "": true,
	} {
		e, err := ParseSearch(in)
		require.NoError(t, err)
		assert.Equal(t, want, e.Lower().Match(fields, false), "%q", in)
	}
	e, _ := ParseSearch("uber")
	assert.False(t, e.Match(fields, true), "prefix mode needs the word at a field's start")
	e, _ = ParseSearch("hub")
	assert.True(t, e.Match(fields, true))
}

// FuzzParseSearch: the parser never panics, accepts or refuses with a
// *ValidationError, and what it accepts is within the limits.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"hans huber", `"a b" !c`, "*", "!", `"`, "a+b", "%_\\()", "\x00", "\xff", "!\"x\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseSearch(s)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(e.Terms) > MaxSearchWords {
			t.Fatalf("%d terms", len(e.Terms))
		}
		for _, tm := range e.Terms {
			if len(tm.Pattern.Parts) == 0 {
				t.Fatalf("term without parts")
			}
			if strings.Join(tm.Pattern.Parts, "") == "" && !tm.Pattern.HasWildcard() {
				t.Fatalf("empty term accepted from %q", s)
			}
			if !tm.Phrase && strings.ContainsAny(tm.Pattern.String(), "+ \t\n") {
				t.Fatalf("unquoted term with a separator from %q", s)
			}
		}
		e.Lower().Match([]string{"x", s}, false)
		e.Match([]string{s}, true)
	})
}
