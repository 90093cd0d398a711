package backendtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func (s *suite) identityCases() []testCase {
	return []testCase{
		{"Identity/DistinctSpellingsAreTwoUsers", s.testIdentityDistinct},
		{"Identity/CaseAndNormalisationAreOneUser", s.testIdentitySame},
		{"Identity/NewLoginsStoredNFC", s.testIdentityNFC},
		{"Identity/DeceptiveCharactersRefused", s.testIdentityDeceptive},
		{"Identity/CustomerIDByTheRule", s.testIdentityCustomerID},
		{"Search/FoldsCaseAndAccents", s.testSearchFolds},
		{"Search/PhraseMatchesFullName", s.testSearchFullName},
	}
}

// distinctPairs are spellings the identity rule keeps apart: accents, ß
// against ss, width, compatibility forms, emoji.
var distinctPairs = [][2]string{
	{"rené", "rene"},
	{"straße", "strasse"},
	{"ａｌｉｃｅ", "alice"},
	{"dev😀", "dev😁"},
	{"ﬁle", "file"},
}

// samePairs differ by case or by normalisation only: one identity each.
var samePairs = [][2]string{
	{"ÄRGER", "ärger"},
	{"ΟΔΟΣ", "οδος"},
	{"\u212Aelvin", "kelvin"},
	{"re\u0301ne\u0301e", "r\u00e9n\u00e9e"},
}

// pairUser is the user of one spelling: its login, an email of the same
// spelling (so that email identity is checked too) and its own password.
func pairUser(i, j int, spelling string) Seed {
	u := user(spelling, "Pair", fmt.Sprintf("Member%d%d", i, j), spelling+"@pairs.example.org", fmt.Sprintf("PAIR%d", i))
	return Seed{User: u, Password: fmt.Sprintf("pair-pw-%d-%d", i, j)}
}

// testIdentityDistinct: each spelling of a distinct pair is its own user:
// Get, Authenticate, the Login and Email criteria return it and never the
// other. A store with a looser uniqueness may refuse the second as a
// duplicate; it then must answer for that spelling as for an unknown user.
func (s *suite) testIdentityDistinct(t *testing.T) {
	var seeds []Seed
	for i, p := range distinctPairs {
		for j, sp := range p {
			seeds = append(seeds, pairUser(i, j, sp))
		}
	}
	h := s.open(t, nil)
	present := map[string]bool{}
	if h.Caps.ReadOnly {
		h = s.open(t, seeds)
		for _, sd := range seeds {
			present[sd.User.Login] = true
		}
	} else {
		for _, sd := range seeds {
			_, err := h.Backend.Add(ctx(t), sd.User, sd.Password)
			if err != nil && h.Caps.LooserIdentity && (errors.Is(err, backend.ErrDuplicateLogin) || errors.Is(err, backend.ErrDuplicateEmail)) {
				continue // the store's collation is looser than the rule: allowed to refuse
			}
			require.NoError(t, err, "add %q: a distinct identity", sd.User.Login)
			present[sd.User.Login] = true
		}
	}
	for i, p := range distinctPairs {
		for j, sp := range p {
			other := p[1-j]
			sd := pairUser(i, j, sp)
			got, err := h.Backend.Get(ctx(t), sp)
			if !present[sp] {
				requireKind(t, err, backend.ErrNotFound, "Get %q, refused as a duplicate, must not give %q", sp, other)
				_, err = h.Backend.Authenticate(ctx(t), sp, sd.Password)
				requireKind(t, err, backend.ErrInvalidCredentials, "Authenticate %q (not stored)", sp)
				_, err = h.Backend.Authenticate(ctx(t), sp, pairUser(i, 1-j, other).Password)
				requireKind(t, err, backend.ErrInvalidCredentials, "Authenticate %q with the password of %q", sp, other)
				res, err := h.Backend.Search(ctx(t), backend.Query{Email: sd.User.Email, IncludeInvalid: true})
				require.NoError(t, err)
				assert.Empty(t, res, "the email of %q (not stored) finds nobody", sp)
				continue
			}
			require.NoError(t, err, "Get %q", sp)
			assert.Equal(t, sp, got.Login, "Get %q gives its own user, never %q", sp, other)
			assert.Equal(t, sd.User.Email, got.Email)

			authed, err := h.Backend.Authenticate(ctx(t), sp, sd.Password)
			require.NoError(t, err, "Authenticate %q with its own password", sp)
			assert.Equal(t, sp, authed.Login)
			_, err = h.Backend.Authenticate(ctx(t), sp, pairUser(i, 1-j, other).Password)
			requireKind(t, err, backend.ErrInvalidCredentials, "%q does not log in with the password of %q", sp, other)

			res, err := h.Backend.Search(ctx(t), backend.Query{Email: sd.User.Email, IncludeInvalid: true})
			require.NoError(t, err)
			assert.Equal(t, []string{sp}, logins(res), "the email of %q finds only its own user (postmaster lookup)", sp)
			res, err = h.Backend.Search(ctx(t), backend.Query{Login: sp, IncludeInvalid: true})
			require.NoError(t, err)
			assert.Equal(t, []string{sp}, logins(res), "the Login criterion %q finds only its own user", sp)
		}
	}
}

