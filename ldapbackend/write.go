package ldapbackend

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// checkNewPassword refuses, before any network call, what LDAP cannot store
// or could mistake for an unauthenticated bind: empty and white-space-only
// passwords, and what backend.CheckPassword refuses.
func checkNewPassword(password string) error {
	if password != "" && blankPassword(password) {
		return &backend.ValidationError{Field: backend.FieldPassword, Reason: "white space only (LDAP would take it for an unauthenticated bind)"}
	}
	return backend.CheckPassword(password)
}

// checkWritable checks what the configuration can store.
func (b *Backend) checkWritable(u backend.CustomerUser) error {
	if b.cfg.AccountControl && strings.EqualFold(b.cfg.LoginAttribute, "sAMAccountName") && strings.ContainsAny(u.Login, SAMAccountNameForbidden) {
		return &backend.ValidationError{Field: backend.FieldLogin, Reason: "Active Directory's sAMAccountName cannot hold any of " + SAMAccountNameForbidden}
	}
	switch {
	case u.Valid == backend.Valid:
	case b.cfg.AccountControl && (u.Valid == backend.Invalid || b.cfg.ValidAttribute != ""):
	case b.cfg.AccountControl:
		return &backend.ValidationError{Field: backend.FieldValid, Reason: "invalid-temporarily needs Config.ValidAttribute beside AccountControl (the disabled bit says invalid, the attribute says temporarily)"}
	case b.cfg.ValidAttribute == "":
		return &backend.ValidationError{Field: backend.FieldValid, Reason: "this LDAP backend has no ValidAttribute to store validity in"}
	}
	if b.cfg.FixedCustomerID != "" && !backend.SameIdentity(u.CustomerID, b.cfg.FixedCustomerID) {
		return &backend.ValidationError{Field: backend.FieldCustomerID, Reason: "this LDAP backend has the fixed customer ID " + b.cfg.FixedCustomerID}
	}
	if b.cfg.CustomerIDsAttribute == "" && len(u.CustomerIDs) > 0 {
		return &backend.ValidationError{Field: backend.FieldCustomerIDs, Reason: "this LDAP backend has no CustomerIDsAttribute"}
	}
	for k := range u.Attributes {
		if !b.isExtra(k) {
			return &backend.ValidationError{Field: backend.FieldAttributes, Reason: "attribute " + strconv.Quote(k) + " is not mapped"}
		}
	}
	return nil
}

