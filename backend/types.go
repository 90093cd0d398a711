package backend

import (
	"fmt"
	"strings"
	"time"
)

// ValidState is the validity of a customer user, with the ids the OTRS family
// stores in valid_id.
type ValidState int

// The valid states. Only Valid users may log in; the others are kept for
// ticket history.
const (
	Valid              ValidState = 1
	Invalid            ValidState = 2
	InvalidTemporarily ValidState = 3
)

// String gives "valid", "invalid" or "invalid-temporarily".
func (v ValidState) String() string {
	switch v {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	case InvalidTemporarily:
		return "invalid-temporarily"
	}
	return fmt.Sprintf("ValidState(%d)", int(v))
}

// IsKnown reports whether v is one of the three defined states.
func (v ValidState) IsKnown() bool { return v >= Valid && v <= InvalidTemporarily }

// ParseValidState parses "valid", "invalid" or "invalid-temporarily" (case-insensitive,
// surrounding white space ignored) or the numeric ids "1", "2", "3".
func ParseValidState(s string) (ValidState, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "valid", "1":
		return Valid, nil
	case "invalid", "2":
		return Invalid, nil
	case "invalid-temporarily", "3":
		return InvalidTemporarily, nil
	}
	return 0, &ValidationError{Field: FieldValid, Reason: "unknown valid state (want valid, invalid or invalid-temporarily)"}
}

// CustomerUser is one customer account. It carries no password: a hash never
// leaves a backend.
type CustomerUser struct {
	Login       string
	Title       string
	FirstName   string
	LastName    string
	Email       string
	CustomerID  string   // the primary customer ("Customer#")
	CustomerIDs []string // further customers the user belongs to
	Phone       string
	Fax         string
	Mobile      string
	Street      string
	Zip         string
	City        string
	Country     string
	Comment     string
	Valid       ValidState
	// Attributes holds extra mapped fields of a backend (keys are the backend's
	// names for them).
	Attributes map[string]string
	// Source is the name of the backend the user was read from; set on read,
	// ignored on write.
	Source    string
	CreatedAt time.Time
	ChangedAt time.Time
}

// FullName joins title, first and last name with single spaces, skipping empty parts.
func (u CustomerUser) FullName() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{u.Title, u.FirstName, u.LastName} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// AllCustomerIDs gives the primary customer ID first, then the further ones,
// without empty values and without duplicates by the identity rule (the
// first spelling wins).
func (u CustomerUser) AllCustomerIDs() []string {
	out := make([]string, 0, 1+len(u.CustomerIDs))
	seen := make(map[string]struct{}, 1+len(u.CustomerIDs))
	add := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" {
			return
		}
		k := IdentityKey(id)
		if _, dup := seen[k]; dup {
			return
		}
		seen[k] = struct{}{}
		out = append(out, id)
	}
	add(u.CustomerID)
	for _, id := range u.CustomerIDs {
		add(id)
	}
	return out
}

// Clone returns a deep copy (slices and maps are not shared).
func (u CustomerUser) Clone() CustomerUser {
	if u.CustomerIDs != nil {
		u.CustomerIDs = append([]string(nil), u.CustomerIDs...)
	}
	if u.Attributes != nil {
		m := make(map[string]string, len(u.Attributes))
		for k, v := range u.Attributes {
			m[k] = v
		}
		u.Attributes = m
	}
	return u
}

// String names the user by login and source only, never more, so that a
// CustomerUser can be logged safely.
func (u CustomerUser) String() string {
	if u.Source == "" {
		return fmt.Sprintf("CustomerUser(%q)", u.Login)
	}
	return fmt.Sprintf("CustomerUser(%q from %q)", u.Login, u.Source)
}

// DefaultLimit is the number of results a search returns when Query.Limit is 0
// and the backend has no other default (the OTRS CustomerUserSearchListLimit).
const DefaultLimit = 250

// Query selects customer users. All given criteria are ANDed; an empty query
// lists users up to the limit. Results are ordered by login (CompareLogins).
type Query struct {
	// Search is an expression of the search language (see ParseSearch); its
	// words match case- and accent-insensitively (SearchFold).
	Search string
	// Login matches by the identity rule (IdentityKey), unless it contains
	// '*', which is a wildcard (then the pieces match case-insensitively).
	Login string
	// CustomerID matches the primary or any further customer ID by the
	// identity rule, unless it contains '*', which is a wildcard.
	CustomerID string
	// Email matches by the identity rule (the postmaster lookup of incoming
	// mail); '*' is a literal here.
	Email string
	// IncludeInvalid also returns users that are not Valid.
	IncludeInvalid bool
	// Limit caps the results; 0 means the backend's default (250). A negative
	// value or one above MaxLimit is a *ValidationError.
	Limit int
	// After is a keyset cursor: only users whose login comes after this one
	// in result order are returned (AfterLogin). Give the last login of a
	// page to get the next page; the cursor need not exist any more.
	After string
}

// Permission keys of the OTRS family. Other keys (create, move_into, owner,
// priority, ...) are free-form strings.
const (
	PermRO = "ro"
	PermRW = "rw"
)

// GroupPermission is one group a customer user is in, with the permission key
// held. A request for key K is met by a membership with K or with "rw".
type GroupPermission struct {
	Group      string
	Permission string
}

// Satisfies reports whether this membership meets a request for key want:
// the same key, or "rw", which implies every key.
func (g GroupPermission) Satisfies(want string) bool {
	return g.Permission == want || g.Permission == PermRW
}
