// Package ldapbackend keeps customer users in an LDAP directory (OpenLDAP,
// Active Directory, any RFC 4511 server) through github.com/go-ldap/ldap/v3.
//
// A Backend holds a bounded pool of connections bound as the service account
// (health-checked on acquire, replaced when dead, drained on Close), tries
// its URLs in order and backs off from the ones that fail (failover), speaks
// ldaps:// or StartTLS with the CA, client certificate and server name of
// Config.TLS, and reads every result with the paged-results control, so a
// result larger than the server's size limit comes back whole; a search that
// ends with an error is a failure, never a silently short list.
//
// Server differences are data: start from the OpenLDAP or ActiveDirectory
// preset and set the connection, the tree and the customer ID:
//
//	cfg := ldapbackend.OpenLDAP()
//	cfg.Name = "directory"
//	cfg.URLs = []string{"ldaps://ldap1.example.com", "ldaps://ldap2.example.com"}
//	cfg.BindDN, cfg.BindPassword = "cn=helpdesk,dc=example,dc=com", os.Getenv("LDAP_PASSWORD")
//	cfg.BaseDN = "ou=customers,dc=example,dc=com"
//	cfg.CustomerIDAttribute = "o"
//	b, err := ldapbackend.New(cfg)
//	if err != nil { ... }
//	defer b.Close()
//	u, err := b.Authenticate(ctx, "alice", password)
//
// # Reads
//
// Get and Search AND Config.UserFilter (OTRS AlwaysFilter) and, when
// Config.GroupDN is set, the clause (GroupMemberAttribute=<GroupDN>) to
// every filter: group membership is checked by the server through memberOf
// (OpenLDAP needs the memberof overlay; the ActiveDirectory preset uses the
// in-chain rule so nested groups count), not by a search per result as OTRS
// does. The search language of backend.ParseSearch compiles to one clause per
// word, (|(f1=*w*)(f2=*w*)...) over Config.SearchFields ((f=w*) with
// MatchPrefix), (!...) for excluded words, a presence filter for a word that
// is only '*'. Every value a caller supplies passes through
// ldap.EscapeFilter exactly once where the filter is built, so '*', '(',
// ')', '\' and NUL are literals. Logins compare case-insensitively through
// the server's matching rule, and the result is re-checked on the client.
// Results are sorted by lower-cased login and cut to Query.Limit on the
// client after the whole paged result was read.
//
// Validity: Config.ValidFilter (OTRS CustomerUserValidFilter; entries
// matching it are valid) and/or Config.ValidAttribute (the OTRS valid id
// 1/2/3, written by Add and Update). Searches without IncludeInvalid AND
// both to the filter. CreatedAt and ChangedAt come from the operational
// attributes createTimestamp and modifyTimestamp.
//
// # Authentication
//
// Authenticate finds the entry on a service connection, then binds as its DN
// with the password on a fresh connection of its own, closed right after: a
// user's bind never happens on a pooled connection. Empty and
// white-space-only passwords are refused before any network call, so an
// unauthenticated bind (which servers with "allow bind_anon_dn" accept as
// anonymous) can never count as a login. Unknown logins bind a DN that does
// not exist, so they cost the same as a wrong password and give the same
// backend.ErrInvalidCredentials. The library never hashes: the server does.
//
// # Writes
//
// Config.ReadOnly is true unless set to Bool(false). Writable backends add
// entries RDNAttribute=<login>,AddBaseDN with Config.ObjectClasses, replace
// the mapped attributes on Update (an empty field deletes the attribute),
// rename with ModifyDN, and set passwords with the Password Modify extended
// operation (RFC 3062), falling back to replacing PasswordAttribute
// (unicodePwd for Active Directory, encoded as AD requires). Login and email
// uniqueness are checked before writing.
//
// # Active Directory
//
// Start from the ActiveDirectory preset and set: URLs (ldaps:// to each
// domain controller, or ldap:// with StartTLS; AD refuses password writes in
// clear), TLS.CACertificatesPEM (the enterprise CA), BindDN and BindPassword
// (a service account that may read the customer OU; for writes, one
// delegated to create users and reset passwords), BaseDN,
// CustomerIDAttribute (company, department, an extensionAttribute) or
// FixedCustomerID, and optionally GroupDN (nested groups count through the
// in-chain rule 1.2.840.113556.1.4.1941). Disabled accounts
// (userAccountControl bit 2) are invalid through ValidFilter; AD itself
// refuses their bind, so a disabled user with the right password gets
// ErrInvalidCredentials there, not ErrAccountInvalid. AD caps a page at its
// MaxPageSize (1,000 by default): keep PageSize at or below it. For writes
// also set ReadOnly to Bool(false) and, if validity is to be written, a
// ValidAttribute (the preset maps none: disabling an AD account is a
// userAccountControl change this library does not make); new AD users stay
// disabled until an administrator enables them. The preset follows
// Microsoft's documented attribute names and is tested only against an
// OpenLDAP imitation (sAMAccountName, userAccountControl with the bitwise
// rule), not against a real domain controller.
//
// # Errors
//
// Every error is wrapped by backend.OpError ("customeruser <name>: <op>:
// ..."); network and dial failures wrap backend.ErrUnavailable; a cancelled
// context closes the connection in use and returns promptly with ctx.Err()
// wrapped. No error contains a password.
package ldapbackend
