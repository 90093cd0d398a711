package backendtest

import (
	"encoding/hex"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// The fixture: two companies (ACME with three users, one of them also in
// ACME-EU; MUSTER), users that are invalid or invalid-temporarily, users whose
// names hold SQL LIKE and LDAP filter characters, and non-ASCII users.
const (
	pwHans = "Hans-Secret-1"
	pwMax  = "max password 2"
	pwAnna = "anna-3"
	pwTom  = "tom-4"
)

func user(login, first, last, email, customerID string) backend.CustomerUser {
	return backend.CustomerUser{
		Login: login, FirstName: first, LastName: last, Email: email, CustomerID: customerID,
		Valid: backend.Valid,
	}
}

// fixture returns the standard seed; every case that reads starts from it.
func fixture() []Seed {
	hans := user("hhuber", "Hans", "Huber", "hans.huber@acme.example.org", "ACME")
	hans.CustomerIDs = []string{"ACME-EU"}
	hans.Title = "Dr."
	hans.Phone = "+49 89 1234"
	hans.Fax = "+49 89 1235"
	hans.Mobile = "+49 170 1234"
	hans.Street = "Hauptstraße 1"
	hans.Zip = "80331"
	hans.City = "München"
	hans.Country = "Germany"
	hans.Comment = "key account"

	meier := user("hans.meier", "Hans", "Meier", "hmeier@acme.example.org", "ACME")
	maxm := user("mmuster", "Max", "Mustermann", "max@muster.example.net", "MUSTER")
	berg := user("vdberg", "Jan", "van der Berg", "jan@berg.example.nl", "BERG")
	anna := user("aschmidt", "Anna", "Schmidt", "anna@schmidt.example.com", "SCHMIDT")
	anna.Valid = backend.Invalid
	tom := user("ttemp", "Tom", "Temp", "tom@temp.example.com", "TEMP")
	tom.Valid = backend.InvalidTemporarily
	pct := user("pct", "Per%cent", "Under_score", "pct@chars.example.com", "C%_\\")
	meta := user("meta", "Paren(", "Star)", "meta@chars.example.com", "META")
	jurgen := user("jürgen", "Jürgen", "Müller", "juergen@mueller.example.de", "MÜLLER-AG")
	kana := user("カス", "タロウ", "ヤマダ", "yamada@kana.example.jp", "KANA")

	return []Seed{
		{User: hans, Password: pwHans},
		{User: meier},
		{User: maxm, Password: pwMax},
		{User: berg},
		{User: anna, Password: pwAnna},
		{User: tom, Password: pwTom},
		{User: pct},
		{User: meta},
		{User: jurgen},
		{User: kana},
	}
}

// seedUser finds a fixture user by login.
func seedUser(login string) backend.CustomerUser {
	for _, s := range fixture() {
		if strings.EqualFold(s.User.Login, login) {
			return s.User
		}
	}
	panic("backendtest: no fixture user " + login)
}

// validFixtureLogins lists, ordered as searches return them, the fixture's valid users.
func validFixtureLogins() []string {
	var out []string
	for _, s := range fixture() {
		if s.User.Valid == backend.Valid {
			out = append(out, s.User.Login)
		}
	}
	sortLogins(out)
	return out
}

func sortLogins(ls []string) {
	users := make([]backend.CustomerUser, len(ls))
	for i, l := range ls {
		users[i].Login = l
	}
	backend.SortByLogin(users)
	for i, u := range users {
		ls[i] = u.Login
	}
}

// newUser is a valid user that is not in the fixture; its email is derived
// from the login's bytes, so different logins never share an address.
func newUser(login string) backend.CustomerUser {
	return user(login, "New", "Person", "u"+hex.EncodeToString([]byte(login))+"@new.example.org", "NEWCO")
}
