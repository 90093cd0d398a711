package backend

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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
	// MaxPasswordBytes bounds a password given to Authenticate. Stored
	// hashes of the OTRS family (sha2, md5-crypt, ...) may have been made
	// from passwords longer than bcrypt reads, so verification takes up to
	// this many bytes; anything longer is refused (after the usual time).
	MaxPasswordBytes = 4096
	// MaxNewPasswordBytes bounds a password that is written (Add,
	// SetPassword): bcrypt reads 72 bytes and ignores the rest, so a longer
	// password would let in every password sharing its first 72 bytes.
	MaxNewPasswordBytes = 72
	MaxQueryBytes       = 1024 // Query.Login, Query.CustomerID, Query.Email, Query.Search, Query.After
	// MaxCustomerIDs bounds how many customer IDs (the primary one and the
	// further ones) one user may have. They decide which tickets the user
	// sees, so every backend reads them completely or fails.
	MaxCustomerIDs = 1000
	// MaxLimit bounds Query.Limit; page further with Query.After.
	MaxLimit = 10000
	// MaxAttributes bounds the extra mapped fields of one user.
	MaxAttributes = 100
)

// checkText enforces the text rules every stored field obeys: valid UTF-8, no
// NUL or other control characters (tab and, when multiline, newlines allowed),
// no characters that only deceive (identity fields: no format character at
// all; other fields may hold the zero-width joiners that scripts and emoji
// need), at most max runes.
func checkText(field, v string, max int, multiline, identity bool) *ValidationError {
	if len(v) > max*utf8.UTFMax || !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		if !utf8.ValidString(v) {
			return &ValidationError{Field: field, Reason: "not valid UTF-8"}
		}
		return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d characters", max)}
	}
	for _, r := range v {
		if r == 0 {
			return &ValidationError{Field: field, Reason: "contains a NUL byte"}
		}
		if r < utf8.RuneSelf && r >= 0x20 && r != 0x7f {
			continue // printable ASCII: the common case, nothing to look up
		}
		if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			return &ValidationError{Field: field, Reason: "contains a control character"}
		}
		if isDeceptive(r, !identity) {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("contains the invisible or deceptive character U+%04X", r)}
		}
	}
	return nil
}

// CheckText checks a text value the way NormalizeUser checks the field of
// that name: valid UTF-8, no NUL, control or deceptive characters, at most
// max characters. identity selects the stricter rule of logins, emails and
// customer IDs (no format character at all, not even a zero-width joiner).
// It returns a *ValidationError or nil.
func CheckText(field, v string, max int, identity bool) error {
	if err := checkText(field, v, max, false, identity); err != nil {
		return err
	}
	return nil
}

// NormalizeLogin trims the login, checks it (not empty, valid UTF-8, no
// control or deceptive characters, at most MaxLoginLen characters) and gives
// it in Unicode NFC. Every backend calls it on every login it is given.
func NormalizeLogin(login string) (string, error) {
	if err := normalizeIdentity(FieldLogin, &login, MaxLoginLen, true); err != nil {
		return "", err
	}
	return login, nil
}

// normalizeIdentity trims *v, checks it as an identity field and puts it in NFC.
func normalizeIdentity(field string, v *string, max int, required bool) *ValidationError {
	if len(*v) > 4*max*utf8.UTFMax {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d characters", max)}
	}
	s := strings.TrimSpace(*v)
	if s == "" {
		if required {
			return &ValidationError{Field: field, Reason: "required"}
		}
		*v = ""
		return nil
	}
	if err := checkText(field, s, 4*max, false, true); err != nil { // the length is checked in NFC below
		return err
	}
	if n := norm.NFC.String(s); n != s || utf8.RuneCountInString(s) > max {
		if err := checkText(field, n, max, false, true); err != nil {
			return err
		}
		s = n
	}
	*v = s
	return nil
}

// CheckPassword checks a new password, one that is about to be hashed and
// stored: not empty, at most MaxNewPasswordBytes (bcrypt's 72), valid UTF-8,
// no NUL. White space is allowed (a single space is a password); backends
// that cannot store such passwords (LDAP) refuse them themselves.
// Authenticate does not use it: a stored hash is verified as its format
// defines (see CheckLoginPassword).
func CheckPassword(password string) error {
	switch {
	case password == "":
		return &ValidationError{Field: FieldPassword, Reason: "required"}
	case len(password) > MaxNewPasswordBytes:
		return &ValidationError{Field: FieldPassword, Reason: fmt.Sprintf(
			"longer than %d bytes (bcrypt ignores everything after byte %d, so a longer password would not be what protects the account)",
			MaxNewPasswordBytes, MaxNewPasswordBytes)}
	case !utf8.ValidString(password):
		return &ValidationError{Field: FieldPassword, Reason: "not valid UTF-8"}
	case strings.IndexByte(password, 0) >= 0:
		return &ValidationError{Field: FieldPassword, Reason: "contains a NUL byte"}
	}
	return nil
}

