package backendtest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

func (s *suite) crudCases() []testCase {
	return []testCase{
		{"Get/Seeded", s.testGetSeeded},
		{"Get/CaseInsensitiveAndTrimmed", s.testGetCaseInsensitive},
		{"Get/NotFound", s.testGetNotFound},
		{"Add/RoundTrip", s.testAddRoundTrip},
		{"Add/UnusualLogins", s.testAddUnusualLogins},
		{"Add/KeepsLoginSpelling", s.testAddKeepsSpelling},
		{"Add/DuplicateLoginOtherCase", s.testAddDuplicateLogin},
		{"Add/RequiredFields", s.testAddRequired},
		{"Add/EmailSyntaxOnlyForValidUsers", s.testAddEmailSyntax},
		{"Add/EmailUniqueAgainstInvalidUsers", s.testAddEmailUnique},
		{"Add/AutoLogin", s.testAutoLogin},
		{"Update/WholeRecordReplace", s.testUpdateReplace},
		{"Update/DuplicateEmail", s.testUpdateDuplicateEmail},
		{"Update/NotFound", s.testUpdateNotFound},
		{"Update/Rename", s.testRename},
		{"Update/RenameCaseOnly", s.testRenameCaseOnly},
		{"Update/RenameOntoExisting", s.testRenameOntoExisting},
		{"Update/Deactivate", s.testDeactivate},
		{"ReadOnly/RefusesEveryWrite", s.testReadOnly},
	}
}

func (s *suite) testGetSeeded(t *testing.T) {
	h := s.open(t, fixture())
	for _, seed := range fixture() {
		got, err := h.Backend.Get(ctx(t), seed.User.Login)
		require.NoError(t, err, seed.User.Login)
		assertSameUser(t, seed.User, got, seed.User.Login)
		assertSource(t, h, got)
	}
	hans, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	assert.Equal(t, []string{"ACME", "ACME-EU"}, hans.AllCustomerIDs())
	assert.Equal(t, "Dr. Hans Huber", hans.FullName())
}

func (s *suite) testGetCaseInsensitive(t *testing.T) {
	h := s.open(t, fixture())
	for _, in := range []string{"HHUBER", "hHuBeR", "  hhuber\t", "\nHHuber "} {
		got, err := h.Backend.Get(ctx(t), in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, "hhuber", got.Login, "stored spelling is returned for %q", in)
	}
	got, err := h.Backend.Get(ctx(t), "JÜRGEN")
	require.NoError(t, err)
	assert.Equal(t, "jürgen", got.Login)
}

func (s *suite) testGetNotFound(t *testing.T) {
	h := s.open(t, fixture())
	for _, in := range []string{"nobody", "hhube", "hhuberx", "hh*", "%", "_huber"} {
		_, err := h.Backend.Get(ctx(t), in)
		requireKind(t, err, backend.ErrNotFound, "%q", in)
	}
	for _, in := range []string{"", "   ", "\t\n"} {
		_, err := h.Backend.Get(ctx(t), in)
		requireValidation(t, err, "empty login %q", in)
	}
}

func (s *suite) testAddRoundTrip(t *testing.T) {
	h := s.writable(t, nil)
	u := seedUser("hhuber")
	u.Login = "rtuser"
	added, err := h.Backend.Add(ctx(t), u, "pw-roundtrip")
	require.NoError(t, err)
	assertSameUser(t, u, added)
	assertSource(t, h, added)
	assert.False(t, added.CreatedAt.IsZero(), "CreatedAt is set")

	got, err := h.Backend.Get(ctx(t), "rtuser")
	require.NoError(t, err)
	assertSameUser(t, u, got)
	assert.False(t, got.CreatedAt.IsZero(), "CreatedAt is set")
	assert.Equal(t, backend.Valid, got.Valid)

	// A zero Valid is stored as Valid.
	v := newUser("zerovalid")
	v.Valid = 0
	added, err = h.Backend.Add(ctx(t), v, "")
	require.NoError(t, err)
	assert.Equal(t, backend.Valid, added.Valid)
}

