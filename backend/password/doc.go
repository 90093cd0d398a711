// Package password hashes customer-user passwords with bcrypt and verifies
// every stored format the OTRS family (OTRS, Znuny, OTOBO) writes, so an
// existing customer_user table can be used as it is and its hashes are
// upgraded to bcrypt as customers log in.
//
//	h := password.Hasher{Cost: 12, Format: password.FormatOTRS}
//	stored, err := h.Hash("Secret123")             // "BCRYPT:12:<salt16>:<hash31>"
//	...
//	ok, rehash := h.Verify(stored, typed, login)    // any OTRS stored format
//	if ok && rehash {
//		newStored, err := h.Hash(typed)              // store it: the user now has bcrypt
//	}
//	...
//	h.Dummy(typed)                                  // unknown login: spend the same time
//
// # What is written
//
// Hash always writes bcrypt, at Hasher.Cost (0 means DefaultCost, 12; the
// range is 4..31, where OTRS clamps its own writes to 9..31), in one of two
// text forms chosen by Hasher.Format:
//
//	FormatStandard  $2a$12$<22-char salt><31-char hash>
//	FormatOTRS      BCRYPT:12:<salt16>:<31-char hash>
//
// The OTRS form is what OTRS, Znuny and OTOBO write with CryptType bcrypt:
// 16 random characters from [0-9A-Za-z] used directly as the 16 raw salt
// bytes, and the hash in bcrypt's base64. It is the same computation as
// standard bcrypt with those salt bytes: "BCRYPT:9:sodium__chloride:<h>"
// equals "$2a$09$a07iYVTrVz7hYEvtakjiXO<h>" (EncodeBcryptSalt converts the
// salt). Both forms exist because of migrations: while Znuny or OTOBO still
// share the table, they must be able to verify what this library writes,
// and they cannot verify "$2a$..." (their verifier reads any "$x$salt$..."
// as md5-crypt), so their customers would be locked out. Write FormatOTRS on
// an OTRS-family table, FormatStandard elsewhere.
//
// golang.org/x/crypto/bcrypt cannot hash with a chosen salt, so the package
// has its own small bcrypt core on top of golang.org/x/crypto/blowfish; the
// tests check it against x/crypto/bcrypt and against libxcrypt.
//
// # What is read
//
// Verify recognises the stored string by its shape (Identify), in this
// order, as the OTRS verifier (Kernel/System/CustomerAuth/DB.pm) does:
//
//	""                               SchemeNone      nothing verifies
//	BCRYPT:<cost>:<salt16>:<hash31>  SchemeBcryptOTRS
//	$2a$ $2b$ $2y$ + cost + 53 chars SchemeBcrypt
//	$1$<salt>$<22 chars>             SchemeMD5Crypt  (salt 1..8 bytes; OTRS takes the login)
//	$apr1$<salt>$<22 chars>          SchemeAPR1      (Apache's md5-crypt variant)
//	other "$..." or "BCRYPT:..."     SchemeUnknown   nothing verifies
//	40 hex digits                    SchemeSHA1      unsalted SHA-1
//	64 hex digits                    SchemeSHA2      unsalted SHA-256 (OTRS's default)
//	128 hex digits                   SchemeSHA512    unsalted SHA-512
//	13 chars of [./0-9A-Za-z]        SchemeCrypt     traditional DES crypt, salt = first 2 chars
//	anything else                    SchemePlain     the password itself
//
// Hex digits compare case-insensitively. Traditional DES crypt (implemented
// here) reads only the first 8 password bytes, 7 bits of each, as crypt(3)
// does. Salts come from the stored string; the login argument of Verify is
// not needed by any of these formats (OTRS uses the login only when writing
// md5-crypt, apr1 and crypt hashes).
//
// # The 72-byte rule
//
// bcrypt keys Blowfish with at most 72 bytes: the password, a NUL, the
// whole cut to 72 bytes. Bytes after the 72nd do not count, so two
// passwords that agree in their first 72 bytes (24 to 72 characters,
// depending on the script) have the same hash. This is exactly what OpenBSD
// bcrypt ("$2b$"), libxcrypt and Perl's Crypt::Eksblowfish::Bcrypt (which
// the OTRS family uses) do, so hashes move between them both ways; refusing
// long passwords instead (as x/crypto/bcrypt does) would lock out users
// whose hashes Znuny wrote.
//
// # The plain rule
//
// A stored string that matches no hash format is compared with the password
// as plain text (OTRS's CryptType plain). A string that looks like a hash is
// never compared as plain text, so a stolen hash cannot be typed in as a
// password: anything that begins with "$" or "BCRYPT:" is a hash (malformed
// ones are SchemeUnknown and never verify), and so are 40/64/128 hex digits
// and 13 characters of the crypt alphabet. The price is that a plain
// password of one of those shapes cannot be used; such a user must set a
// new password.
//
// # The rehash rule
//
// After a successful Verify, rehash is true when the stored scheme is not
// bcrypt, when it is bcrypt with a cost below the Hasher's, or when it is
// bcrypt in the other form than Hasher.Format. The caller then stores
// h.Hash(password). A higher stored cost is kept.
//
// # Other rules
//
// An empty password never verifies, and neither does one longer than
// backend.MaxPasswordBytes (md5-crypt would otherwise hash it 1000 times).
// Hash refuses passwords that backend.CheckPassword refuses (empty, too
// long, not UTF-8, NUL) with that *backend.ValidationError. Comparisons are
// constant-time (crypto/subtle, over SHA-256 digests of both sides, so not
// even the length of a plain stored password leaks). Dummy spends the time
// of one bcrypt Verify at the Hasher's cost, for unknown logins; Verify
// spends the same time on an empty or unusable stored string, so a user
// without a password looks like an unknown login. A known login whose
// stored hash is a fast legacy format (sha2, plain...) still answers faster,
// until its first successful login rehashes it. Nothing in this package
// logs, and no error quotes a password or a hash.
package password
