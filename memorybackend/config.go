package memorybackend

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// DefaultName is the backend name used when Config.Name is empty.
const DefaultName = "memory"

// Config configures a Backend. The zero value is a usable, writable, empty
// backend named "memory" that matches search words as substrings.
type Config struct {
	// Name appears in errors and in CustomerUser.Source; default "memory".
	Name string
	// ReadOnly makes every write return backend.ErrReadOnly. A read-only
	// backend still holds the users given in Users.
	ReadOnly bool
	// MatchPrefix makes search words match the start of a search field
	// instead of any substring (the index-friendly mode of the SQL and LDAP
	// backends). It also builds a sorted index of the search field values.
	MatchPrefix bool
	// NGramIndex keeps a trigram index of the search field values, so that
	// a search word of three characters or more is answered from the users
	// holding all its trigrams instead of a scan of every user (at a
	// million users: a rare word in a few milliseconds instead of tens).
	// It costs memory (about 220 bytes per user with the default search
	// fields) and a few microseconds per write; the ids of changed users
	// are reclaimed by a rebuild of the index (O(n), about a second at a
	// million users) once there have been about as many updates as users.
	// Off by default.
	NGramIndex bool
	// DefaultLimit caps results when Query.Limit is 0; default 250
	// (backend.DefaultLimit). Negative values are an error.
	DefaultLimit int
	// AutoLoginPrefix turns on auto-login creation: Add with an empty login
	// generates "<prefix>-YYYYMMDDhhmm<n>" with the smallest free n >= 0.
	AutoLoginPrefix string
	// AllowDuplicateEmail lets several customer users share an email address
	// (the OTRS CustomerUserEmailUniqCheck turned off).
	AllowDuplicateEmail bool
	// Users are loaded by New, checked with backend.NormalizeUser; a
	// duplicate login (or email, unless AllowDuplicateEmail) is an error.
	Users []User
	// Hasher hashes new passwords and verifies stored ones. nil means
	// password.Hasher{}: standard "$2a$" bcrypt of cost
	// password.DefaultCost. New copies *Hasher: changing it afterwards
	// changes nothing.
	Hasher *password.Hasher
	// SearchFields are the fields a word of Query.Search is matched against;
	// nil means DefaultSearchFields.
	SearchFields []SearchField
	// Now is the clock for CreatedAt, ChangedAt and auto-logins; nil means
	// time.Now.
	Now func() time.Time
	// Logger receives the backend's events (backend.LogRehashed,
	// backend.LogRehashFailed) with the attributes "backend", "op", "login"
	// and "error"; never a password or hash. nil means slog.Default().
	Logger *slog.Logger
}

// User is a customer user to load at construction, with its password given
// either in plain text (Password, hashed by New with Config.Hasher) or as a
// hash already stored elsewhere (PasswordHash, in any format the OTRS family
// writes: bcrypt, "BCRYPT:cost:salt:hash", sha2, sha1, sha512, md5-crypt,
// apr1, crypt or plain). Both empty: the user has no password and cannot log
// in until SetPassword.
type User struct {
	backend.CustomerUser
	// Password is hashed by New; never stored in clear.
	Password string
	// PasswordHash is stored as it is.
	PasswordHash string
}

// SearchField names a field that words of Query.Search are matched against.
type SearchField string

// The search fields. FieldCustomerID covers the primary customer ID and every
// further one (CustomerUser.CustomerIDs).
const (
	FieldLogin      SearchField = "login"
	FieldTitle      SearchField = "title"
	FieldFirstName  SearchField = "firstname"
	FieldLastName   SearchField = "lastname"
	FieldEmail      SearchField = "email"
	FieldCustomerID SearchField = "customerid"
	FieldPhone      SearchField = "phone"
	FieldFax        SearchField = "fax"
	FieldMobile     SearchField = "mobile"
	FieldStreet     SearchField = "street"
	FieldZip        SearchField = "zip"
	FieldCity       SearchField = "city"
	FieldCountry    SearchField = "country"
	FieldComment    SearchField = "comment"
)

// attributePrefix marks a search field that is an entry of CustomerUser.Attributes.
const attributePrefix = "attribute:"

// AttributeField is the search field for the extra attribute name.
func AttributeField(name string) SearchField { return SearchField(attributePrefix + name) }

// DefaultSearchFields are the fields searched when Config.SearchFields is nil:
// login, first name, last name, customer IDs and email. When both the first
// and the last name are search fields, "FirstName LastName" is searched as
// one more field, so that the phrase "maria meier" finds Maria Meier.
var DefaultSearchFields = []SearchField{FieldLogin, FieldFirstName, FieldLastName, FieldCustomerID, FieldEmail}

// fieldFunc appends the values of one search field of u to dst.
type fieldFunc func(u *backend.CustomerUser, dst []string) []string

func stringField(get func(u *backend.CustomerUser) string) fieldFunc {
	return func(u *backend.CustomerUser, dst []string) []string { return append(dst, get(u)) }
}

