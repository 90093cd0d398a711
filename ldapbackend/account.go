package ldapbackend

import (
	"context"
	"crypto/rand"
	"errors"
	"regexp"
	"strconv"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// Active Directory's userAccountControl bits used here.
const (
	uacAccountDisable   = 0x2
	uacPasswdNotReqd    = 0x20
	uacNormalAccount    = 0x200
	attrAccountControl  = "userAccountControl"
	attrUserPrincipal   = "userPrincipalName"
	attrUSNChanged      = "uSNChanged"
	ruleBitAnd          = "1.2.840.113556.1.4.803"
	enabledOnly         = "(!(" + attrAccountControl + ":" + ruleBitAnd + ":=2))"
	temporarilyDisabled = "3"
)

// SAMAccountNameForbidden are the characters Active Directory refuses in
// sAMAccountName; with AccountControl and that login attribute, Add and
// Update refuse such logins with a *backend.ValidationError before
// writing.
const SAMAccountNameForbidden = `"/\[]:;|=,+*?<>`

// accountControlAttr is userAccountControl when AccountControl is on.
func (b *Backend) accountControlAttr() string {
	if b.cfg.AccountControl {
		return attrAccountControl
	}
	return ""
}

// usnAttr is uSNChanged (see changedAt) when AccountControl is on.
func (b *Backend) usnAttr() string {
	if b.cfg.AccountControl {
		return attrUSNChanged
	}
	return ""
}

// upnAttr is userPrincipalName when it is written or logged in with.
func (b *Backend) upnAttr() string {
	if b.cfg.LoginByUPN || b.cfg.UPNSuffix != "" {
		return attrUserPrincipal
	}
	return ""
}

// accountState is the validity of an entry by its userAccountControl: the
// disabled bit makes it invalid, or invalid-temporarily when ValidAttribute
// holds 3. An entry without the attribute (not an AD account) is valid.
func (b *Backend) accountState(e *ldap.Entry) backend.ValidState {
	uac, ok := accountControl(e)
	if !ok || uac&uacAccountDisable == 0 {
		return backend.Valid
	}
	if a := b.cfg.ValidAttribute; a != "" && e.GetEqualFoldAttributeValue(a) == temporarilyDisabled {
		return backend.InvalidTemporarily
	}
	return backend.Invalid
}

func accountControl(e *ldap.Entry) (int64, bool) {
	v := e.GetEqualFoldAttributeValue(attrAccountControl)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// withState gives uac with the disabled bit set for a user that is not
// valid and cleared for a valid one; every other bit stays.
func withState(uac int64, state backend.ValidState) int64 {
	if state == backend.Valid {
		return uac &^ uacAccountDisable
	}
	return uac | uacAccountDisable
}

// newAccountControl is what Add writes after the password: NORMAL_ACCOUNT,
// disabled for a user that is not valid (the PASSWD_NOTREQD bit AD sets on
// accounts created without a value is dropped).
func newAccountControl(state backend.ValidState) int64 {
	return withState(uacNormalAccount, state)
}

// randomPassword is the password of an account Add creates without one:
// AD enables no account without a password, and nobody knows this one
// (SetPassword gives the user a password). It has every character class
// AD's complexity rule counts.
func randomPassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	out := make([]byte, len(buf))
	for i, c := range buf {
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return "Aa1-" + string(out)
}

// setAccountControl writes userAccountControl.
func (b *Backend) setAccountControl(ctx context.Context, dn string, uac int64) error {
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace(attrAccountControl, []string{strconv.FormatInt(uac, 10)})
	return schemaRefusal(b.do(ctx, true, func(c *ldap.Conn) error { return c.Modify(mod) }))
}

// ErrPasswordExpired is the error of an Authenticate whose password was
// right but has expired or must be changed before the first login (Active
// Directory's bind answers "data 532" and "data 773"). It also matches
// backend.ErrInvalidCredentials, so that a caller that knows only the
// contract's errors refuses the login; one that knows this error can offer
// a password change.
var ErrPasswordExpired = errors.New("password expired or must be changed")

// PasswordExpiredError is ErrPasswordExpired with its reason.
type PasswordExpiredError struct {
	// MustChange: the password must be changed before the first use
	// (data 773; pwdLastSet 0), rather than expired (data 532).
	MustChange bool
}

// Error gives "password expired or must be changed (must change)".
func (e *PasswordExpiredError) Error() string {
	if e.MustChange {
		return ErrPasswordExpired.Error() + " (must change)"
	}
	return ErrPasswordExpired.Error() + " (expired)"
}

// Is makes errors.Is true for ErrPasswordExpired and
// backend.ErrInvalidCredentials.
func (e *PasswordExpiredError) Is(target error) bool {
	return target == ErrPasswordExpired || target == backend.ErrInvalidCredentials
}

// adSubCode finds Active Directory's reason in the diagnostic message of a
// refused bind: "80090308: LdapErr: DSID-0C0903A9, comment:
// AcceptSecurityContext error, data 52e, v1db1".
var adSubCode = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{3,8})\b`)

// adBindRefusal maps the AD reason of a refused bind (result 49) to the
// backend's error, given the state the user was read with. AD names the
// reason only when the password was right (otherwise data 52e), except
// for a locked-out account: 775 comes whatever the password (verified on
// Samba), so it reveals nothing about the password and gives
// ErrInvalidCredentials, as the contract gives the state only after the
// right password. Samba answers 533 and 773 as Windows does.
//
//	52e wrong password, 525 no such user    ErrInvalidCredentials
//	533 account disabled, 701 expired       AccountInvalidError (the read state, or Invalid)
//	775 account locked out                  ErrInvalidCredentials (sent for any password)
//	530, 531 not at this time or workstation AccountInvalidError (InvalidTemporarily)
//	532 password expired                    PasswordExpiredError
//	773 password must be changed            PasswordExpiredError{MustChange: true}
func adBindRefusal(diagnostic string, state backend.ValidState) error {
	m := adSubCode.FindStringSubmatch(diagnostic)
	if m == nil {
		return backend.ErrInvalidCredentials
	}
	invalid := state
	if invalid == backend.Valid {
		invalid = backend.Invalid
	}
	switch m[1] {
	case "533", "701":
		return &backend.AccountInvalidError{State: invalid}
	case "530", "531":
		return &backend.AccountInvalidError{State: backend.InvalidTemporarily}
	case "532":
		return &PasswordExpiredError{}
	case "773":
		return &PasswordExpiredError{MustChange: true}
	}
	return backend.ErrInvalidCredentials
}
