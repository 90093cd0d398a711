package backend

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Backends wrap them with %w together with the backend name
// and the operation; test with errors.Is.
var (
	ErrNotFound           = errors.New("customer user not found")
	ErrReadOnly           = errors.New("backend is read-only")
	ErrDuplicateLogin     = errors.New("login already exists")
	ErrDuplicateEmail     = errors.New("email address already in use by another customer user")
	ErrInvalidCredentials = errors.New("invalid login or password")
	ErrAccountInvalid     = errors.New("customer user account is not valid")
	ErrUnavailable        = errors.New("backend unavailable")
	ErrDeletionForbidden  = errors.New("customer users are never deleted: set them invalid instead")
	ErrInvalidInput       = errors.New("invalid input")
	// ErrConflict is returned by Update when u.ChangedAt is set and the
	// stored record changed since then (someone else saved it first): the
	// caller reads the user again and reapplies its change, like an HTTP
	// If-Match that failed.
	ErrConflict = errors.New("customer user was changed by someone else since it was read")
)

// Field names used in *ValidationError.Field: the Go names of the fields of
// CustomerUser and Query, plus Password and the names of configuration
// fields (which backends give as "Config.<Field>"). They are stable: a form
// maps them to its inputs.
const (
	FieldLogin       = "Login"
	FieldTitle       = "Title"
	FieldFirstName   = "FirstName"
	FieldLastName    = "LastName"
	FieldEmail       = "Email"
	FieldCustomerID  = "CustomerID"
	FieldCustomerIDs = "CustomerIDs"
	FieldPhone       = "Phone"
	FieldFax         = "Fax"
	FieldMobile      = "Mobile"
	FieldStreet      = "Street"
	FieldZip         = "Zip"
	FieldCity        = "City"
	FieldCountry     = "Country"
	FieldComment     = "Comment"
	FieldValid       = "Valid"
	FieldAttributes  = "Attributes"
	FieldPassword    = "Password"
	FieldSearch      = "Search"
	FieldLimit       = "Limit"
	FieldAfter       = "After"
)

// ValidationError says which input was refused and why. It never quotes the
// value, which may be a password or megabytes long. Field is a stable name
// (one of the Field constants, or "Config.<Field>" for configurations).
// errors.Is(err, ErrInvalidInput) is true for every *ValidationError.
type ValidationError struct {
	Field  string
	Reason string
}

// Error gives "invalid <field>: <reason>".
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid input: " + e.Reason
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// ValidationErrors lists every invalid field of one record, in field order,
// so that a form can mark all of them at once. NormalizeUser returns it (also
// for a single invalid field). errors.As finds it, and errors.As with a
// *ValidationError target finds its first element; errors.Is(err,
// ErrInvalidInput) is true.
type ValidationErrors []*ValidationError

// Error joins the fields' messages with "; ".
func (es ValidationErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap gives the single errors, for errors.Is and errors.As.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (es ValidationErrors) Is(target error) bool { return target == ErrInvalidInput }

// Fields gives the names of the invalid fields, in order.
func (es ValidationErrors) Fields() []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Field
	}
	return out
}

// Reason gives the reason for field, or "" when that field is valid.
func (es ValidationErrors) Reason(field string) string {
	for _, e := range es {
		if e.Field == field {
			return e.Reason
		}
	}
	return ""
}

// AccountInvalidError is the error of an Authenticate whose password was
// right for a user that is not Valid. It carries the state, so that a portal
// can tell "account disabled" from "temporarily locked";
// errors.Is(err, ErrAccountInvalid) is true.
type AccountInvalidError struct {
	State ValidState
}

// Error gives "customer user account is not valid (invalid-temporarily)".
func (e *AccountInvalidError) Error() string {
	return fmt.Sprintf("%s (%s)", ErrAccountInvalid.Error(), e.State)
}

// Is makes errors.Is(err, ErrAccountInvalid) true.
func (e *AccountInvalidError) Is(target error) bool { return target == ErrAccountInvalid }

// OpError wraps an error with the backend name and operation, the form every
// backend's errors take: "customeruser <backend>: <op>: <err>".
func OpError(backendName, op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("customeruser %s: %s: %w", backendName, op, err)
}

// ConfigError is the form of every backend's configuration errors:
// "customeruser <backend>: config: <problems>", matching
// errors.Is(err, ErrInvalidInput). Each problem is a *ValidationError whose
// Field names the configuration field ("Config.BaseDN").
func ConfigError(backendName string, problems ...*ValidationError) error {
	if len(problems) == 0 {
		return nil
	}
	if backendName == "" {
		backendName = "(unnamed)"
	}
	return OpError(backendName, "config", ValidationErrors(problems))
}
