package memorybackend

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend/password"
)

// Printing. A User carries a plain password or a hash and a Config carries
// Users, so both print without them on every path a program may print them
// by: fmt's verbs (String, GoString), encoding/json (MarshalJSON) and
// log/slog (LogValue). Only whether a password is set shows.

// redacted stands in for a secret that is set.
const redacted = "[redacted]"

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// String names the user by login only, like backend.CustomerUser.String.
func (u User) String() string { return u.CustomerUser.String() }

// GoString is %#v: every field of the CustomerUser, the password and the
// hash replaced by "[redacted]" when set.
func (u User) GoString() string {
	return fmt.Sprintf("memorybackend.User{CustomerUser:%#v, Password:%q, PasswordHash:%q}",
		u.CustomerUser, redact(u.Password), redact(u.PasswordHash))
}

// MarshalJSON writes the user in the format LoadUsersJSON reads, without
// "password" and "passwordHash": loading the output back gives the user
// without a password.
func (u User) MarshalJSON() ([]byte, error) {
	j := jsonUserOut{
		Login: u.Login, Title: u.Title, FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, CustomerID: u.CustomerID, CustomerIDs: u.CustomerIDs,
		Phone: u.Phone, Fax: u.Fax, Mobile: u.Mobile, Street: u.Street, Zip: u.Zip,
		City: u.City, Country: u.Country, Comment: u.Comment,
		Attributes: u.Attributes, CreatedAt: u.CreatedAt, ChangedAt: u.ChangedAt,
	}
	if u.Valid != 0 {
		j.Valid = u.Valid.String()
	}
	return json.Marshal(j)
}

// jsonUserOut is the form MarshalJSON writes: jsonUser without the secrets.
type jsonUserOut struct {
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
	CreatedAt   time.Time         `json:"createdAt,omitzero"`
	ChangedAt   time.Time         `json:"changedAt,omitzero"`
}

// LogValue gives the login, the valid state and whether a password or a
// hash is set.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("login", u.Login),
		slog.String("valid", u.Valid.String()),
		slog.Bool("password_set", u.Password != "" || u.PasswordHash != ""),
	)
}

// plainConfig is Config without its methods, for printing its fields.
type plainConfig Config

// String gives the settings and the users by login only.
func (c Config) String() string {
	return "memorybackend.Config" + strings.TrimPrefix(fmt.Sprintf("%+v", plainConfig(c)), "memorybackend.plainConfig")
}

// GoString is %#v: every field, each user as User.GoString prints it.
func (c Config) GoString() string {
	return "memorybackend.Config" + strings.TrimPrefix(fmt.Sprintf("%#v", plainConfig(c)), "memorybackend.plainConfig")
}

// MarshalJSON writes the settings and the users (as User.MarshalJSON
// writes them, without passwords); Now and Logger are left out.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name                string           `json:"name,omitempty"`
		ReadOnly            bool             `json:"readOnly,omitempty"`
		MatchPrefix         bool             `json:"matchPrefix,omitempty"`
		DefaultLimit        int              `json:"defaultLimit,omitempty"`
		AutoLoginPrefix     string           `json:"autoLoginPrefix,omitempty"`
		AllowDuplicateEmail bool             `json:"allowDuplicateEmail,omitempty"`
		Users               []User           `json:"users,omitempty"`
		Hasher              *password.Hasher `json:"hasher,omitempty"`
		SearchFields        []SearchField    `json:"searchFields,omitempty"`
	}{c.Name, c.ReadOnly, c.MatchPrefix, c.DefaultLimit, c.AutoLoginPrefix, c.AllowDuplicateEmail,
		c.Users, c.Hasher, c.SearchFields})
}

// LogValue gives the settings and the number of users, never the users.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("name", c.Name),
		slog.Bool("read_only", c.ReadOnly),
		slog.Bool("match_prefix", c.MatchPrefix),
		slog.Int("users", len(c.Users)),
	}
	if c.Hasher != nil {
		attrs = append(attrs, slog.Int("bcrypt_cost", c.Hasher.Cost), slog.String("hash_format", c.Hasher.Format.String()))
	}
	return slog.GroupValue(attrs...)
}
