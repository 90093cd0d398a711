package ldapbackend

import (
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
)

// TestADBindRefusal maps the documented diagnostic strings of Active
// Directory's refused binds (result 49, "data <code>"). Samba 4.17 answers
// 52e, 533, 773 and 775 (verified in samba_ad_test.go); 525, 530, 531,
// 532 and 701 are tested here only, on the strings Windows servers send.
func TestADBindRefusal(t *testing.T) {
	msg := func(code string) string {
		return "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data " + code + ", v3839"
	}
	for code, want := range map[string]struct {
		invalid  backend.ValidState // 0: not an AccountInvalidError
		expired  bool
		mustChg  bool
		fromRead bool
	}{
		"52e": {},
		"525": {},
		"533": {invalid: backend.Invalid, fromRead: true},
		"701": {invalid: backend.Invalid, fromRead: true},
		"775": {}, // sent for any password: says nothing of it
		"530": {invalid: backend.InvalidTemporarily},
		"531": {invalid: backend.InvalidTemporarily},
		"532": {expired: true},
		"773": {expired: true, mustChg: true},
		"568": {}, // too many security IDs: not a state, a refusal
	} {
		for _, read := range []backend.ValidState{backend.Valid, backend.InvalidTemporarily} {
			err := adBindRefusal(msg(code), read)
			var ae *backend.AccountInvalidError
			var pe *PasswordExpiredError
			switch {
			case want.invalid != 0:
				require.ErrorAs(t, err, &ae, code)
				state := want.invalid
				if want.fromRead && read != backend.Valid {
					state = read // the stored state says which kind of invalid
				}
				assert.Equal(t, state, ae.State, code)
				assert.NotErrorIs(t, err, backend.ErrInvalidCredentials, code)
			case want.expired:
				require.ErrorAs(t, err, &pe, code)
				assert.Equal(t, want.mustChg, pe.MustChange, code)
				assert.ErrorIs(t, err, ErrPasswordExpired, code)
				assert.ErrorIs(t, err, backend.ErrInvalidCredentials, "a caller knowing only the contract refuses the login")
				assert.NotErrorIs(t, err, backend.ErrAccountInvalid, code)
			default:
				assert.Same(t, backend.ErrInvalidCredentials, err, code)
			}
		}
	}
	// Upper case, and a message without a code (OpenLDAP).
	assert.IsType(t, &backend.AccountInvalidError{}, adBindRefusal("... DATA 533, v1db1", backend.Valid))
	assert.Same(t, backend.ErrInvalidCredentials, adBindRefusal("", backend.Valid))
	assert.Same(t, backend.ErrInvalidCredentials, adBindRefusal("invalid credentials", backend.Invalid))
}

func TestRefusedBindCarriesTheDiagnostic(t *testing.T) {
	le := ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1"))
	assert.Contains(t, diagnostic(le), "data 775")
	rb := &refusedBind{diagnostic: diagnostic(le)}
	assert.ErrorIs(t, rb, backend.ErrInvalidCredentials)
	assert.NotContains(t, rb.Error(), "775", "the message is the contract's")
	assert.Equal(t, "", diagnostic(errors.New("other")))
}

func TestAccountControlBits(t *testing.T) {
	assert.EqualValues(t, 512, newAccountControl(backend.Valid))
	assert.EqualValues(t, 514, newAccountControl(backend.Invalid))
	assert.EqualValues(t, 514, newAccountControl(backend.InvalidTemporarily))
	// Other bits (DONT_EXPIRE_PASSWORD 0x10000, SMARTCARD_REQUIRED 0x40000) stay.
	assert.EqualValues(t, 0x10000|0x40000|0x200|0x2, withState(0x10000|0x40000|0x200, backend.Invalid))
	assert.EqualValues(t, 0x10000|0x40000|0x200, withState(0x10000|0x40000|0x200|0x2, backend.Valid))
	p := randomPassword()
	assert.GreaterOrEqual(t, len(p), 32)
	assert.NotEqual(t, p, randomPassword())
}