func (s *suite) testAddUnusualLogins(t *testing.T) {
	h := s.writable(t, nil)
	for _, login := range []string{"ä", "カス", "_", "&", "o'neil", "a+b", "x%y", "back\\slash", "(paren)", "star*"} {
		if forbidden(h, login) {
			_, err := h.Backend.Add(ctx(t), newUser(login), "pw for "+login)
			requireValidation(t, err, "add %q", login)
			continue
		}
		pw := "pw for " + login
		_, err := h.Backend.Add(ctx(t), newUser(login), pw)
		require.NoError(t, err, "add %q", login)
		got, err := h.Backend.Get(ctx(t), login)
		require.NoError(t, err, "get %q", login)
		assert.Equal(t, login, got.Login)
		authed, err := h.Backend.Authenticate(ctx(t), login, pw)
		require.NoError(t, err, "authenticate %q", login)
		assert.Equal(t, login, authed.Login)
	}
	// The exact Login criterion treats '_' and '%' literally; '*' is its wildcard.
	for login, want := range map[string][]string{
		"_": {"_"}, "&": {"&"}, "x%y": {"x%y"}, "a+b": {"a+b"}, "o'neil": {"o'neil"}, "Ä": {"ä"},
		"(paren)": {"(paren)"}, "back\\slash": {"back\\slash"}, "%": nil,
	} {
		if forbidden(h, login) {
			continue
		}
		got, err := h.Backend.Search(ctx(t), backend.Query{Login: login})
		require.NoError(t, err, "search login %q", login)
		assert.Equal(t, want, nilIfEmpty(logins(got)), "search login %q", login)
	}
}

