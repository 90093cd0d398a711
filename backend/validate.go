package backend

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field size limits, in characters (runes), taken from the OTRS customer_user
// schema so that what one backend accepts fits every other.
const (
	MaxLoginLen      = 191
	MaxEmailLen      = 150
	MaxCustomerIDLen = 150
	MaxNameLen       = 100 // first and last name
	MaxTitleLen      = 50
	MaxFieldLen      = 250 // phone, street, comment, attributes, ...
	MaxPasswordBytes = 4096
	MaxQueryBytes    = 1024 // Query.Login, Query.CustomerID, Query.Email, Query.Search
)

// LoginKey is the form logins are compared in: trimmed and lower-cased.
func LoginKey(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// FoldKey is the case-insensitive comparison form of emails and customer IDs.
func FoldKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkText enforces the text rules every stored field obeys: valid UTF-8, no
// NUL or other control characters (tab and, when multiline, newlines allowed),
// at most max runes.
func checkText(field, v string, max int, multiline bool) error {
	if !utf8.ValidString(v) {
		return &ValidationError{Field: field, Reason: "not valid UTF-8"}
	}
	if len(v) > max*utf8.UTFMax || utf8.RuneCountInString(v) > max {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d characters", max)}
	}
	for _, r := range v {
		if r == 0 {
			return &ValidationError{Field: field, Reason: "contains a NUL byte"}
		}
		if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			return &ValidationError{Field: field, Reason: "contains a control character"}
		}
	}
	return nil
}

// NormalizeLogin trims the login and checks it: not empty, valid UTF-8, no
// control characters, at most MaxLoginLen characters. Every backend calls it
// on every login it is given.
func NormalizeLogin(login string) (string, error) {
	if len(login) > 4*MaxLoginLen*utf8.UTFMax {
		return "", &ValidationError{Field: "login", Reason: fmt.Sprintf("longer than %d characters", MaxLoginLen)}
	}
	login = strings.TrimSpace(login)
	if login == "" {
		return "", &ValidationError{Field: "login", Reason: "required"}
	}
	if err := checkText("login", login, MaxLoginLen, false); err != nil {
		return "", err
	}
	return login, nil
}

// CheckPassword checks a new password: not empty, at most MaxPasswordBytes,
// valid UTF-8, no NUL. White space is allowed (a single space is a password);
// backends that cannot store such passwords (LDAP) refuse them themselves.
func CheckPassword(password string) error {
	switch {
	case password == "":
		return &ValidationError{Field: "password", Reason: "required"}
	case len(password) > MaxPasswordBytes:
		return &ValidationError{Field: "password", Reason: fmt.Sprintf("longer than %d bytes", MaxPasswordBytes)}
	case !utf8.ValidString(password):
		return &ValidationError{Field: "password", Reason: "not valid UTF-8"}
	case strings.IndexByte(password, 0) >= 0:
		return &ValidationError{Field: "password", Reason: "contains a NUL byte"}
	}
	return nil
}

