package backend

import "context"

// CustomerUserBackend is a store of customer users. Implementations are safe
// for concurrent use and honour ctx on every call: a cancelled context makes
// the call return promptly with an error wrapping ctx.Err().
//
// Logins are case-insensitive and trimmed everywhere. There is no Delete:
// deactivate with Update and Valid set to Invalid or InvalidTemporarily.
type CustomerUserBackend interface {
	// Name is the backend's configured name; it appears in errors and in
	// CustomerUser.Source.
	Name() string
	// ReadOnly reports whether every write returns ErrReadOnly.
	ReadOnly() bool
	// Get returns the user with this login (any case), valid or not, or ErrNotFound.
	Get(ctx context.Context, login string) (CustomerUser, error)
	// Search returns the users matching q, ordered by lower-cased login.
	Search(ctx context.Context, q Query) ([]CustomerUser, error)
	// Add stores a new user and, when password is not empty, its password hash.
	// It returns the user as stored (with a generated login when auto-login
	// creation is on and u.Login is empty).
	Add(ctx context.Context, u CustomerUser, password string) (CustomerUser, error)
	// Update replaces the mapped fields of the user with this login by those
	// of u. u.Login different from login renames the user.
	Update(ctx context.Context, login string, u CustomerUser) (CustomerUser, error)
	// SetPassword stores a new hash for the user's password.
	SetPassword(ctx context.Context, login, password string) error
	// Authenticate checks the password. Unknown login and wrong password both
	// give ErrInvalidCredentials; a user that is not Valid gets
	// ErrAccountInvalid, but only after the password was right.
	Authenticate(ctx context.Context, login, password string) (CustomerUser, error)
}

// GroupResolver tells which customer groups a user is in.
type GroupResolver interface {
	// Groups returns the groups the customer user is in, each with the permission held.
	Groups(ctx context.Context, u CustomerUser) ([]GroupPermission, error)
}