func (b *Backend) isExtra(name string) bool {
	for _, a := range b.cfg.ExtraAttributes {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// values lists the attribute values of u to write; a nil slice deletes.
func (b *Backend) values(u backend.CustomerUser) map[string][]string {
	m := map[string][]string{}
	set := func(attr, v string) {
		if attr == "" {
			return
		}
		if v == "" {
			m[attr] = nil
		} else {
			m[attr] = []string{v}
		}
	}
	set(b.cfg.LoginAttribute, u.Login)
	for _, f := range b.fields(&u) {
		set(f.attr, *f.v)
	}
	if fn := b.cfg.Attributes.FullName; fn != "" {
		set(fn, fullName(u))
	}
	if b.cfg.FixedCustomerID == "" {
		set(b.cfg.CustomerIDAttribute, u.CustomerID)
	}
	if a := b.cfg.CustomerIDsAttribute; a != "" {
		if len(u.CustomerIDs) == 0 {
			m[a] = nil
		} else {
			m[a] = append([]string(nil), u.CustomerIDs...)
		}
	}
	switch {
	case b.cfg.ValidAttribute == "":
	case b.cfg.AccountControl && u.Valid == backend.Valid:
		set(b.cfg.ValidAttribute, "") // the cleared bit says valid
	default:
		set(b.cfg.ValidAttribute, strconv.Itoa(int(u.Valid)))
	}
	if b.cfg.UPNSuffix != "" {
		set(attrUserPrincipal, u.Login+"@"+b.cfg.UPNSuffix)
	}
	for _, a := range b.cfg.ExtraAttributes {
		v := ""
		for k, val := range u.Attributes {
			if strings.EqualFold(k, a) {
				v = val
			}
		}
		set(a, v)
	}
	return m
}

// exists reports whether an entry of this backend other than exceptDN holds
// the identity of value in attr (backend.IdentityKey), valid or not. The
// directory's equality rule selects the candidates (caseIgnoreMatch is
// looser than the identity rule); the identity keys decide.
func (b *Backend) exists(ctx context.Context, attr, value, exceptDN string) (bool, error) {
	key := backend.IdentityKey(value)
	f := and(append(b.baseFilter(), identityClause(attr, value)))
	entries, err := b.search(ctx, f, []string{attr})
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if exceptDN != "" && normDN(e.DN) == normDN(exceptDN) {
			continue
		}
		for _, v := range e.GetEqualFoldAttributeValues(attr) {
			if backend.IdentityKey(v) == key {
				return true, nil
			}
		}
	}
	return false, nil
}

// lockIdentities takes the locks of the logins and emails a write checks.
func (b *Backend) lockIdentities(ctx context.Context, logins []string, email string) (func(), error) {
	keys := make([]string, 0, len(logins)+1)
	for _, l := range logins {
		keys = append(keys, "l:"+backend.IdentityKey(l))
	}
	if !b.cfg.AllowDuplicateEmail && b.cfg.Attributes.Email != "" && strings.TrimSpace(email) != "" {
		keys = append(keys, "e:"+backend.IdentityKey(email))
	}
	return b.locks.lock(ctx, keys...)
}

// Add creates the entry RDNAttribute=<login>,AddBaseDN with the configured
// object classes and sets its password (when not empty; at most
// backend.MaxNewPasswordBytes). Login and email uniqueness are checked by
// the identity rule first; within one Backend the check and the write hold
// a lock per login and email identity, so concurrent Adds of one login or
// one email give exactly one success. Across processes (two Backends on one
// directory) the login is still unique when it is the RDN (the second Add's
// DN exists already), but two Adds of one email racing each other can both
// succeed: a directory has no unique constraint on other attributes (use
// OpenLDAP's attribute uniqueness overlay, slapo-unique, for that).
func (b *Backend) Add(ctx context.Context, u backend.CustomerUser, password string) (backend.CustomerUser, error) {
	out, err := b.add(ctx, u, password)
	if err != nil {
		return backend.CustomerUser{}, b.opErr("add", err)
	}
	return out, nil
}

func (b *Backend) add(ctx context.Context, u backend.CustomerUser, password string) (backend.CustomerUser, error) {
	if b.ReadOnly() {
		return backend.CustomerUser{}, backend.ErrReadOnly
	}
	u, err := backend.NormalizeUser(u, b.cfg.AutoLoginPrefix == "")
	if err != nil {
		return backend.CustomerUser{}, err
	}
	if err := b.checkWritable(u); err != nil {
		return backend.CustomerUser{}, err
	}
	if password != "" {
		if err := checkNewPassword(password); err != nil {
			return backend.CustomerUser{}, err
		}
	}
	// A generated login is chosen under a lock of its own, so that two
	// concurrent Adds do not pick the same one.
	login := u.Login
	if login == "" {
		login = "\x00auto" // not a login: the key of the generator
	}
	unlock, err := b.lockIdentities(ctx, []string{login}, u.Email)
	if err != nil {
		return backend.CustomerUser{}, err
	}
	defer unlock()
	if u.Login == "" {
		if u.Login, err = b.autoLogin(ctx); err != nil {
			return backend.CustomerUser{}, err
		}
	} else if taken, err := b.exists(ctx, b.cfg.LoginAttribute, u.Login, ""); err != nil {
		return backend.CustomerUser{}, err
	} else if taken {
		return backend.CustomerUser{}, backend.ErrDuplicateLogin
	}
	if !b.cfg.AllowDuplicateEmail && b.cfg.Attributes.Email != "" {
		if taken, err := b.exists(ctx, b.cfg.Attributes.Email, u.Email, ""); err != nil {
			return backend.CustomerUser{}, err
		} else if taken {
			return backend.CustomerUser{}, backend.ErrDuplicateEmail
		}
	}
	rdnAttr, rdnVals, err := b.newRDN(u)
	if err != nil {
		return backend.CustomerUser{}, err
	}
	vals := b.values(u)
	var dn string
	for i, rdnVal := range rdnVals {
		dn = rdnAttr + "=" + ldap.EscapeDN(rdnVal) + "," + b.cfg.AddBaseDN
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", b.cfg.ObjectClasses)
		named := false
		for attr, v := range vals {
			if len(v) == 0 {
				continue
			}
			if strings.EqualFold(attr, rdnAttr) {
				named = true
				if i > 0 { // the naming value must be among the values
					v = append(append([]string(nil), v...), rdnVal)
				}
			}
			req.Attribute(attr, v)
		}
		if !named {
			req.Attribute(rdnAttr, []string{rdnVal})
		}
		err = b.do(ctx, false, func(c *ldap.Conn) error { return c.Add(req) })
		err = schemaRefusal(err)
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			break
		}
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return backend.CustomerUser{}, backend.ErrDuplicateLogin
	}
	if err != nil {
		return backend.CustomerUser{}, err
	}
	if password == "" && b.cfg.AccountControl {
		password = randomPassword()
	}
	if password != "" {
		err = b.setPassword(ctx, dn, password)
	}
	if err == nil && b.cfg.AccountControl {
		err = b.setAccountControl(ctx, dn, newAccountControl(u.Valid))
	}
	if err != nil {
		// Failure stores nothing: take the half-made entry away again.
		// The context may be what failed, so the cleanup gets its own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.RequestTimeout)
		defer cancel()
		if derr := b.do(cctx, true, func(c *ldap.Conn) error { return c.Del(ldap.NewDelRequest(dn, nil)) }); derr != nil {
			b.log.Error("ldapbackend: could not remove the entry after a failed password or userAccountControl write", "op", "add", "login", u.Login, "error", derr)
		}
		return backend.CustomerUser{}, err
	}
	got, _, err := b.get(ctx, "add", u.Login)
	return got, err
}

