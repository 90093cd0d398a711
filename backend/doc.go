// Package backend is the contract every customer-user store implements: the
// CustomerUser type, the CustomerUserBackend and GroupResolver interfaces, the
// sentinel errors, the search language and the input rules all backends share.
//
// A customer user is an account of a person who opens tickets through a
// customer portal. Customer users are never deleted: a backend has no Delete;
// deactivation is Update with Valid set to Invalid or InvalidTemporarily.
//
// Backends (memorybackend, sqlbackend, ldapbackend) implement
// CustomerUserBackend; backendtest checks that they do so with the same
// semantics. The search language is parsed once here (ParseSearch) into a
// SearchExpr that a backend evaluates (memory) or compiles (SQL, LDAP).
//
// Input rules shared by every backend, so that they reject the same values
// with the same *ValidationError:
//
//   - Logins are trimmed of surrounding white space and compared
//     case-insensitively; the stored spelling is kept.
//   - Text fields must be valid UTF-8 without NUL or other control characters
//     (tab is allowed in free-text fields) and are limited to the column sizes
//     of the OTRS schema (login 191 characters, email and customer ID 150, ...).
//   - Passwords are at most 4,096 bytes of valid UTF-8 without NUL; the empty
//     password never authenticates.
package backend