// forbidden reports whether the store cannot hold login (Capabilities.LoginForbidden).
func forbidden(h Harness, login string) bool {
	return h.Caps.LoginForbidden != "" && strings.ContainsAny(login, h.Caps.LoginForbidden)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func (s *suite) testAddKeepsSpelling(t *testing.T) {
	h := s.writable(t, nil)
	added, err := h.Backend.Add(ctx(t), newUser("  MiXed.Case  "), "")
	require.NoError(t, err)
	assert.Equal(t, "MiXed.Case", added.Login, "surrounding white space trimmed, case kept")
	got, err := h.Backend.Get(ctx(t), "mixed.case")
	require.NoError(t, err)
	assert.Equal(t, "MiXed.Case", got.Login)
}

func (s *suite) testAddDuplicateLogin(t *testing.T) {
	h := s.writable(t, fixture())
	before := snapshot(t, h.Backend)
	for _, login := range []string{"hhuber", "HHUBER", " HHuber ", "JÜRGEN", "aschmidt"} {
		_, err := h.Backend.Add(ctx(t), newUser(login), "")
		requireKind(t, err, backend.ErrDuplicateLogin, "%q", login)
	}
	assert.Equal(t, before, snapshot(t, h.Backend), "failed adds store nothing")
}

func (s *suite) testAddRequired(t *testing.T) {
	h := s.writable(t, nil)
	cases := map[string]func(u *backend.CustomerUser){
		backend.FieldFirstName:  func(u *backend.CustomerUser) { u.FirstName = "" },
		backend.FieldLastName:   func(u *backend.CustomerUser) { u.LastName = "  " },
		backend.FieldEmail:      func(u *backend.CustomerUser) { u.Email = "" },
		backend.FieldCustomerID: func(u *backend.CustomerUser) { u.CustomerID = "\t" },
	}
	if h.Caps.AutoLoginPrefix == "" {
		cases[backend.FieldLogin] = func(u *backend.CustomerUser) { u.Login = " " }
	}
	for field, breakIt := range cases {
		u := newUser("required")
		breakIt(&u)
		_, err := h.Backend.Add(ctx(t), u, "pw")
		ve := requireValidation(t, err, field)
		assert.Equal(t, field, ve.Field)
	}
	_, err := h.Backend.Add(ctx(t), backend.CustomerUser{Login: "x", FirstName: "a", LastName: "b",
		Email: "x@y.example.org", CustomerID: "C", Valid: backend.ValidState(9)}, "")
	requireValidation(t, err, "unknown valid state")
	assert.Empty(t, snapshot(t, h.Backend), "nothing stored")
}

func (s *suite) testAddEmailSyntax(t *testing.T) {
	h := s.writable(t, nil)
	for i, bad := range []string{"no-at-sign", "two@@example.org", "@example.org", "user@", "user@localhost",
		"a b@example.org", "a..b@example.org", ".a@example.org", "a.@example.org", "a@exa mple.org",
		"a@-example.org", "a@example..org"} {
		u := newUser("mail" + strings.Repeat("x", i))
		u.Email = bad
		_, err := h.Backend.Add(ctx(t), u, "")
		ve := requireValidation(t, err, "valid user with email %q", bad)
		assert.Equal(t, backend.FieldEmail, ve.Field)

		// Users that are not valid keep whatever they had (the OTRS rule).
		u.Valid = backend.Invalid
		added, err := h.Backend.Add(ctx(t), u, "")
		require.NoError(t, err, "invalid user with email %q", bad)
		assert.Equal(t, bad, added.Email)
	}
	for i, good := range []string{"a@example.org", "first.last+tag@sub.example.co.uk", "o'neil@example.ie",
		"müller@bücher.example", "x_y-z@a-b.example.org"} {
		u := newUser("good" + strings.Repeat("y", i))
		u.Email = good
		_, err := h.Backend.Add(ctx(t), u, "")
		require.NoError(t, err, "email %q", good)
	}
}

func (s *suite) testAddEmailUnique(t *testing.T) {
	h := s.writable(t, fixture())
	before := snapshot(t, h.Backend)
	// anna (invalid) still holds her address; hans's differs only in case.
	for i, email := range []string{"anna@schmidt.example.com", "HANS.HUBER@ACME.example.org", "tom@temp.example.com"} {
		u := newUser(fmt.Sprintf("emaildup%d", i))
		u.Email = email
		added, err := h.Backend.Add(ctx(t), u, "")
		if h.Caps.AllowDuplicateEmail {
			require.NoError(t, err, "%s: the backend allows duplicate emails", email)
			assert.Equal(t, email, added.Email)
			continue
		}
		requireKind(t, err, backend.ErrDuplicateEmail, email)
	}
	if !h.Caps.AllowDuplicateEmail {
		assert.Equal(t, before, snapshot(t, h.Backend), "failed adds store nothing")
	}
}

func (s *suite) testAutoLogin(t *testing.T) {
	h := s.writable(t, nil)
	prefix := h.Caps.AutoLoginPrefix
	if prefix == "" {
		u := newUser("")
		_, err := h.Backend.Add(ctx(t), u, "")
		ve := requireValidation(t, err, "empty login without auto-login creation")
		assert.Equal(t, backend.FieldLogin, ve.Field)
		return
	}
	pattern := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `-\d{12}\d+$`)
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		u := newUser("")
		u.Email = strings.Repeat("a", i+1) + "@auto.example.org"
		added, err := h.Backend.Add(ctx(t), u, "pw")
		require.NoError(t, err)
		assert.Regexp(t, pattern, added.Login)
		assert.False(t, seen[strings.ToLower(added.Login)], "generated logins are unique: %s", added.Login)
		seen[strings.ToLower(added.Login)] = true
		got, err := h.Backend.Get(ctx(t), added.Login)
		require.NoError(t, err)
		assert.Equal(t, added.Login, got.Login)
	}
}