var fieldFuncs = map[SearchField]fieldFunc{
	FieldLogin:     stringField(func(u *backend.CustomerUser) string { return u.Login }),
	FieldTitle:     stringField(func(u *backend.CustomerUser) string { return u.Title }),
	FieldFirstName: stringField(func(u *backend.CustomerUser) string { return u.FirstName }),
	FieldLastName:  stringField(func(u *backend.CustomerUser) string { return u.LastName }),
	FieldEmail:     stringField(func(u *backend.CustomerUser) string { return u.Email }),
	FieldCustomerID: func(u *backend.CustomerUser, dst []string) []string {
		// NormalizeUser already de-duplicated the further IDs against the primary.
		dst = append(dst, u.CustomerID)
		return append(dst, u.CustomerIDs...)
	},
	FieldPhone:   stringField(func(u *backend.CustomerUser) string { return u.Phone }),
	FieldFax:     stringField(func(u *backend.CustomerUser) string { return u.Fax }),
	FieldMobile:  stringField(func(u *backend.CustomerUser) string { return u.Mobile }),
	FieldStreet:  stringField(func(u *backend.CustomerUser) string { return u.Street }),
	FieldZip:     stringField(func(u *backend.CustomerUser) string { return u.Zip }),
	FieldCity:    stringField(func(u *backend.CustomerUser) string { return u.City }),
	FieldCountry: stringField(func(u *backend.CustomerUser) string { return u.Country }),
	FieldComment: stringField(func(u *backend.CustomerUser) string { return u.Comment }),
}

// fullNameField is the extra search field "FirstName LastName".
func fullNameField(u *backend.CustomerUser, dst []string) []string {
	return append(dst, u.FirstName+" "+u.LastName)
}

// settings is a Config checked and completed with defaults.
type settings struct {
	name         string
	readOnly     bool
	prefix       bool
	ngram        bool
	defaultLimit int
	autoPrefix   string
	dupEmail     bool
	hasher       password.Hasher
	fields       []fieldFunc
	now          func() time.Time
	log          *slog.Logger
}

// settings checks c and reports every problem at once, as
// backend.ConfigError.
func (c Config) settings() (settings, error) {
	s := settings{
		name:         strings.TrimSpace(c.Name),
		readOnly:     c.ReadOnly,
		prefix:       c.MatchPrefix,
		ngram:        c.NGramIndex,
		defaultLimit: c.DefaultLimit,
		autoPrefix:   strings.TrimSpace(c.AutoLoginPrefix),
		dupEmail:     c.AllowDuplicateEmail,
		now:          c.Now,
	}
	if s.name == "" {
		s.name = DefaultName
	}
	if c.Hasher != nil {
		s.hasher = *c.Hasher
	}
	var problems []*backend.ValidationError
	bad := func(field, reason string) {
		problems = append(problems, &backend.ValidationError{Field: "Config." + field, Reason: reason})
	}
	switch {
	case s.defaultLimit < 0:
		bad("DefaultLimit", "negative")
	case s.defaultLimit > backend.MaxLimit:
		bad("DefaultLimit", fmt.Sprintf("above backend.MaxLimit (%d)", backend.MaxLimit))
	case s.defaultLimit == 0:
		s.defaultLimit = backend.DefaultLimit
	}
	if err := s.hasher.Check(); err != nil {
		var ve *backend.ValidationError
		if errors.As(err, &ve) {
			bad(ve.Field, ve.Reason)
		} else {
			bad("Hasher", err.Error())
		}
	}
	if s.autoPrefix != "" {
		// The longest candidate must still be a valid login.
		sample := backend.AutoLogin(s.autoPrefix, time.Date(2006, 1, 2, 15, 4, 0, 0, time.UTC), 1_000_000)
		if n, err := backend.NormalizeLogin(sample); err != nil || n != sample {
			bad("AutoLoginPrefix", "does not give valid logins")
		}
	}
	fields := c.SearchFields
	if fields == nil {
		fields = DefaultSearchFields
	}
	if len(fields) == 0 {
		bad("SearchFields", "empty (nil means the default fields)")
	}
	seen := make(map[SearchField]bool, len(fields))
	for _, f := range fields {
		if seen[f] {
			bad("SearchFields", fmt.Sprintf("field %q given twice", string(f)))
			continue
		}
		seen[f] = true
		if fn, ok := fieldFuncs[f]; ok {
			s.fields = append(s.fields, fn)
			continue
		}
		name, ok := strings.CutPrefix(string(f), attributePrefix)
		if !ok || name == "" {
			bad("SearchFields", fmt.Sprintf("unknown field %q", string(f)))
			continue
		}
		s.fields = append(s.fields, func(u *backend.CustomerUser, dst []string) []string {
			return append(dst, u.Attributes[name])
		})
	}
	if seen[FieldFirstName] && seen[FieldLastName] {
		s.fields = append(s.fields, fullNameField)
	}
	if len(problems) > 0 {
		return settings{}, backend.ConfigError(s.name, problems...)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.log = backend.Logger(c.Logger, s.name)
	return s, nil
}