// newRDN gives the naming attribute of a new entry and the values to try
// in order: the login when it names entries; otherwise the attribute's
// mapped value, where the attribute is cn (the Active Directory preset) the
// full name ("first last", or the login without a name), then, when that
// name is taken in AddBaseDN already (two John Does), "first last (login)".
func (b *Backend) newRDN(u backend.CustomerUser) (string, []string, error) {
	attr := b.cfg.RDNAttribute
	if strings.EqualFold(attr, b.cfg.LoginAttribute) {
		return attr, []string{u.Login}, nil
	}
	if vals := b.values(u)[attr]; len(vals) > 0 {
		return attr, vals[:1], nil
	}
	if !strings.EqualFold(attr, "cn") {
		return "", nil, &backend.ValidationError{Field: backend.FieldLogin, Reason: "no value for the RDN attribute " + attr}
	}
	full := fullName(u)
	if full == u.Login {
		return attr, []string{full}, nil
	}
	return attr, []string{full, full + " (" + u.Login + ")"}, nil
}

// fullName is "first last", or the login when both are empty.
func fullName(u backend.CustomerUser) string {
	if full := strings.TrimSpace(u.FirstName + " " + u.LastName); full != "" {
		return full
	}
	return u.Login
}

func (b *Backend) autoLogin(ctx context.Context) (string, error) {
	now := time.Now()
	for n := 0; n < 100; n++ {
		l := backend.AutoLogin(b.cfg.AutoLoginPrefix, now, n)
		taken, err := b.exists(ctx, b.cfg.LoginAttribute, l, "")
		if err != nil {
			return "", err
		}
		if !taken {
			return l, nil
		}
	}
	return "", backend.ErrDuplicateLogin
}