func (s *suite) testUpdateReplace(t *testing.T) {
	h := s.writable(t, fixture())
	u, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	u.Phone = ""                                // cleared
	u.City = "Berlin"                           // changed
	u.CustomerIDs = []string{"ACME-US", "acme"} // the primary again is dropped
	u.Title = ""
	updated, err := h.Backend.Update(ctx(t), "HHUBER", u)
	require.NoError(t, err)
	assert.Equal(t, "Berlin", updated.City)

	got, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	want := u
	want.CustomerIDs = []string{"ACME-US"}
	assertSameUser(t, want, got)
	assert.Empty(t, got.Phone)
	assert.Empty(t, got.Title)
	assert.Equal(t, []string{"ACME", "ACME-US"}, got.AllCustomerIDs())

	// The old further customer ID no longer finds the user, the new one does.
	res, err := h.Backend.Search(ctx(t), backend.Query{CustomerID: "ACME-EU"})
	require.NoError(t, err)
	assert.Empty(t, res)
	res, err = h.Backend.Search(ctx(t), backend.Query{CustomerID: "acme-us"})
	require.NoError(t, err)
	assert.Equal(t, []string{"hhuber"}, logins(res))

	// Others unchanged.
	other, err := h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	assertSameUser(t, seedUser("mmuster"), other)

	// Validation applies to updates too, and a refused update changes nothing.
	before := snapshot(t, h.Backend)
	bad := got
	bad.LastName = ""
	_, err = h.Backend.Update(ctx(t), "hhuber", bad)
	requireValidation(t, err)
	assert.Equal(t, before, snapshot(t, h.Backend))
}

func (s *suite) testUpdateDuplicateEmail(t *testing.T) {
	h := s.writable(t, fixture())
	if h.Caps.AllowDuplicateEmail {
		t.Skip("backend allows duplicate emails")
	}
	before := snapshot(t, h.Backend)
	for _, email := range []string{"MAX@muster.example.net", "anna@schmidt.example.com"} {
		u, err := h.Backend.Get(ctx(t), "hhuber")
		require.NoError(t, err)
		u.Email = email
		_, err = h.Backend.Update(ctx(t), "hhuber", u)
		requireKind(t, err, backend.ErrDuplicateEmail, email)
	}
	assert.Equal(t, before, snapshot(t, h.Backend), "failed updates change nothing")

	// Keeping one's own address (in another case) is no conflict.
	u, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	u.Email = "Hans.Huber@ACME.example.org"
	_, err = h.Backend.Update(ctx(t), "hhuber", u)
	require.NoError(t, err)
}

func (s *suite) testUpdateNotFound(t *testing.T) {
	h := s.writable(t, fixture())
	_, err := h.Backend.Update(ctx(t), "nobody", newUser("nobody"))
	requireKind(t, err, backend.ErrNotFound)
	err = h.Backend.SetPassword(ctx(t), "nobody", "password")
	requireKind(t, err, backend.ErrNotFound)
}

func (s *suite) testRename(t *testing.T) {
	h := s.writable(t, fixture())
	u, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	u.Login = "hans.huber"
	renamed, err := h.Backend.Update(ctx(t), "hhuber", u)
	require.NoError(t, err)
	assert.Equal(t, "hans.huber", renamed.Login)

	_, err = h.Backend.Get(ctx(t), "hhuber")
	requireKind(t, err, backend.ErrNotFound, "old login is gone")
	got, err := h.Backend.Get(ctx(t), "HANS.HUBER")
	require.NoError(t, err)
	assertSameUser(t, u, got)

	// Everything keyed by the login moved: password, further customer IDs, search.
	_, err = h.Backend.Authenticate(ctx(t), "hans.huber", pwHans)
	require.NoError(t, err, "password moves with the rename")
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
	requireKind(t, err, backend.ErrInvalidCredentials)
	res, err := h.Backend.Search(ctx(t), backend.Query{CustomerID: "ACME-EU"})
	require.NoError(t, err)
	assert.Equal(t, []string{"hans.huber"}, logins(res))
	res, err = h.Backend.Search(ctx(t), backend.Query{Search: "hhuber"})
	require.NoError(t, err)
	assert.Empty(t, res)
	assert.Len(t, snapshot(t, h.Backend), len(fixture()), "a rename neither adds nor loses users")

	// The old login is free again.
	_, err = h.Backend.Add(ctx(t), newUser("hhuber"), "")
	require.NoError(t, err)
}

