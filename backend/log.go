package backend

import "log/slog"

// Logging. Every backend takes a Config.Logger (*slog.Logger; nil means
// slog.Default()) and logs through Logger, so that all of them log the same
// events with the same messages and attributes:
//
//   - every record carries "backend" (the backend's name);
//   - "op" names the operation ("authenticate", "search", ...), "error" the
//     error, "login" the login concerned where there is one;
//   - no record ever holds a password, a hash, a token or a bind password.
//
// The events, by message:
const (
	// LogRehashFailed (Warn): a login succeeded but the upgrade of its weaker
	// or cheaper hash to bcrypt could not be stored; the login still succeeds.
	LogRehashFailed = "customeruser: could not upgrade a password hash after a successful login"
	// LogRehashed (Info): a stored hash was upgraded to bcrypt at a login.
	LogRehashed = "customeruser: password hash upgraded"
	// LogUnavailable (Warn): a server of the backend could not be reached or
	// failed; the call fails with ErrUnavailable or goes to another server.
	LogUnavailable = "customeruser: backend server unavailable"
	// LogIdentityMismatch (Warn): the store returned a row for a lookup that
	// is not the same identity under the identity rule (a looser collation or
	// matching rule); the row was ignored.
	LogIdentityMismatch = "customeruser: store returned a different identity; ignored"
	// LogAmbiguousIdentity (Warn): an existing store holds two records of one
	// identity (possible in a table that predates the rule); the lookup took
	// the record of exactly the spelling asked for or, with none, answered as
	// for an unknown login (and a write refuses it as a duplicate).
	LogAmbiguousIdentity = "customeruser: two stored records share one identity"
)

// Logger gives the logger a backend logs with: l (slog.Default() when nil)
// with the "backend" attribute set to name.
func Logger(l *slog.Logger, name string) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("backend", name)
}
