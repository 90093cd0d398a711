package backend

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// IdentityPairs are spellings that the identity rule keeps apart.
var distinctPairs = [][2]string{
	{"rené", "rene"},
	{"straße", "strasse"},
	{"ａｌｉｃｅ", "alice"},
	{"dev😀", "dev😁"},
	{"ﬁle", "file"},
	{"Ｋelvin", "kelvin"},
}

// samePairs differ by case or by normalisation only.
var samePairs = [][2]string{
	{"ÄRGER", "ärger"},
	{"ΟΔΟΣ", "οδος"},
	{"ΟΔΟΣ", "οδοσ"},
	{"\u212Aelvin", "kelvin"},
	{"re\u0301ne\u0301", "r\u00e9n\u00e9"},
	{"STRASSE", "strasse"},
	{"ǅemal", "ǆemal"},
	{"  HHuber ", "hhuber"},
	{"ẞ", "ß"},
}

func TestIdentityKey(t *testing.T) {
	for _, p := range distinctPairs {
		assert.NotEqual(t, IdentityKey(p[0]), IdentityKey(p[1]), "%q and %q are two identities", p[0], p[1])
		assert.False(t, SameIdentity(p[0], p[1]))
	}
	for _, p := range samePairs {
		assert.Equal(t, IdentityKey(p[0]), IdentityKey(p[1]), "%q and %q are one identity", p[0], p[1])
		assert.True(t, SameIdentity(p[0], p[1]))
	}
	for _, s := range []string{"", "abc", "ÄRGER", "dev😀", "\xff\xfe", strings.Repeat("ä", 500)} {
		k := IdentityKey(s)
		assert.Equal(t, k, IdentityKey(k), "the key of a key is itself: %q", s)
	}
	assert.Equal(t, "\xffA", IdentityKey("\xffA"), "invalid UTF-8 is kept as it is")
}

func TestCompareLoginsAndAfter(t *testing.T) {
	ls := []string{"b", "Ärger", "A", "a2", "ärgerlich", "Z", "\u212Ax"}
	users := make([]CustomerUser, len(ls))
	for i, l := range ls {
		users[i].Login = l
	}
	SortByLogin(users)
	var got []string
	for _, u := range users {
		got = append(got, u.Login)
	}
	assert.Equal(t, []string{"A", "a2", "b", "\u212Ax", "Z", "Ärger", "ärgerlich"}, got)
	assert.True(t, AfterLogin("b", "A"))
	assert.False(t, AfterLogin("a", "A"), "the same identity is not after itself")
	assert.False(t, AfterLogin("A", "a"))
	assert.True(t, AfterLogin("anything", ""))
	assert.Equal(t, 0, CompareLogins("x", "x"))
	assert.Equal(t, -1, CompareLogins("X", "x"), "spellings of one identity are ordered by bytes")
}

func TestSearchFold(t *testing.T) {
	for in, want := range map[string]string{
		"Müller": "muller", "MULLER": "muller", "mária": "maria", "Straße": "strasse",
		"ÉCOLE": "ecole", "ｆｕｌｌ": "ｆｕｌｌ", "abc": "abc", "\xff": "\ufffd",
	} {
		assert.Equal(t, want, SearchFold(in), in)
	}
	e, err := ParseSearch("muller")
	require.NoError(t, err)
	assert.True(t, e.Fold().Match([]string{SearchFold("Jürgen Müller")}, false))
}

func TestDeceptiveCharacters(t *testing.T) {
	base := CustomerUser{Login: "ok", FirstName: "A", LastName: "B", Email: "a@b.example", CustomerID: "C"}
	for _, bad := range []string{"\u202e", "\u200b", "\u200c", "\u200d", "\u2066", "\ufeff", "\u00ad", "\U000e0041", "\ue000", "\ufffe"} {
		_, err := NormalizeLogin("ad" + bad + "min")
		assert.ErrorIs(t, err, ErrInvalidInput, "login with %U", []rune(bad)[0])
		u := base
		u.Email = "a" + bad + "@b.example"
		_, err = NormalizeUser(u, true)
		assert.ErrorIs(t, err, ErrInvalidInput, "email with %U", []rune(bad)[0])
		u = base
		u.LastName = "Na" + bad + "me"
		_, err = NormalizeUser(u, true)
		if bad == "\u200c" || bad == "\u200d" {
			assert.NoError(t, err, "names may hold the joiners that scripts and emoji need")
		} else {
			assert.ErrorIs(t, err, ErrInvalidInput, "name with %U", []rune(bad)[0])
		}
	}
	got, err := NormalizeLogin("re\u0301ne\u0301")
	require.NoError(t, err)
	assert.Equal(t, "r\u00e9n\u00e9", got, "new logins are stored NFC")
}

func TestNormalizeUserReportsEveryField(t *testing.T) {
	_, err := NormalizeUser(CustomerUser{Login: "x", FirstName: " ", Email: "nope", CustomerIDs: make([]string, MaxCustomerIDs)}, true)
	var all ValidationErrors
	require.ErrorAs(t, err, &all)
	assert.Equal(t, []string{FieldFirstName, FieldLastName, FieldEmail, FieldCustomerID, FieldCustomerIDs}, all.Fields())
	assert.Equal(t, "required", all.Reason(FieldLastName))
	assert.Empty(t, all.Reason(FieldLogin))
	assert.ErrorIs(t, err, ErrInvalidInput)
	var first *ValidationError
	require.ErrorAs(t, err, &first)
	assert.Equal(t, FieldFirstName, first.Field)
	assert.Contains(t, err.Error(), "invalid LastName: required")
}

func TestAccountInvalidError(t *testing.T) {
	err := OpError("db", "authenticate", &AccountInvalidError{State: InvalidTemporarily})
	assert.ErrorIs(t, err, ErrAccountInvalid)
	var ae *AccountInvalidError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, InvalidTemporarily, ae.State)
	assert.Contains(t, err.Error(), "invalid-temporarily")
	cerr := ConfigError("x", &ValidationError{Field: "Config.BaseDN", Reason: "required"})
	assert.ErrorIs(t, cerr, ErrInvalidInput)
	assert.EqualError(t, cerr, "customeruser x: config: invalid Config.BaseDN: required")
	assert.NoError(t, ConfigError("x"))
}