// CheckLoginPassword reports whether a password given to Authenticate can be
// verified at all: not empty, at most MaxPasswordBytes, no NUL. A backend
// refuses the others with ErrInvalidCredentials, taking the same time as a
// wrong password (see RefusalTimer).
func CheckLoginPassword(password string) bool {
	return password != "" && len(password) <= MaxPasswordBytes && strings.IndexByte(password, 0) < 0
}

// CheckEmail checks the syntax of an address: local@domain, no white space or
// control characters, no quoted local parts, a domain with at least one dot
// and no empty labels. Non-ASCII (internationalised) addresses are accepted.
func CheckEmail(addr string) error {
	if err := checkEmail(addr); err != nil {
		return err
	}
	return nil
}

func checkEmail(addr string) *ValidationError {
	bad := func(reason string) *ValidationError { return &ValidationError{Field: FieldEmail, Reason: reason} }
	if err := checkText(FieldEmail, addr, MaxEmailLen, false, true); err != nil {
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
// login, email and customer IDs in NFC, further customer IDs de-duplicated
// by the identity rule (and without the primary one), a zero Valid made
// Valid. It checks the required fields (login unless requireLogin is false,
// first name, last name, email, customer ID), the text rules and sizes of
// every field, at most MaxCustomerIDs customer IDs and MaxAttributes
// attributes, and the email syntax for valid users. Source, CreatedAt and
// ChangedAt are cleared: backends set them.
//
// Every invalid field is reported, as ValidationErrors in field order.
//
// For Update, a backend first takes what the caller meant by the fields
// NormalizeUser rewrites: a zero Valid keeps the stored state (set it from
// the stored record before calling), and u.ChangedAt, the optimistic check
// (see CheckUnchanged), is read before it is cleared here.
func NormalizeUser(u CustomerUser, requireLogin bool) (CustomerUser, error) {
	u = u.Clone()
	u.Source, u.CreatedAt, u.ChangedAt = "", time.Time{}, time.Time{}
	var errs ValidationErrors
	add := func(e *ValidationError) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if requireLogin || strings.TrimSpace(u.Login) != "" {
		add(normalizeIdentity(FieldLogin, &u.Login, MaxLoginLen, true))
	} else {
		u.Login = ""
	}
	fields := []struct {
		name     string
		v        *string
		max      int
		required bool
		multi    bool
	}{
		{FieldTitle, &u.Title, MaxTitleLen, false, false},
		{FieldFirstName, &u.FirstName, MaxNameLen, true, false},
		{FieldLastName, &u.LastName, MaxNameLen, true, false},
	}
	more := []struct {
		name     string
		v        *string
		max      int
		required bool
		multi    bool
	}{
		{FieldPhone, &u.Phone, MaxFieldLen, false, false},
		{FieldFax, &u.Fax, MaxFieldLen, false, false},
		{FieldMobile, &u.Mobile, MaxFieldLen, false, false},
		{FieldStreet, &u.Street, MaxFieldLen, false, false},
		{FieldZip, &u.Zip, MaxFieldLen, false, false},
		{FieldCity, &u.City, MaxFieldLen, false, false},
		{FieldCountry, &u.Country, MaxFieldLen, false, false},
		{FieldComment, &u.Comment, MaxFieldLen, false, true},
	}
	text := func(name string, v *string, max int, required, multi bool) {
		if len(*v) > 4*max*utf8.UTFMax {
			add(&ValidationError{Field: name, Reason: fmt.Sprintf("longer than %d characters", max)})
			return
		}
		*v = strings.TrimSpace(*v)
		if *v == "" {
			if required {
				add(&ValidationError{Field: name, Reason: "required"})
			}
			return
		}
		add(checkText(name, *v, max, multi, false))
	}
	for _, f := range fields {
		text(f.name, f.v, f.max, f.required, f.multi)
	}
	if u.Valid == 0 {
		u.Valid = Valid
	}
	if e := normalizeIdentity(FieldEmail, &u.Email, MaxEmailLen, true); e != nil {
		add(e)
	} else if u.Valid == Valid {
		add(checkEmail(u.Email))
	}
	add(normalizeIdentity(FieldCustomerID, &u.CustomerID, MaxCustomerIDLen, true))
	if len(u.CustomerIDs) >= MaxCustomerIDs {
		add(&ValidationError{Field: FieldCustomerIDs, Reason: fmt.Sprintf("more than %d customer IDs in all", MaxCustomerIDs)})
	} else {
		for i := range u.CustomerIDs {
			if e := normalizeIdentity(FieldCustomerIDs, &u.CustomerIDs[i], MaxCustomerIDLen, false); e != nil {
				add(e)
				break
			}
		}
	}
	for _, f := range more {
		text(f.name, f.v, f.max, f.required, f.multi)
	}
	if !u.Valid.IsKnown() {
		add(&ValidationError{Field: FieldValid, Reason: "unknown valid state (want valid, invalid or invalid-temporarily)"})
	}
	if len(u.Attributes) > MaxAttributes {
		add(&ValidationError{Field: FieldAttributes, Reason: fmt.Sprintf("more than %d attributes", MaxAttributes)})
	} else {
		keys := make([]string, 0, len(u.Attributes))
		for k := range u.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.TrimSpace(k) == "" {
				add(&ValidationError{Field: FieldAttributes, Reason: "empty attribute name"})
				break
			}
			if e := checkText(FieldAttributes, k, MaxFieldLen, false, true); e != nil {
				e.Reason = "attribute name: " + e.Reason
				add(e)
				break
			}
			if e := checkText(FieldAttributes, u.Attributes[k], MaxFieldLen, true, false); e != nil {
				e.Reason = fmt.Sprintf("attribute %q: %s", k, e.Reason)
				add(e)
				break
			}
		}
	}
	if len(errs) > 0 {
		return CustomerUser{}, errs
	}
	if all := u.AllCustomerIDs(); len(all) > 1 {
		u.CustomerIDs = all[1:]
	} else {
		u.CustomerIDs = nil
	}
	return u, nil
}

// CheckUnchanged is the optimistic check of Update: ifUnchangedSince is the
// caller's u.ChangedAt (zero: no check) and stored the ChangedAt of the
// stored record. It returns ErrConflict when they differ. Backends compare at
// the precision they store, and make every write move ChangedAt forward, so
// that two writes within one tick of their clock still differ.
func CheckUnchanged(ifUnchangedSince, stored time.Time) error {
	if ifUnchangedSince.IsZero() || ifUnchangedSince.Equal(stored) {
		return nil
	}
	return ErrConflict
}

// CheckQuery checks the criteria of q and parses its search expression. It
// returns the limit to apply: q.Limit, or defaultLimit when q.Limit is 0 (and
// DefaultLimit when defaultLimit is 0 too). A Limit above MaxLimit or below 0
// is a *ValidationError.
func CheckQuery(q Query, defaultLimit int) (SearchExpr, int, error) {
	for _, f := range []struct{ name, v string }{{FieldLogin, q.Login}, {FieldCustomerID, q.CustomerID}, {FieldEmail, q.Email}, {FieldAfter, q.After}} {
		if len(f.v) > MaxQueryBytes {
			return SearchExpr{}, 0, &ValidationError{Field: f.name, Reason: fmt.Sprintf("longer than %d bytes", MaxQueryBytes)}
		}
		if !utf8.ValidString(f.v) {
			return SearchExpr{}, 0, &ValidationError{Field: f.name, Reason: "not valid UTF-8"}
		}
	}
	if q.Limit < 0 {
		return SearchExpr{}, 0, &ValidationError{Field: FieldLimit, Reason: "negative"}
	}
	if q.Limit > MaxLimit {
		return SearchExpr{}, 0, &ValidationError{Field: FieldLimit, Reason: fmt.Sprintf("above the maximum of %d (page with Query.After)", MaxLimit)}
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
	if limit > MaxLimit {
		limit = MaxLimit
	}
	return expr, limit, nil
}

// SortByLogin orders users by CompareLogins, the order of every search result.
func SortByLogin(users []CustomerUser) {
	slices.SortStableFunc(users, func(a, b CustomerUser) int { return CompareLogins(a.Login, b.Login) })
}

// AfterLogin reports whether login comes after the keyset cursor after in
// the order of search results, comparing identity keys (always true when
// after is empty): the filter of Query.After. A login of the same identity
// as the cursor, in any spelling, is not after it.
func AfterLogin(login, after string) bool {
	return after == "" || IdentityKey(login) > IdentityKey(after)
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
