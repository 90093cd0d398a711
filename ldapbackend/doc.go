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
// Server differences are data: start from the OpenLDAP() or
// ActiveDirectory() preset (functions: each call returns a fresh Config
// that shares nothing, so no caller can change a preset for another) and
// set the connection, the tree and the customer ID:
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
// New checks the configuration once and reports every problem at once, as
// backend.ConfigError ("customeruser <name>: config: ...", matching
// errors.Is(err, backend.ErrInvalidInput), a backend.ValidationErrors whose
// fields are "Config.<Field>"). A configuration that maps no login, first
// name, last name or email attribute is refused: it would read users
// without them. Config.Logger (nil: slog.Default()) receives the backend.Log*
// events with "backend", "op", "error" and "login"; Config and TLSConfig
// print, marshal and log without the bind password or the client key.
//
// # Identities
//
// Two logins (or emails, or customer IDs) are the same identity iff their
// backend.IdentityKey is equal: NFC and simple case folding, nothing more
// ("rené" and "rene", full-width "ａｌｉｃｅ" and "alice", "dev😀" and
// "dev😁" are distinct; "ÄRGER" and "ärger", "ΟΔΟΣ" and "οδος" are one).
// The directory's matching rules are not that rule: caseIgnoreMatch (RFC
// 4518) also folds width and compatibility forms, and OpenLDAP keeps the
// final sigma apart. So every lookup asks the directory for the value and,
// when it is not ASCII, its identity key and its key with final sigmas (a
// superset of the identity)
// and keeps, on the client, only the entries of the identity asked for:
// Get, Authenticate's lookup, the Login, Email and CustomerID criteria of
// Search, and the uniqueness checks of Add and Update. An ignored entry is
// logged (backend.LogIdentityMismatch); two entries of one identity give
// the one of exactly the spelling asked for, or ErrNotFound
// (backend.LogAmbiguousIdentity). The directory's looser matching has one
// visible effect: with the login as RDN, two distinct identities that its
// DN matching equates ("alice" and "ａｌｉｃｅ", "ﬁle" and "file")
// cannot both be added, the second gets ErrDuplicateLogin; entries made by
// other tools under other RDNs are read fine, and the two are never
// confused. The attributes
// used must have case-ignoring equality and substring rules (caseIgnoreMatch,
// caseIgnoreSubstringsMatch), as uid, mail, cn, givenName and sn have.
//
// # Reads
//
// Get and Search AND Config.UserFilter (OTRS AlwaysFilter) and, when
// Config.GroupDN is set, the clause (GroupMemberAttribute=<GroupDN>) to
// every filter: group membership is checked by the server through memberOf
// (OpenLDAP needs the memberof overlay; the ActiveDirectory preset uses the
// in-chain rule so nested groups count), not by a search per result as OTRS
// does. Every value a caller supplies passes through ldap.EscapeFilter
// exactly once where the filter is built, so '*', '(', ')', '\' and NUL are
// literals.
//
// Search words match case- and accent-insensitively (backend.SearchFold:
// "muller" finds "Müller", "mária" finds "Maria", "dvorak" finds
// "Dvořák"), as a substring of a Config.SearchFields value (a prefix with
// MatchPrefix), and a phrase may also match the full name ("maria meier").
// No LDAP matching rule removes accents, so the directory only narrows, by
// a candidate filter that cannot miss a match: for each word, the runes of
// the folded word that match only themselves in every directory (runes
// that no other rune folds to and that have no case: digits, most
// punctuation, uncased scripts) as substring pieces in order, one rune per
// piece, so that marks between them in a value do not matter
// ("C-1001" gives (|(f1=*-*1*0*0*1*)...)); a word of letters narrows
// nothing. Excluded words (!word) are not sent at all. The client then
// folds every candidate's fields and decides. The cost of a word of
// letters is reading every entry of the base filter; digits, customer IDs,
// logins and emails still narrow on the server.
//
// Results come in backend.CompareLogins order, after Query.After (keyset
// paging, compared on the client: a directory has no ordering rule for
// uid), cut to Query.Limit (at most backend.MaxLimit). A search with at
// most Limit candidates is one plain request (size limit Limit+1, never
// more than backend.MaxLimit+1; PageSize is at most MaxPageSize), read
// whole. With more, the candidates are scanned page by page reading only
// their DNs (the login is the RDN value; otherwise the login attribute),
// sorted, and read whole in login order, a batch at a time, until Limit of
// them passed the checks: a Limit-1 search over 1,200 matches allocates
// about 3.5 MB (it was 7.9 MB), most of it go-ldap decoding 1,200 DNs.
//
// Validity: Config.ValidFilter (OTRS CustomerUserValidFilter; entries
// matching it are valid) and/or Config.ValidAttribute (the OTRS valid id
// 1/2/3, written by Add and Update), or Active Directory's
// userAccountControl (Config.AccountControl, below). Searches without IncludeInvalid AND
// both to the filter. CreatedAt comes from createTimestamp. ChangedAt comes
// from OpenLDAP's entryCSN: its time in microseconds plus its change
// counter in nanoseconds, so every write moves it strictly forward, even
// several within one microsecond; Active Directory gives modifyTimestamp
// plus uSNChanged (see below); other directories modifyTimestamp, precise
// to the second, and two changes within one second then share a stamp
// (there only the per-Backend lock of Update separates them).
//
// # Customer groups from directory groups
//
// Backend.GroupResolver gives a backend.GroupResolver (policy.Config.Groups)
// that maps directory groups to customer groups with permission keys
// (GroupMapping). It finds the groups holding the user's entry by member
// lookups (GroupsByMember, the default: any directory), by memberOf
// (GroupsByMemberOf: OpenLDAP's memberof overlay, Active Directory) or in
// one search with Active Directory's in-chain rule (GroupsInChain). Nested
// groups are followed up to GroupsConfig.MaxDepth levels (default
// DefaultGroupDepth), a cycle stops where it closes, and every DN sent in a
// filter is escaped.
//
// # Authentication
//
// Authenticate finds the entry on a service connection, then binds as its DN
// with the password on a fresh connection of its own, closed right after: a
// user's bind never happens on a pooled connection. Empty,
// white-space-only, NUL-holding and over-long (backend.MaxPasswordBytes)
// passwords are never sent, so an unauthenticated bind (which servers with
// "allow bind_anon_dn" accept as anonymous) can never count as a login.
// Every refusal gives backend.ErrInvalidCredentials and takes as long as a
// wrong password: the backend measures its wrong-password calls (a
// backend.RefusalTimer) and pads every other refusal (unknown or malformed
// login, a password that is not sent) to their median; before the first
// measurement, to the cost of its last connection and bind; before any
// connection, it does not wait. The padding honours the context. A user
// who is not Valid gets a *backend.AccountInvalidError with the state
// (errors.Is backend.ErrAccountInvalid), only after the password was right.
// The library never hashes: the server does.
//
// # Writes
//
// Config.ReadOnly is true unless set to Bool(false). Writable backends add
// entries RDNAttribute=<login>,AddBaseDN with Config.ObjectClasses, replace
// the mapped attributes on Update (an empty field deletes the attribute),
// rename with ModifyDN, and set passwords with the Password Modify extended
// operation (RFC 3062), falling back to replacing PasswordAttribute
// (unicodePwd for Active Directory, encoded as AD requires). New passwords
// over backend.MaxNewPasswordBytes (72, what bcrypt reads) are refused.
// Update with a zero Valid keeps the stored state; with u.ChangedAt set it
// refuses with backend.ErrConflict when the entry changed since.
//
// Login and email uniqueness follow the identity rule (invalid users keep
// their email). Within one Backend, Add and Update hold a lock per login
// and per email identity from the check to the write, so concurrent Adds of
// one login or one email give exactly one success, and of two Updates from
// the same read exactly one wins. Across processes (several Backends on one
// directory) a login that is the RDN stays unique (the second entry's DN
// exists), but two Adds of one email racing each other can both succeed: a
// directory has no unique constraint on other attributes (OpenLDAP's
// slapo-unique overlay adds one). Update's optimistic check holds across
// processes too where the directory gives entryCSN and supports the
// Assertion control (RFC 4528; OpenLDAP does): the write asserts the
// entryCSN that was read, and fails with ErrConflict when anyone changed
// the entry since.
//
// # Active Directory
//
// Start from the ActiveDirectory preset. This is the worked configuration
// of a helpdesk whose customers are the members of one group (nested groups
// included) of the domain CORP.EXAMPLE.COM; the tests run this very
// function against a Samba AD domain controller (samba_ad_test.go checks
// that the text below is the function's source, example_test.go):
//
//	// corpAD is the worked Active Directory configuration: LDAPS to the
//	// domain controllers, verified with the domain's CA (the PEM of the
//	// enterprise CA that issued their certificates).
//	func corpAD(urls []string, domainCA []byte, servicePassword string) ldapbackend.Config {
//		cfg := ldapbackend.ActiveDirectory()
//		cfg.Name = "corp"
//		cfg.URLs = urls // ldaps://dc1.corp.example.com, ldaps://dc2.corp.example.com
//		cfg.TLS.CACertificatesPEM = domainCA
//		// A plain domain user as service account: every user may read users.
//		cfg.BindDN = "CN=svc-helpdesk,CN=Users,DC=corp,DC=example,DC=com"
//		cfg.BindPassword = servicePassword
//		cfg.BaseDN = "OU=Customers,DC=corp,DC=example,DC=com"
//		cfg.CustomerIDAttribute = "company"
//		// Customers are the members of this group, through nested groups too.
//		cfg.GroupDN = "CN=Helpdesk Customers,OU=Groups,DC=corp,DC=example,DC=com"
//		// jdoe and jdoe@corp.example.com both log in.
//		cfg.LoginByUPN = true
//		return cfg
//	}
//
// and, for a helpdesk that creates accounts and resets passwords:
//
//	// corpADWriter makes the worked configuration writable: a service
//	// account delegated to create users in the OU and reset their
//	// passwords, userPrincipalName written, invalid-temporarily kept in
//	// employeeType beside the disabled bit. New accounts are not in the
//	// customer group (group membership is the administrators'), so the
//	// writer serves the whole OU.
//	func corpADWriter(cfg ldapbackend.Config, writerDN, writerPassword string) ldapbackend.Config {
//		cfg.ReadOnly = ldapbackend.Bool(false)
//		cfg.BindDN, cfg.BindPassword = writerDN, writerPassword
//		cfg.GroupDN = ""
//		cfg.UPNSuffix = "corp.example.com"
//		cfg.ValidAttribute = "employeeType"
//		return cfg
//	}
//
// Use ldaps:// or ldap:// with StartTLS: AD takes passwords (unicodePwd)
// only over an encrypted connection, and New refuses a writable
// ActiveDirectory configuration with a plain ldap:// URL. Samba's and AD's
// own certificates must name the host the URL names (Go ignores a Common
// Name without subject alternative names).
//
// Validity is userAccountControl (Config.AccountControl): the ACCOUNTDISABLE
// bit (2) makes an account invalid, and searches without IncludeInvalid
// leave disabled accounts out; Update sets or clears only that bit and keeps
// every other bit (read, modify, write). Invalid-temporarily is the
// disabled bit plus 3 in Config.ValidAttribute (without one, Update refuses
// it with a *backend.ValidationError). Add creates the account (CN=<first
// last>, or CN=<first last> (<login>) when the name is taken in the OU),
// writes sAMAccountName, displayName, userPrincipalName <login>@UPNSuffix
// when set, the password (unicodePwd; a random one when Add gets none, as
// AD enables no account without a password) and then userAccountControl
// 512 (NORMAL_ACCOUNT), 514 for an invalid user. A rename writes
// sAMAccountName and userPrincipalName, and moves the entry (ModifyDN) when
// its cn was the old login; CN=<first last> stays. Logins holding any of
// SAMAccountNameForbidden are refused before writing. ChangedAt is
// modifyTimestamp plus uSNChanged (see changedAt), so every write moves it
// (AD's own too: a logon that writes lastLogonTimestamp, the first and
// then one every 9 to 14 days, makes an Update from before it a conflict);
// AD has no Assertion control, so Update's optimistic check is made just
// before the write (a window of one round trip across processes).
//
// Authentication: AD refuses a bind with result 49 and names the reason in
// the diagnostic message ("... AcceptSecurityContext error, data 533,
// v1db1"), documented as sent only when the password was right. Data 533
// (disabled) and 701 (account expired) give a *backend.AccountInvalidError
// with the stored state, 530 and 531 (not at this time or workstation) one
// with InvalidTemporarily, 532 (password expired) and 773 (must change at
// next logon) a *PasswordExpiredError (errors.Is ErrPasswordExpired and
// backend.ErrInvalidCredentials), and 52e (wrong password) and everything
// else ErrInvalidCredentials. Locked-out accounts (775) get
// ErrInvalidCredentials too: Samba sends 775 for the wrong password as
// well (verified), so it says nothing about the password, and the contract
// gives the state only after the right one. Samba 4.17 answers 533 and 773
// as Windows does, only for the right password, and 52e for a wrong one
// (verified); 525, 530, 531, 532 and 701 are unit-tested on the documented
// strings only.
//
// Nested groups: GroupDN is matched with the in-chain rule
// (memberOf:1.2.840.113556.1.4.1941:=<GroupDN>), and Backend.GroupResolver
// with GroupsInChain finds every group holding a user in one search. AD
// caps a page at its MaxPageSize (1,000 by default); paged searches go on
// past it (verified with 2,500 users, PageSize 500 and 2,000).
//
// # Errors
//
// Every error is wrapped by backend.OpError ("customeruser <name>: <op>:
// ..."); network and dial failures wrap backend.ErrUnavailable; a cancelled
// context closes the connection in use and returns promptly with ctx.Err()
// wrapped. No error contains a password.
package ldapbackend
