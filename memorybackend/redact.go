package memorybackend

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Printing never shows a password or a hash. A User prints as its
// CustomerUser (login only) with every fmt verb, marshals to the JSON form
// of LoadUsersJSON without "password" and "passwordHash", and logs through
// slog without them; a Config prints its settings and the number of users.

// String names the user by login (see backend.CustomerUser.String).
func (u User) String() string { return u.CustomerUser.String() }

// GoString is String, for %#v.
func (u User) GoString() string { return "memorybackend.User{" + u.CustomerUser.String() + "}" }

// Format makes every fmt verb print String (or GoString for %#v).
func (u User) Format(f fmt.State, verb rune) { formatRedacted(f, verb, u.String(), u.GoString()) }

// MarshalJSON gives the LoadUsersJSON form without the password and the hash.
func (u User) MarshalJSON() ([]byte, error) {
	c := u.CustomerUser
	valid := ""
	if c.Valid != 0 {
		valid = c.Valid.String()
	}
	return json.Marshal(struct {
		Login       string            `json:"login"`
		Title       string            `json:"title,omitempty"`
		FirstName   string            `json:"firstName"`
		LastName    string            `json:"lastName"`
		Email       string            `json:"email"`
		CustomerID  string            `json:"customerID"`
		CustomerIDs []string          `json:"customerIDs,omitempty"`
		Phone       string            `json:"phone,omitempty"`
		Fax         string            `json:"fax,omitempty"`
		Mobile      string            `json:"mobile,omitempty"`
		Street      string            `json:"street,omitempty"`
		Zip         string            `json:"zip,omitempty"`
		City        string            `json:"city,omitempty"`
		Country     string            `json:"country,omitempty"`
		Comment     string            `json:"comment,omitempty"`
		Valid       string            `json:"valid,omitempty"`
		Attributes  map[string]string `json:"attributes,omitempty"`
	}{c.Login, c.Title, c.FirstName, c.LastName, c.Email, c.CustomerID, c.CustomerIDs, c.Phone, c.Fax, c.Mobile,
		c.Street, c.Zip, c.City, c.Country, c.Comment, valid, c.Attributes})
}

// LogValue logs the login and whether a password is set, nothing more.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login", u.Login),
		slog.Bool("has_password", u.Password != "" || u.PasswordHash != ""))
}

// String gives the settings and the number of users, never their passwords.
func (c Config) String() string {
	return fmt.Sprintf("memorybackend.Config{Name: %q, ReadOnly: %t, MatchPrefix: %t, DefaultLimit: %d, AutoLoginPrefix: %q, AllowDuplicateEmail: %t, Users: %d}",
		c.Name, c.ReadOnly, c.MatchPrefix, c.DefaultLimit, c.AutoLoginPrefix, c.AllowDuplicateEmail, len(c.Users))
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb print String.
func (c Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String(), c.GoString()) }

// MarshalJSON gives the settings and the users without their passwords.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name                string `json:"name"`
		ReadOnly            bool   `json:"readOnly"`
		MatchPrefix         bool   `json:"matchPrefix"`
		DefaultLimit        int    `json:"defaultLimit"`
		AutoLoginPrefix     string `json:"autoLoginPrefix,omitempty"`
		AllowDuplicateEmail bool   `json:"allowDuplicateEmail"`
		Users               []User `json:"users"`
	}{c.Name, c.ReadOnly, c.MatchPrefix, c.DefaultLimit, c.AutoLoginPrefix, c.AllowDuplicateEmail, c.Users})
}

// LogValue logs the settings and the number of users.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.Bool("read_only", c.ReadOnly),
		slog.Bool("match_prefix", c.MatchPrefix), slog.Int("users", len(c.Users)))
}

// formatRedacted prints s (or gs for %#v) for any verb; %q quotes s.
func formatRedacted(f fmt.State, verb rune, s, gs string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, gs)
	case verb == 'q':
		fmt.Fprintf(f, "%q", s)
	default:
		fmt.Fprint(f, s)
	}
}