// Update replaces the mapped attributes of the user with this login by those
// of u (empty fields are deleted); u.Login different from login renames the
// entry (ModifyDN when the login is the RDN). A zero u.Valid keeps the
// stored state. A non-zero u.ChangedAt is an optimistic check: when the
// entry changed since (its ChangedAt, see entryUser, differs) Update
// returns backend.ErrConflict and writes nothing. Within one Backend the
// check and the write hold the user's lock, so two Updates with the same
// ChangedAt give one success and one ErrConflict. Across processes the
// directory repeats the check on the write: it carries the Assertion
// control (RFC 4528) "(entryCSN=<the stamp read>)", so a change made by
// anyone since the read makes the write fail (ErrConflict, nothing
// written). A directory without entryCSN or the control (Active Directory)
// gets the check just before the write only (a window of one round trip).
func (b *Backend) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	out, err := b.update(ctx, login, u)
	if err != nil {
		return backend.CustomerUser{}, b.opErr("update", err)
	}
	return out, nil
}

func (b *Backend) update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	if b.ReadOnly() {
		return backend.CustomerUser{}, backend.ErrReadOnly
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, err
	}
	// What the caller meant by the fields NormalizeUser rewrites: the
	// optimistic check, and a zero Valid that keeps the stored state.
	ifUnchangedSince := u.ChangedAt
	newLogin := u.Login
	if strings.TrimSpace(newLogin) == "" {
		newLogin = login
	}
	unlock, err := b.lockIdentities(ctx, []string{login, newLogin}, u.Email)
	if err != nil {
		return backend.CustomerUser{}, err
	}
	defer unlock()
	old, oldEntry, err := b.getEntry(ctx, "update", login)
	if err != nil {
		return backend.CustomerUser{}, err
	}
	dn := oldEntry.DN
	if u.Valid == 0 {
		u.Valid = old.Valid
	}
	u, err = backend.NormalizeUser(u, true)
	if err != nil {
		return backend.CustomerUser{}, err
	}
	if err := b.checkWritable(u); err != nil {
		return backend.CustomerUser{}, err
	}
	if err := backend.CheckUnchanged(ifUnchangedSince, old.ChangedAt); err != nil {
		return backend.CustomerUser{}, err
	}
	renamed := u.Login != old.Login
	if backend.IdentityKey(u.Login) != backend.IdentityKey(old.Login) {
		if taken, err := b.exists(ctx, b.cfg.LoginAttribute, u.Login, dn); err != nil {
			return backend.CustomerUser{}, err
		} else if taken {
			return backend.CustomerUser{}, backend.ErrDuplicateLogin
		}
	}
	if !b.cfg.AllowDuplicateEmail && b.cfg.Attributes.Email != "" && backend.IdentityKey(u.Email) != backend.IdentityKey(old.Email) {
		if taken, err := b.exists(ctx, b.cfg.Attributes.Email, u.Email, dn); err != nil {
			return backend.CustomerUser{}, err
		} else if taken {
			return backend.CustomerUser{}, backend.ErrDuplicateEmail
		}
	}
	vals := b.values(u)
	oldDN := dn
	// The optimistic check is repeated by the directory on the first write
	// (an assertion on the entryCSN that was read), so that a change made
	// by another process since the check is not overwritten either.
	var guard []ldap.Control
	if !ifUnchangedSince.IsZero() {
		guard = b.unchangedAssertion(oldEntry)
	}
	if testHookBeforeUpdateWrite != nil {
		testHookBeforeUpdateWrite()
	}
	// The entry is renamed with the login when the login names it, or
	// (Active Directory) when its cn is the old login: CN=jdoe becomes
	// CN=jdoe2, CN=John Doe stays.
	rdnIsLogin := strings.EqualFold(b.cfg.RDNAttribute, b.cfg.LoginAttribute)
	moveRDN := rdnIsLogin || (backend.IdentityKey(u.Login) != backend.IdentityKey(old.Login) &&
		backend.IdentityKey(rdnValue(dn, b.cfg.RDNAttribute)) == backend.IdentityKey(old.Login))
	if b.cfg.AccountControl {
		// Only the disabled bit is the backend's: the other bits (password
		// never expires, smart card required, ...) stay as stored.
		if uac, ok := accountControl(oldEntry); ok {
			if next := withState(uac, u.Valid); next != uac {
				vals[attrAccountControl] = []string{strconv.FormatInt(next, 10)}
			}
		}
	}
	if renamed && moveRDN {
		newDN, err := b.rename(ctx, dn, u.Login, guard)
		if err != nil {
			return backend.CustomerUser{}, err
		}
		dn, guard = newDN, nil
	}
	mod := ldap.NewModifyRequest(dn, nil)
	for attr, v := range vals {
		if strings.EqualFold(attr, b.cfg.RDNAttribute) {
			continue // naming values change only by rename (servers refuse to drop them)
		}
		mod.Replace(attr, v)
	}
	err = b.guarded(guard, func(controls []ldap.Control) error {
		mod.Controls = controls
		return b.do(ctx, true, func(c *ldap.Conn) error { return c.Modify(mod) })
	})
	if err != nil {
		if errors.Is(err, backend.ErrConflict) {
			return backend.CustomerUser{}, err // nothing was written
		}
		if dn != oldDN || (renamed && rdnIsLogin) {
			// A refused update changes nothing: undo the rename. The context
			// may be what failed, so the undo gets its own.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.RequestTimeout)
			defer cancel()
			if _, uerr := b.rename(uctx, dn, old.Login, nil); uerr != nil {
				b.log.Error("ldapbackend: could not undo a rename after a failed update", "op", "update", "login", login, "error", uerr)
			}
		}
		return backend.CustomerUser{}, schemaRefusal(err)
	}
	got, _, err := b.get(ctx, "update", u.Login)
	return got, err
}

