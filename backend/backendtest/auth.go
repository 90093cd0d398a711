package backendtest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func (s *suite) authCases() []testCase {
	return []testCase{
		{"Authenticate/Seeded", s.testAuthSeeded},
		{"Authenticate/UnknownAndWrongLookTheSame", s.testAuthSameFailure},
		{"Authenticate/InvalidStatesOnlyWithRightPassword", s.testAuthInvalidStates},
		{"Authenticate/EmptyPasswordNeverAuthenticates", s.testAuthEmptyPassword},
		{"Password/Corpus", s.testPasswordCorpus},
		{"Password/SetPasswordReplaces", s.testSetPasswordReplaces},
		{"Password/AddWithoutPassword", s.testAddWithoutPassword},
	}
}

func (s *suite) testAuthSeeded(t *testing.T) {
	h := s.open(t, fixture())
	for _, login := range []string{"hhuber", "HHUBER", "  hhuber ", "HhUbEr"} {
		u, err := h.Backend.Authenticate(ctx(t), login, pwHans)
		require.NoError(t, err, "%q", login)
		assert.Equal(t, "hhuber", u.Login)
		assertSource(t, h, u)
		assertSameUser(t, seedUser("hhuber"), u)
	}
	_, err := h.Backend.Authenticate(ctx(t), "mmuster", pwMax)
	require.NoError(t, err, "a password with spaces")
	for _, wrong := range []string{"hans-secret-1", "Hans-Secret-1 ", " Hans-Secret-1", "Hans-Secret-", pwMax} {
		_, err := h.Backend.Authenticate(ctx(t), "hhuber", wrong)
		requireKind(t, err, backend.ErrInvalidCredentials, "%q is not the password", wrong)
	}
}

func (s *suite) testAuthSameFailure(t *testing.T) {
	h := s.open(t, fixture())
	_, errWrong := h.Backend.Authenticate(ctx(t), "hhuber", "not the password")
	requireKind(t, errWrong, backend.ErrInvalidCredentials)
	_, errUnknown := h.Backend.Authenticate(ctx(t), "nobody", "not the password")
	requireKind(t, errUnknown, backend.ErrInvalidCredentials)
	assert.NotErrorIs(t, errUnknown, backend.ErrNotFound, "an unknown login is not revealed")
	assert.Equal(t, errWrong.Error(), errUnknown.Error(), "unknown login and wrong password give the same message")
	for _, login := range []string{"", " ", "bad\x00login", "bad\xffutf8", strings.Repeat("x", 1<<20)} {
		_, err := h.Backend.Authenticate(ctx(t), login, "not the password")
		requireKind(t, err, backend.ErrInvalidCredentials, "malformed login %.20q", login)
		assert.Equal(t, errWrong.Error(), err.Error())
	}
	for _, err := range []error{errWrong, errUnknown} {
		assert.NotContains(t, err.Error(), "not the password", "the password is never in an error")
	}
}

func (s *suite) testAuthInvalidStates(t *testing.T) {
	h := s.open(t, fixture())
	for login, pw := range map[string]string{"aschmidt": pwAnna, "ttemp": pwTom} {
		_, err := h.Backend.Authenticate(ctx(t), login, pw)
		requireKind(t, err, backend.ErrAccountInvalid, login)
		assert.NotErrorIs(t, err, backend.ErrInvalidCredentials)
		_, err = h.Backend.Authenticate(ctx(t), login, pw+"x")
		requireKind(t, err, backend.ErrInvalidCredentials, "wrong password of %s", login)
		assert.NotErrorIs(t, err, backend.ErrAccountInvalid, "the state is revealed only with the right password")
	}
}

func (s *suite) testAuthEmptyPassword(t *testing.T) {
	h := s.open(t, fixture())
	// meier has no password at all, hhuber has one: neither logs in without one.
	for _, login := range []string{"hans.meier", "hhuber", "nobody"} {
		_, err := h.Backend.Authenticate(ctx(t), login, "")
		requireKind(t, err, backend.ErrInvalidCredentials, "%s with an empty password", login)
	}
	if h.Caps.ReadOnly {
		return
	}
	err := h.Backend.SetPassword(ctx(t), "hhuber", "")
	requireValidation(t, err, "an empty password is not set")
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
	require.NoError(t, err, "the old password still works")
}

