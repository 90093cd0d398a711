package backend

import (
	"errors"
	"fmt"
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
)

// ValidationError says which input was refused and why. It never quotes the
// value, which may be a password or megabytes long. errors.Is(err,
// ErrInvalidInput) is true for every *ValidationError.
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

// OpError wraps an error with the backend name and operation, the form every
// backend's errors take: "customeruser <backend>: <op>: <err>".
func OpError(backendName, op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("customeruser %s: %s: %w", backendName, op, err)
}