// rename gives the entry the RDN login=<newLogin> and returns its new DN. A
// change of case only is a rename to an equal DN, which servers refuse; the
// attribute value is replaced in place then.
func (b *Backend) rename(ctx context.Context, dn, newLogin string, guard []ldap.Control) (string, error) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) < 2 {
		return "", errors.New("cannot parse the entry's DN")
	}
	parent := &ldap.DN{RDNs: parsed.RDNs[1:]}
	rdn := b.cfg.RDNAttribute + "=" + ldap.EscapeDN(newLogin)
	newDN := rdn + "," + parent.String()
	if normDN(newDN) == normDN(dn) {
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace(b.cfg.LoginAttribute, []string{newLogin})
		err := b.guarded(guard, func(controls []ldap.Control) error {
			mod.Controls = controls
			return b.do(ctx, true, func(c *ldap.Conn) error { return c.Modify(mod) })
		})
		return dn, err
	}
	err = b.guarded(guard, func(controls []ldap.Control) error {
		return b.do(ctx, false, func(c *ldap.Conn) error {
			return c.ModifyDN(ldap.NewModifyDNWithControlsRequest(dn, rdn, true, "", controls))
		})
	})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return "", backend.ErrDuplicateLogin
	}
	return newDN, err
}

// testHookBeforeUpdateWrite, when set (by tests), runs between Update's
// checks and its first write.
var testHookBeforeUpdateWrite func()

// controlTypeAssertion is the LDAP Assertion control (RFC 4528): the
// operation is made only if the entry matches the control's filter.
const controlTypeAssertion = "1.3.6.1.1.12"

// unchangedAssertion gives the control that makes a write fail unless the
// entry still has the entryCSN it had when read (nil when the directory
// gives no entryCSN, or refused the control before).
func (b *Backend) unchangedAssertion(e *ldap.Entry) []ldap.Control {
	csn := e.GetEqualFoldAttributeValue("entryCSN")
	if csn == "" || b.noAssertion.Load() {
		return nil
	}
	f, err := ldap.CompileFilter("(entryCSN=" + ldap.EscapeFilter(csn) + ")")
	if err != nil {
		return nil
	}
	return []ldap.Control{ldap.NewControlString(controlTypeAssertion, true, string(f.Bytes()))}
}

