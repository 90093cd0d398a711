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
// # Identity
//
// Two logins (or emails, or customer IDs) are the same identity if and only
// if their IdentityKey values are equal: NFC plus Unicode simple case
// folding, nothing more. "ÄRGER" and "ärger" are one identity; "rené" and
// "rene", "straße" and "strasse", "ａｌｉｃｅ" and "alice", "dev😀" and
// "dev😁" are two. Every backend applies this rule itself and never returns
// or authenticates a different identity, whatever its database collation or
// directory matching rules (a store stricter than the rule may refuse the
// second of two distinct users as a duplicate; confusing them is never
// allowed). Search is not identity: search words match case- and
// accent-insensitively (SearchFold), so that "muller" finds "Müller".
//
// Results are ordered by CompareLogins (identity keys, byte-wise); Query.After
// pages through them by keyset, Query.Limit is at most MaxLimit.
//
// # Input rules
//
// Input rules shared by every backend, so that they reject the same values
// with the same *ValidationError (or ValidationErrors, listing every invalid
// field of a record at once, by the stable Field names):
//
//   - Logins, emails and customer IDs are trimmed of surrounding white space
//     and stored in NFC; the rest of the spelling is kept.
//   - Text fields must be valid UTF-8 without NUL, control characters or
//     characters that only deceive (bidi controls, zero-width and other
//     format characters, private use, noncharacters; names may hold the
//     zero-width joiners scripts and emoji need) and are limited to the
//     column sizes of the OTRS schema (login 191 characters, email and
//     customer ID 150, ...). A user has at most MaxCustomerIDs customer IDs.
//   - New passwords are at most 72 bytes (bcrypt reads no more) of valid
//     UTF-8 without NUL; the empty password never authenticates, and every
//     refused login takes the time of a wrong password (RefusalTimer).
//
// # Updates
//
// Update with a zero Valid keeps the stored state; Update with u.ChangedAt
// set refuses with ErrConflict when the stored record changed since
// (CheckUnchanged). Authenticate of a user that is not valid, with the right
// password, gives an *AccountInvalidError carrying the state.
//
// # Logging
//
// Every backend takes a *slog.Logger in its Config (nil: slog.Default()) and
// logs the events listed with LogRehashFailed and the following constants.
package backend