// testIdentitySame: spellings that differ by case or normalisation are one
// user: the second Add is a duplicate, every spelling finds and
// authenticates the first.
func (s *suite) testIdentitySame(t *testing.T) {
	var seeds []Seed
	for i, p := range samePairs {
		seeds = append(seeds, pairUser(i, 0, p[0]))
	}
	h := s.open(t, seeds)
	if !h.Caps.ReadOnly {
		for i, p := range samePairs {
			u := pairUser(i, 1, p[1]).User
			u.Email = fmt.Sprintf("other%d@pairs.example.org", i)
			_, err := h.Backend.Add(ctx(t), u, "x")
			requireKind(t, err, backend.ErrDuplicateLogin, "%q is the login %q again", p[1], p[0])
			if !h.Caps.AllowDuplicateEmail {
				u = newUser(fmt.Sprintf("samemail%d", i))
				u.Email = p[1] + "@PAIRS.example.org"
				_, err = h.Backend.Add(ctx(t), u, "x")
				requireKind(t, err, backend.ErrDuplicateEmail, "%q is the email of %q again", u.Email, p[0])
			}
		}
	}
	for i, p := range samePairs {
		sd := pairUser(i, 0, p[0])
		want, err := backend.NormalizeLogin(p[0])
		require.NoError(t, err)
		for _, sp := range p {
			got, err := h.Backend.Get(ctx(t), sp)
			require.NoError(t, err, "Get %q finds %q", sp, p[0])
			assert.Equal(t, want, got.Login)
			authed, err := h.Backend.Authenticate(ctx(t), sp, sd.Password)
			require.NoError(t, err, "Authenticate %q as %q", sp, p[0])
			assert.Equal(t, want, authed.Login)
			res, err := h.Backend.Search(ctx(t), backend.Query{Email: sp + "@pairs.EXAMPLE.org"})
			require.NoError(t, err)
			assert.Equal(t, []string{want}, logins(res), "email %q", sp+"@pairs.EXAMPLE.org")
			res, err = h.Backend.Search(ctx(t), backend.Query{Login: sp})
			require.NoError(t, err)
			assert.Equal(t, []string{want}, logins(res), "Login criterion %q", sp)
		}
	}
	if h.Caps.ReadOnly {
		return
	}
	// A rename to another spelling of the same identity is allowed (it is not
	// a different user).
	u, err := h.Backend.Get(ctx(t), "ärger")
	require.NoError(t, err)
	u.Login = "Ärger"
	renamed, err := h.Backend.Update(ctx(t), "ÄRGER", u)
	require.NoError(t, err, "a rename to another spelling of the same identity")
	assert.Equal(t, "Ärger", renamed.Login)
}

func (s *suite) testIdentityNFC(t *testing.T) {
	h := s.writable(t, nil)
	nfd := "jose\u0301"
	u := newUser(nfd)
	u.Email = "jose\u0301@nfc.example.org"
	added, err := h.Backend.Add(ctx(t), u, "nfc password")
	require.NoError(t, err)
	assert.Equal(t, "jos\u00e9", added.Login, "a new login is stored in NFC")
	assert.Equal(t, "jos\u00e9@nfc.example.org", added.Email, "a new email is stored in NFC")
	for _, sp := range []string{nfd, "jos\u00e9", "JOSE\u0301", "JOS\u00c9"} {
		got, err := h.Backend.Get(ctx(t), sp)
		require.NoError(t, err, "%q", sp)
		assert.Equal(t, "jos\u00e9", got.Login)
		_, err = h.Backend.Authenticate(ctx(t), sp, "nfc password")
		require.NoError(t, err, "%q", sp)
	}
	_, err = h.Backend.Get(ctx(t), "jose")
	requireKind(t, err, backend.ErrNotFound, "the accent is not dropped")
}

