// Package policy combines customer-user backends into one Directory and adds
// what a helpdesk needs on top of them: no deletion, safe logins, lockout,
// self-service (password change and reset, preferences), a password policy
// and events for an audit trail.
//
// # Several backends as one
//
// A Directory is built over an ordered list of backends, like OTRS's
// CustomerUser, CustomerUser1, ... CustomerUser10, and is itself a
// backend.CustomerUserBackend (it passes backendtest), so a product uses it
// wherever one backend fits:
//
//   - Search asks every backend at once, merges the results, drops later
//     duplicates of a login (by the identity rule, backend.IdentityKey: the
//     earlier backend wins), orders them by login and applies one global
//     Limit; Query.After pages through the merged order.
//   - Get and Authenticate answer with the earliest backend that holds the
//     login. Backends are asked in order; one that has not answered after
//     Config.HedgeAfter makes the Directory ask the later ones in parallel,
//     and once the answer is known the remaining calls are cancelled.
//   - A failed backend does not sink the others: Search returns the other
//     results together with a *multierror.Error (hashicorp/go-multierror)
//     naming each failed backend; Config.FailClosed returns only the error.
//     A login only a failed backend could answer fails closed: Get gives
//     backend.ErrUnavailable, never ErrNotFound (which would let a caller add
//     a duplicate), and Authenticate never succeeds. A login found in a later
//     backend while an earlier one is down is refused the same way unless
//     Config.AllowDegradedLogin (see there for the trade-off).
//   - Add checks login and email across every backend (a failed backend
//     makes it fail with ErrUnavailable) and writes to the first writable
//     backend, or AddTo a named one; Update, SetPassword and SetValid go to
//     the backend holding the user, and a rename or email change colliding
//     with a user of another backend is refused. The check and the write are
//     serialised per login and email within one Directory; across processes
//     each backend's own uniqueness still holds, and two processes adding
//     the same login to two different backends at the same instant can both
//     succeed (the earlier backend then wins Get).
//   - Delete exists only to return backend.ErrDeletionForbidden: customer
//     users stay for their tickets' history; SetValid deactivates them.
//
// # Safe logins and lockout
//
// An empty password is refused before any backend is asked. The Directory
// finds the one backend holding the login and checks the password there
// only; an unknown login costs one dummy verification (Config.Hasher), not
// one per backend, and every refusal takes as long as a wrong password.
// Unknown login, wrong password and a failed backend give one message
// (backend.ErrInvalidCredentials); errors.Is tells them apart for logs.
//
// Failed logins of a known user are counted in the PreferenceStore under
// OTRS's key UserLoginFailed, so the count survives restarts, is shared by
// every instance on one database (NewSQLPreferences on customer_preferences)
// and by a Znuny on the same table. At Config.MaxFailedLogins the user
// becomes invalid-temporarily; on a read-only backend the user cannot be
// changed, so logins are refused while the count is at the limit. A success
// resets the count; reactivating a user (SetValid Valid) clears it.
//
// # Self-service
//
// ChangePassword needs the old password; RequestPasswordReset and
// ResetPassword work with single-use tokens of 256 random bits, stored only
// as SHA-256 hashes, expiring after Config.ResetTokenTTL. Preferences and
// SetPreference keep a user's settings (the keys that are fields of the
// record, and the Directory's own keys, are refused). A PasswordPolicy
// applies to every password the Directory sets, with every violation
// reported at once. Renaming a user moves their preferences, failed-login
// count and tokens.
//
// # Queues and tickets
//
// With Config.Groups (a backend.GroupResolver, best a *groups.Resolver) and
// Config.Queues (a tickets.QueueSource) the Directory answers which queues a
// customer may use (Queues: "create" for the new-ticket form, "ro" to read),
// which tickets they see (CanAccessTicket, VisibleTickets, and TicketScope:
// the same rule as data and as an SQL condition on the OTRS ticket table),
// and why (ExplainAccess). A customer user who is not valid has no access;
// a rename moves the user's group memberships; SetMemberPermissions and
// SetCompanyPermissions grant and revoke through the Directory.
//
// # Events
//
// Config.Observer receives an Event after every change is stored: Added,
// Updated, Renamed, ValidChanged, PasswordChanged, LoginSucceeded,
// LoginFailed and LockedOut, with the login and the backend's name, never a
// password or a token.
package policy
