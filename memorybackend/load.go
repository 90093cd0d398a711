package memorybackend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// jsonUser is the JSON form of a User. Keys are matched case-insensitively
// by encoding/json, so "FirstName" works as well as "firstName".
type jsonUser struct {
	Login        string            `json:"login"`
	Title        string            `json:"title"`
	FirstName    string            `json:"firstName"`
	LastName     string            `json:"lastName"`
	Email        string            `json:"email"`
	CustomerID   string            `json:"customerID"`
	CustomerIDs  []string          `json:"customerIDs"`
	Phone        string            `json:"phone"`
	Fax          string            `json:"fax"`
	Mobile       string            `json:"mobile"`
	Street       string            `json:"street"`
	Zip          string            `json:"zip"`
	City         string            `json:"city"`
	Country      string            `json:"country"`
	Comment      string            `json:"comment"`
	Valid        json.RawMessage   `json:"valid"`
	Attributes   map[string]string `json:"attributes"`
	CreatedAt    time.Time         `json:"createdAt"`
	ChangedAt    time.Time         `json:"changedAt"`
	Password     string            `json:"password"`
	PasswordHash string            `json:"passwordHash"`
}

// LoadUsersJSON reads users for Config.Users from JSON: an array of objects
// with the keys
//
//	login, title, firstName, lastName, email, customerID, customerIDs (array),
//	phone, fax, mobile, street, zip, city, country, comment,
//	valid ("valid", "invalid", "invalid-temporarily" or 1, 2, 3; default valid),
//	attributes (object of strings), createdAt, changedAt (RFC 3339),
//	password (plain, hashed by New) or passwordHash (a stored hash in any
//	format of the OTRS family).
//
// Keys match case-insensitively; unknown keys are an error. The users are
// only decoded here: New checks them. Errors name the user by position,
// never quote a password.
func LoadUsersJSON(r io.Reader) ([]User, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var in []jsonUser
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("memorybackend: reading users: %w", jsonError(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("memorybackend: reading users: %w", &backend.ValidationError{Field: "Users", Reason: "data after the array"})
	}
	users := make([]User, len(in))
	for i, j := range in {
		v, err := parseValid(j.Valid)
		if err != nil {
			return nil, fmt.Errorf("memorybackend: reading users: user %d: %w", i, err)
		}
		users[i] = User{
			CustomerUser: backend.CustomerUser{
				Login: j.Login, Title: j.Title, FirstName: j.FirstName, LastName: j.LastName,
				Email: j.Email, CustomerID: j.CustomerID, CustomerIDs: j.CustomerIDs,
				Phone: j.Phone, Fax: j.Fax, Mobile: j.Mobile, Street: j.Street, Zip: j.Zip,
				City: j.City, Country: j.Country, Comment: j.Comment, Valid: v,
				Attributes: j.Attributes, CreatedAt: j.CreatedAt, ChangedAt: j.ChangedAt,
			},
			Password:     j.Password,
			PasswordHash: j.PasswordHash,
		}
	}
	return users, nil
}

// jsonError keeps the position and type of a decoding error but drops
// anything that could quote a value (a password) from the input.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return &backend.ValidationError{Field: "Users", Reason: fmt.Sprintf("JSON syntax error at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		return &backend.ValidationError{Field: "Users", Reason: fmt.Sprintf("JSON key %q has the wrong type (want %s)", typ.Field, typ.Type)}
	}
	return err
}

func parseValid(raw json.RawMessage) (backend.ValidState, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, &backend.ValidationError{Field: backend.FieldValid, Reason: "not a string or number"}
		}
	} else {
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return 0, &backend.ValidationError{Field: backend.FieldValid, Reason: "not a string or number"}
		}
		s = strconv.Itoa(n)
	}
	return backend.ParseValidState(s)
}

// LoadFile reads users from a JSON file in the format of LoadUsersJSON.
func LoadFile(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("memorybackend: %w", err)
	}
	defer f.Close()
	return LoadUsersJSON(f)
}
