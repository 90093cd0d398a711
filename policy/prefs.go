package policy

import "context"

// PreferenceStore keeps per-customer-user preferences: the OTRS
// customer_preferences table (user_id, preferences_key, preferences_value),
// keyed by login. The Directory keeps in it what it owns about a user: the
// failed-login count (UserLoginFailed, as Znuny does), the last login
// (UserLastLogin), password-reset tokens (as hashes) and the hashes of the
// last passwords; products keep their own keys (language, theme, ...).
//
// Logins are compared by the identity rule (backend.IdentityKey): a store
// finds the rows of "HHuber" under "hhuber". Implementations are safe for
// concurrent use and honour ctx.
type PreferenceStore interface {
	// Preferences returns every key and value of the user (an empty map when
	// there is none).
	Preferences(ctx context.Context, login string) (map[string]string, error)
	// SetPreference stores value under key, replacing what was there.
	SetPreference(ctx context.Context, login, key, value string) error
	// DeletePreference removes the key (no error when it is absent).
	DeletePreference(ctx context.Context, login, key string) error
	// Increment adds delta to the integer stored under key (a missing or
	// non-numeric value counts as 0) and returns the new value, atomically:
	// concurrent increments, from this process or from others on the same
	// store, are never lost. delta 0 reads; a result below 0 is stored as 0.
	Increment(ctx context.Context, login, key string, delta int) (int, error)
	// LoginsWith returns the logins that hold exactly value under key (the
	// lookup of a password-reset token by its hash).
	LoginsWith(ctx context.Context, key, value string) ([]string, error)
	// Rename moves every preference of oldLogin to newLogin (the keys that
	// newLogin already has are replaced).
	Rename(ctx context.Context, oldLogin, newLogin string) error
}

// MaxPreferenceKeyLen and MaxPreferenceValueLen bound keys and values, in
// characters: the OTRS customer_preferences columns (preferences_key
// VARCHAR(150), preferences_value VARCHAR(250)).
const (
	MaxPreferenceKeyLen   = 150
	MaxPreferenceValueLen = 250
)