// CheckEmail checks the syntax of an address: local@domain, no white space or
// control characters, no quoted local parts, a domain with at least one dot
// and no empty labels. Non-ASCII (internationalised) addresses are accepted.
func CheckEmail(addr string) error {
	bad := func(reason string) error { return &ValidationError{Field: "email", Reason: reason} }
	if err := checkText("email", addr, MaxEmailLen, false); err != nil {
		return err
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return bad("not an email address (want local@domain)")
	}
	local, domain := addr[:at], addr[at+1:]
	if len(local) > 64 {
		return bad("local part longer than 64 bytes")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return bad("misplaced dot in the local part")
	}
	for _, r := range local {
		if r < utf8.RuneSelf && !(isAlnum(r) || strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r)) {
			return bad(fmt.Sprintf("character %q not allowed in the local part", r))
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad("domain has no dot")
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return bad("malformed domain")
		}
		for _, r := range l {
			if r < utf8.RuneSelf && !(isAlnum(r) || r == '-') {
				return bad(fmt.Sprintf("character %q not allowed in the domain", r))
			}
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// NormalizeUser returns u cleaned and checked for storing: fields trimmed,
// further customer IDs trimmed and de-duplicated (case-insensitively, and
// without the primary one), a zero Valid made Valid. It checks the required
// fields (login unless requireLogin is false, first name, last name, email,
// customer ID), the text rules and sizes of every field, and the email syntax
// for valid users. Source, CreatedAt and ChangedAt are cleared: backends set them.
func NormalizeUser(u CustomerUser, requireLogin bool) (CustomerUser, error) {
	u = u.Clone()
	u.Source, u.CreatedAt, u.ChangedAt = "", time.Time{}, time.Time{}
	if requireLogin || strings.TrimSpace(u.Login) != "" {
		l, err := NormalizeLogin(u.Login)
		if err != nil {
			return CustomerUser{}, err
		}
		u.Login = l
	} else {
		u.Login = ""
	}
	if u.Valid == 0 {
		u.Valid = Valid
	}
	if !u.Valid.IsKnown() {
		return CustomerUser{}, &ValidationError{Field: "valid", Reason: "unknown valid state"}
	}
	fields := []struct {
		name     string
		v        *string
		max      int
		required bool
		multi    bool
	}{
		{"first name", &u.FirstName, MaxNameLen, true, false},
		{"last name", &u.LastName, MaxNameLen, true, false},
		{"email", &u.Email, MaxEmailLen, true, false},
		{"customer ID", &u.CustomerID, MaxCustomerIDLen, true, false},
		{"title", &u.Title, MaxTitleLen, false, false},
		{"phone", &u.Phone, MaxFieldLen, false, false},
		{"fax", &u.Fax, MaxFieldLen, false, false},
		{"mobile", &u.Mobile, MaxFieldLen, false, false},
		{"street", &u.Street, MaxFieldLen, false, false},
		{"zip", &u.Zip, MaxFieldLen, false, false},
		{"city", &u.City, MaxFieldLen, false, false},
		{"country", &u.Country, MaxFieldLen, false, false},
		{"comment", &u.Comment, MaxFieldLen, false, true},
	}
	for _, f := range fields {
		if len(*f.v) > 4*f.max*utf8.UTFMax {
			return CustomerUser{}, &ValidationError{Field: f.name, Reason: fmt.Sprintf("longer than %d characters", f.max)}
		}
		*f.v = strings.TrimSpace(*f.v)
		if *f.v == "" {
			if f.required {
				return CustomerUser{}, &ValidationError{Field: f.name, Reason: "required"}
			}
			continue
		}
		if err := checkText(f.name, *f.v, f.max, f.multi); err != nil {
			return CustomerUser{}, err
		}
	}
	if u.Valid == Valid {
		if err := CheckEmail(u.Email); err != nil {
			return CustomerUser{}, err
		}
	}
	for _, id := range u.CustomerIDs {
		if err := checkText("customer IDs", strings.TrimSpace(id), MaxCustomerIDLen, false); err != nil {
			return CustomerUser{}, err
		}
	}
	if all := u.AllCustomerIDs(); len(all) > 1 {
		u.CustomerIDs = all[1:]
	} else {
		u.CustomerIDs = nil
	}
	for k, v := range u.Attributes {
		if strings.TrimSpace(k) == "" {
			return CustomerUser{}, &ValidationError{Field: "attributes", Reason: "empty attribute name"}
		}
		if err := checkText("attribute name", k, MaxFieldLen, false); err != nil {
			return CustomerUser{}, err
		}
		if err := checkText("attribute "+k, v, MaxFieldLen, true); err != nil {
			return CustomerUser{}, err
		}
	}
	return u, nil
}

// CheckQuery checks the criteria of q and parses its search expression. It
// returns the limit to apply: q.Limit, or defaultLimit when q.Limit is 0 (and
// DefaultLimit when defaultLimit is 0 too).
func CheckQuery(q Query, defaultLimit int) (SearchExpr, int, error) {
	for _, f := range []struct{ name, v string }{{"login", q.Login}, {"customer ID", q.CustomerID}, {"email", q.Email}} {
		if len(f.v) > MaxQueryBytes {
			return SearchExpr{}, 0, &ValidationError{Field: f.name, Reason: fmt.Sprintf("longer than %d bytes", MaxQueryBytes)}
		}
		if !utf8.ValidString(f.v) {
			return SearchExpr{}, 0, &ValidationError{Field: f.name, Reason: "not valid UTF-8"}
		}
	}
	if q.Limit < 0 {
		return SearchExpr{}, 0, &ValidationError{Field: "limit", Reason: "negative"}
	}
	expr, err := ParseSearch(q.Search)
	if err != nil {
		return SearchExpr{}, 0, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	return expr, limit, nil
}

// SortByLogin orders users by lower-cased login, the order of every search result.
func SortByLogin(users []CustomerUser) {
	sort.Slice(users, func(i, j int) bool { return LoginKey(users[i].Login) < LoginKey(users[j].Login) })
}

// AutoLogin gives the n-th candidate for a generated login:
// "<prefix>-YYYYMMDDhhmm<n>", as the OTRS family's AutoLoginCreation makes
// them. Backends try n = 0, 1, ... until one is free.
func AutoLogin(prefix string, now time.Time, n int) string {
	if prefix == "" {
		prefix = "auto"
	}
	return fmt.Sprintf("%s-%s%d", prefix, now.Format("200601021504"), n)
}