// passwordCorpus are passwords every backend stores and verifies exactly.
func passwordCorpus() map[string]string {
	return map[string]string{
		"simple":       "simple",
		"sentence":     strings.Repeat("A long pass phrase, with punctuation; ", 6)[:backend.MaxNewPasswordBytes],
		"cyrillic":     "пароль-Секрет",
		"arabic":       "كلمة السر",
		"space":        " ",
		"newline":      "\n",
		"tab":          "\t",
		"64a":          strings.Repeat("a", 64),
		"sql":          "' OR 1=1 --",
		"semicolon":    ";",
		"ldap":         "*)(uid=*",
		"backslash":    `\`,
		"inner spaces": "  padded  ",
		"emoji":        "🔑 key",
	}
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func (s *suite) testPasswordCorpus(t *testing.T) {
	h := s.writable(t, fixture())
	for name, pw := range passwordCorpus() {
		err := h.Backend.SetPassword(ctx(t), "mmuster", pw)
		if isBlank(pw) && h.Caps.BlankPasswordsRefused {
			requireValidation(t, err, "%s: a blank password is refused by this backend", name)
			_, err = h.Backend.Authenticate(ctx(t), "mmuster", pw)
			requireKind(t, err, backend.ErrInvalidCredentials, name)
			continue
		}
		require.NoError(t, err, name)
		for i := 0; i < 2; i++ {
			u, err := h.Backend.Authenticate(ctx(t), "MMUSTER", pw)
			require.NoError(t, err, "%s, verification %d", name, i+1)
			assert.Equal(t, "mmuster", u.Login)
		}
		// Near misses: one character more or less at either end.
		misses := []string{"x" + pw}
		if _, size := utf8.DecodeRuneInString(pw); size < len(pw) {
			misses = append(misses, pw[size:])
		}
		if len(pw) < backend.MaxNewPasswordBytes {
			misses = append(misses, pw+"x")
		} else {
			misses = append(misses, pw[:len(pw)-1]+"x")
		}
		for _, miss := range misses {
			_, err = h.Backend.Authenticate(ctx(t), "mmuster", miss)
			requireKind(t, err, backend.ErrInvalidCredentials, "%s: a near miss %q", name, miss)
		}
		_, err = h.Backend.Authenticate(ctx(t), "hhuber", pw)
		requireKind(t, err, backend.ErrInvalidCredentials, "%s is not hans's password", name)
	}
}

func (s *suite) testSetPasswordReplaces(t *testing.T) {
	h := s.writable(t, fixture())
	require.NoError(t, h.Backend.SetPassword(ctx(t), " HHUBER ", "brand new"))
	_, err := h.Backend.Authenticate(ctx(t), "hhuber", "brand new")
	require.NoError(t, err)
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
	requireKind(t, err, backend.ErrInvalidCredentials, "the old password no longer works")
	_, err = h.Backend.Authenticate(ctx(t), "mmuster", pwMax)
	require.NoError(t, err, "other users keep theirs")

	for _, bad := range []string{"nul\x00inside", "bad\xffutf8", strings.Repeat("p", 1<<20)} {
		err := h.Backend.SetPassword(ctx(t), "hhuber", bad)
		requireValidation(t, err, "%.20q", bad)
		assert.NotContains(t, err.Error(), bad)
	}
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", "brand new")
	require.NoError(t, err, "refused passwords change nothing")
}

func (s *suite) testAddWithoutPassword(t *testing.T) {
	h := s.writable(t, nil)
	_, err := h.Backend.Add(ctx(t), newUser("nopw"), "")
	require.NoError(t, err)
	for _, pw := range []string{"", " ", "*", "x"} {
		_, err = h.Backend.Authenticate(ctx(t), "nopw", pw)
		requireKind(t, err, backend.ErrInvalidCredentials, "%q", pw)
	}
	require.NoError(t, h.Backend.SetPassword(ctx(t), "nopw", "now set"))
	_, err = h.Backend.Authenticate(ctx(t), "nopw", "now set")
	require.NoError(t, err)

	_, err = h.Backend.Add(ctx(t), newUser("badpw"), "nul\x00")
	requireValidation(t, err, "a password that cannot be set refuses the add")
	_, err = h.Backend.Get(ctx(t), "badpw")
	requireKind(t, err, backend.ErrNotFound, "and nothing is stored")
}