func (s *suite) testIdentityDeceptive(t *testing.T) {
	h := s.writable(t, nil)
	for _, bad := range []string{"\u202e", "\u200b", "\u2066", "\ufeff", "\u00ad", "\u200d"} {
		name := fmt.Sprintf("U+%04X", []rune(bad)[0])
		u := newUser("ad" + bad + "min")
		_, err := h.Backend.Add(ctx(t), u, "pw")
		ve := requireValidation(t, err, "login with %s", name)
		assert.Equal(t, backend.FieldLogin, ve.Field)

		u = newUser("deceptive-email")
		u.Email = "billing" + bad + "@acme.example.org"
		_, err = h.Backend.Add(ctx(t), u, "pw")
		ve = requireValidation(t, err, "email with %s", name)
		assert.Equal(t, backend.FieldEmail, ve.Field)

		if bad != "\u200d" { // names may hold the joiner emoji and scripts need
			u = newUser("deceptive-name")
			u.LastName = "Huber" + bad + "Evil"
			_, err = h.Backend.Add(ctx(t), u, "pw")
			ve = requireValidation(t, err, "last name with %s", name)
			assert.Equal(t, backend.FieldLastName, ve.Field)
		}
	}
	assert.Empty(t, snapshot(t, h.Backend), "nothing stored")
	_, err := h.Backend.Get(ctx(t), "ad\u200bmin")
	requireValidation(t, err, "a lookup with a deceptive character is refused as input")
}

func (s *suite) testIdentityCustomerID(t *testing.T) {
	h := s.open(t, fixture())
	for q, want := range map[string][]string{
		"müller-ag": {"jürgen"}, "MÜLLER-AG": {"jürgen"}, "MULLER-AG": nil, "acme-eu": {"hhuber"},
	} {
		res, err := h.Backend.Search(ctx(t), backend.Query{CustomerID: q})
		require.NoError(t, err)
		assert.Equal(t, want, nilIfEmpty(logins(res)), "CustomerID %q", q)
	}
}

// mariaSeed adds two users the search cases need: an accent-free Maria and
// an accented Mária.
func searchSeeds() []Seed {
	maria := user("mmeier", "Maria", "Meier", "maria@meier.example.org", "MEIER")
	maria2 := user("mkovacs", "Mária", "Kovács", "maria@kovacs.example.hu", "KOVACS")
	return append(fixture(), Seed{User: maria}, Seed{User: maria2})
}

func (s *suite) testSearchFolds(t *testing.T) {
	h := s.open(t, searchSeeds())
	for q, want := range map[string][]string{
		"muller":       {"jürgen"},
		"MULLER":       {"jürgen"},
		"Müller":       {"jürgen"},
		"MÜLLER":       {"jürgen"},
		"jurgen":       {"jürgen"},
		"mária":        {"mkovacs", "mmeier"},
		"MARIA":        {"mkovacs", "mmeier"},
		"kovacs":       {"mkovacs"},
		"kovács":       {"mkovacs"},
		"munchen":      nil, // the city is not a search field
		"mu*ler":       {"jürgen"},
		"!mária maria": nil,
	} {
		res, err := h.Backend.Search(ctx(t), backend.Query{Search: q})
		require.NoError(t, err, q)
		assert.Equal(t, want, nilIfEmpty(logins(res)), "search %q (case and accents fold)", q)
	}
}

func (s *suite) testSearchFullName(t *testing.T) {
	h := s.open(t, searchSeeds())
	for q, want := range map[string][]string{
		`"maria meier"`:  {"mmeier"},
		`"MARIA MEIER"`:  {"mmeier"},
		`"maria kovacs"`: {"mkovacs"},
		`"hans huber"`:   {"hhuber"},
		`"huber hans"`:   nil,
		`"jan van der"`:  {"vdberg"},
	} {
		res, err := h.Backend.Search(ctx(t), backend.Query{Search: q})
		require.NoError(t, err, q)
		assert.Equal(t, want, nilIfEmpty(logins(res)), "phrase %s matches the full name", q)
	}
}