// guarded runs a write with the guard controls: an assertion that failed
// is backend.ErrConflict (nothing was written); a directory that does not
// know the control gets the write without it (the check made just before
// stands) and is not sent it again.
func (b *Backend) guarded(guard []ldap.Control, write func([]ldap.Control) error) error {
	err := write(guard)
	switch {
	case guard == nil || err == nil:
		return err
	case ldap.IsErrorWithCode(err, ldap.LDAPResultAssertionFailed):
		return backend.ErrConflict
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultProtocolError):
		b.noAssertion.Store(true)
		return write(nil)
	}
	return err
}

// SetPassword changes the user's password with the Password Modify extended
// operation (the server hashes it), falling back to replacing
// PasswordAttribute when the server does not support the operation. Empty
// and white-space-only passwords and passwords over
// backend.MaxNewPasswordBytes (72, what bcrypt reads) are refused before
// any network call, with a *backend.ValidationError.
func (b *Backend) SetPassword(ctx context.Context, login, password string) error {
	if err := b.setPasswordLogin(ctx, login, password); err != nil {
		return b.opErr("set password", err)
	}
	return nil
}

func (b *Backend) setPasswordLogin(ctx context.Context, login, password string) error {
	if b.ReadOnly() {
		return backend.ErrReadOnly
	}
	if err := checkNewPassword(password); err != nil {
		return err
	}
	_, dn, err := b.get(ctx, "set password", login)
	if err != nil {
		return err
	}
	return b.setPassword(ctx, dn, password)
}

func (b *Backend) setPassword(ctx context.Context, dn, password string) error {
	if !b.cfg.DisablePasswordModify {
		err := b.do(ctx, true, func(c *ldap.Conn) error {
			_, err := c.PasswordModify(ldap.NewPasswordModifyRequest(dn, "", password))
			return err
		})
		if err == nil || !ldap.IsErrorAnyOf(err, ldap.LDAPResultProtocolError,
			ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultNotSupported) {
			return err
		}
		b.log.Info("ldapbackend: Password Modify not supported, writing the password attribute", "attribute", b.cfg.PasswordAttribute)
	}
	mod := ldap.NewModifyRequest(dn, nil)
	switch b.cfg.PasswordEncoding {
	case PasswordActiveDirectory:
		mod.Replace(b.cfg.PasswordAttribute, []string{adPassword(password)})
	default:
		mod.Replace(b.cfg.PasswordAttribute, []string{password})
	}
	err := b.do(ctx, true, func(c *ldap.Conn) error { return c.Modify(mod) })
	if b.cfg.PasswordEncoding == PasswordActiveDirectory && ldap.IsErrorWithCode(err, ldap.LDAPResultConstraintViolation) {
		// AD's password policy (length, complexity, history): the
		// caller's input, not an outage. The server's message is not
		// quoted.
		return &backend.ValidationError{Field: backend.FieldPassword, Reason: "refused by the directory's password policy (length, complexity or history)"}
	}
	return err
}

// adPassword encodes a password for Active Directory's unicodePwd: the
// password in double quotes, as UTF-16 little endian.
func adPassword(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	return string(buf)
}

// schemaRefusal turns the directory's refusal of a value (bad syntax, a
// constraint, a schema violation) into a *backend.ValidationError; other
// errors pass unchanged. The server's message is not quoted: it may repeat
// the value.
func schemaRefusal(err error) error {
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidAttributeSyntax, ldap.LDAPResultConstraintViolation,
		ldap.LDAPResultObjectClassViolation, ldap.LDAPResultNamingViolation, ldap.LDAPResultInvalidDNSyntax) {
		var le *ldap.Error
		code := uint16(0)
		if errors.As(err, &le) {
			code = le.ResultCode
		}
		return &backend.ValidationError{Field: backend.FieldAttributes, Reason: "refused by the directory (" + ldap.LDAPResultCodeMap[code] + ")"}
	}
	return err
}