func (s *suite) testRenameCaseOnly(t *testing.T) {
	h := s.writable(t, fixture())
	u, err := h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	u.Login = "MMuster"
	_, err = h.Backend.Update(ctx(t), "mmuster", u)
	require.NoError(t, err)
	got, err := h.Backend.Get(ctx(t), "mmuster")
	require.NoError(t, err)
	assert.Equal(t, "MMuster", got.Login, "the new spelling is kept")
	_, err = h.Backend.Authenticate(ctx(t), "MMUSTER", pwMax)
	require.NoError(t, err)
}

func (s *suite) testRenameOntoExisting(t *testing.T) {
	h := s.writable(t, fixture())
	before := snapshot(t, h.Backend)
	u, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	for _, target := range []string{"mmuster", "MMUSTER", "aschmidt"} {
		u.Login = target
		_, err = h.Backend.Update(ctx(t), "hhuber", u)
		requireKind(t, err, backend.ErrDuplicateLogin, target)
	}
	assert.Equal(t, before, snapshot(t, h.Backend), "refused renames change nothing")
}

func (s *suite) testDeactivate(t *testing.T) {
	h := s.writable(t, fixture())
	for _, state := range []backend.ValidState{backend.InvalidTemporarily, backend.Invalid} {
		u, err := h.Backend.Get(ctx(t), "hhuber")
		require.NoError(t, err)
		u.Valid = state
		_, err = h.Backend.Update(ctx(t), "hhuber", u)
		require.NoError(t, err)

		got, err := h.Backend.Get(ctx(t), "hhuber")
		require.NoError(t, err, "a deactivated user is still found for ticket history")
		assert.Equal(t, state, got.Valid)
		res, err := h.Backend.Search(ctx(t), backend.Query{Search: "huber"})
		require.NoError(t, err)
		assert.Empty(t, res, "searches skip users that are not valid")
		res, err = h.Backend.Search(ctx(t), backend.Query{Search: "huber", IncludeInvalid: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"hhuber"}, logins(res))

		_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
		requireKind(t, err, backend.ErrAccountInvalid, state.String())
		_, err = h.Backend.Authenticate(ctx(t), "hhuber", "wrong")
		requireKind(t, err, backend.ErrInvalidCredentials, "a wrong password does not reveal the state")
		assert.NotErrorIs(t, err, backend.ErrAccountInvalid)
	}
	u, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)
	u.Valid = backend.Valid
	_, err = h.Backend.Update(ctx(t), "hhuber", u)
	require.NoError(t, err)
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
	require.NoError(t, err, "reactivated")
}

func (s *suite) testReadOnly(t *testing.T) {
	h := s.open(t, fixture())
	if !h.Caps.ReadOnly {
		t.Skip("backend is writable: the read-only case does not apply")
	}
	before := snapshot(t, h.Backend)
	require.Len(t, before, len(fixture()))
	u, err := h.Backend.Get(ctx(t), "hhuber")
	require.NoError(t, err)

	_, err = h.Backend.Add(ctx(t), newUser("newbie"), "pw")
	requireKind(t, err, backend.ErrReadOnly, "Add")
	_, err = h.Backend.Add(ctx(t), backend.CustomerUser{}, "")
	requireKind(t, err, backend.ErrReadOnly, "Add of an invalid user is refused as a write first")
	changed := u
	changed.City = "Elsewhere"
	_, err = h.Backend.Update(ctx(t), "hhuber", changed)
	requireKind(t, err, backend.ErrReadOnly, "Update")
	changed.Login = "renamed"
	_, err = h.Backend.Update(ctx(t), "hhuber", changed)
	requireKind(t, err, backend.ErrReadOnly, "rename")
	err = h.Backend.SetPassword(ctx(t), "hhuber", "new password")
	requireKind(t, err, backend.ErrReadOnly, "SetPassword")

	assert.Equal(t, before, snapshot(t, h.Backend), "a read-only backend never changes")
	_, err = h.Backend.Authenticate(ctx(t), "hhuber", pwHans)
	require.NoError(t, err, "the old password still works")
}
