package ldapbackend_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/internal/testad"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// The tests of this file run against a real Active Directory: a Samba AD
// domain controller that internal/testad provisions once per test binary.

// adTestValidAttribute holds "3" beside the disabled bit for
// invalid-temporarily accounts in the conformance configurations (a free
// single-valued string attribute of AD's user class).
const adTestValidAttribute = "employeeType"

// adTestConfig is the ActiveDirectory preset below ou, with the fields the
// conformance suite needs mapped: customer IDs in company (single-valued)
// and departmentNumber (multi-valued), invalid-temporarily in employeeType.
func adTestConfig(dc *testad.Server, ou string, writable bool) ldapbackend.Config {
	cfg := ldapbackend.ActiveDirectory()
	cfg.Name = "ad-test"
	cfg.URLs = []string{dc.LDAPSURL}
	cfg.TLS.CACertificatesPEM = dc.CAPEM
	cfg.BaseDN = ou
	cfg.CustomerIDAttribute = "company"
	cfg.CustomerIDsAttribute = "departmentNumber"
	cfg.ValidAttribute = adTestValidAttribute
	cfg.UPNSuffix = testad.UPNSuffix
	cfg.ReadOnly = ldapbackend.Bool(!writable)
	if writable {
		cfg.BindDN, cfg.BindPassword = testad.WriterDN, testad.WriterPassword
	} else {
		cfg.BindDN, cfg.BindPassword = testad.ServiceDN, testad.ServicePassword
	}
	cfg.PoolSize = 4
	return cfg
}

// adSeedEntry is the AD user object of a seed user, written by the test
// through the admin connection (not through the backend under test). A
// seed without a password gets a random one: AD enables no account without
// one.
func adSeedEntry(ou string, i int, u backend.CustomerUser, password string) *ldap.AddRequest {
	u.Login, u.Email = norm.NFC.String(u.Login), norm.NFC.String(u.Email)
	req := ldap.NewAddRequest(fmt.Sprintf("CN=seed-%d,%s", i, ou), nil)
	req.Attribute("objectClass", []string{"user"})
	add := func(attr, v string) {
		if v != "" {
			req.Attribute(attr, []string{v})
		}
	}
	add("sAMAccountName", u.Login)
	add("givenName", u.FirstName)
	add("sn", u.LastName)
	add("displayName", u.FullName())
	add("title", u.Title)
	add("mail", u.Email)
	add("telephoneNumber", u.Phone)
	add("facsimileTelephoneNumber", u.Fax)
	add("mobile", u.Mobile)
	add("streetAddress", u.Street)
	add("postalCode", u.Zip)
	add("l", u.City)
	add("co", u.Country)
	add("description", u.Comment)
	add("company", u.CustomerID)
	if len(u.CustomerIDs) > 0 {
		req.Attribute("departmentNumber", u.CustomerIDs)
	}
	uac := 512
	switch u.Valid {
	case backend.Invalid:
		uac = 514
	case backend.InvalidTemporarily:
		uac = 514
		add(adTestValidAttribute, "3")
	}
	if password == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		password = "Seed-" + hex.EncodeToString(b)
	}
	add("unicodePwd", testad.UnicodePwd(password))
	add("userAccountControl", strconv.Itoa(uac))
	return req
}

// adSeedOU makes a fresh OU holding the seed users (removed when the test
// ends: sAMAccountName is unique in the whole domain).
func adSeedOU(t testing.TB, dc *testad.Server, seed []backendtest.Seed) string {
	t.Helper()
	ou := dc.NewOU(t)
	reqs := make([]*ldap.AddRequest, 0, len(seed))
	for i, s := range seed {
		reqs = append(reqs, adSeedEntry(ou, i, s.User, s.Password))
	}
	require.NoError(t, dc.AddEntries(reqs...))
	return ou
}

// TestConformanceActiveDirectory runs the suite against Samba's AD: read
// only over LDAPS, writable over StartTLS, and writable over LDAPS.
func TestConformanceActiveDirectory(t *testing.T) {
	dc := testad.Shared(t)
	caps := backendtest.Capabilities{BlankPasswordsRefused: true, LooserIdentity: true}
	t.Run("ldaps-readonly", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			ou := adSeedOU(t, dc, seed)
			c := caps
			c.ReadOnly = true
			return backendtest.Harness{Backend: newBackend(t, adTestConfig(dc, ou, false)), Caps: c}
		})
	})
	t.Run("starttls-writable", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			ou := adSeedOU(t, dc, seed)
			cfg := adTestConfig(dc, ou, true)
			cfg.URLs = []string{dc.URL}
			cfg.StartTLS = true
			cfg.TLS.CACertificatesPEM, cfg.TLS.RootCAs = nil, dc.CAPool
			return backendtest.Harness{Backend: newBackend(t, cfg), Caps: caps}
		})
	})
	t.Run("ldaps-writable", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			ou := adSeedOU(t, dc, seed)
			return backendtest.Harness{Backend: newBackend(t, adTestConfig(dc, ou, true)), Caps: caps}
		})
	})
}

// adEntry reads one entry as Administrator.
func adEntry(t *testing.T, dc *testad.Server, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	c, err := dc.AdminConn()
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
	return res.Entries[0]
}

// TestActiveDirectoryWrites: what Add, Update and SetPassword write into
// AD's own attributes.
func TestActiveDirectoryWrites(t *testing.T) {
	dc := testad.Shared(t)
	ou := dc.NewOU(t)
	b := newBackend(t, adTestConfig(dc, ou, true))
	ctx := t.Context()

	u := backend.CustomerUser{Login: "kmiller", FirstName: "Kim", LastName: "Miller", Email: "kim@miller.example", CustomerID: "ACME"}
	got, err := b.Add(ctx, u, "Kim-Passw0rd")
	require.NoError(t, err)
	assert.Equal(t, backend.Valid, got.Valid)
	dn := "CN=Kim Miller," + ou
	e := adEntry(t, dc, dn, "sAMAccountName", "userPrincipalName", "userAccountControl", "displayName", "cn")
	assert.Equal(t, "kmiller", e.GetAttributeValue("sAMAccountName"))
	assert.Equal(t, "kmiller@"+testad.UPNSuffix, e.GetAttributeValue("userPrincipalName"))
	assert.Equal(t, "512", e.GetAttributeValue("userAccountControl"), "enabled, NORMAL_ACCOUNT, no PASSWD_NOTREQD")
	assert.Equal(t, "Kim Miller", e.GetAttributeValue("displayName"))
	_, err = b.Authenticate(ctx, "kmiller", "Kim-Passw0rd")
	require.NoError(t, err, "the new account can log in")

	t.Run("a second Kim Miller gets the login in its cn", func(t *testing.T) {
		u2 := u
		u2.Login, u2.Email = "kmiller2", "kim2@miller.example"
		_, err := b.Add(ctx, u2, "")
		require.NoError(t, err)
		e := adEntry(t, dc, "CN=Kim Miller (kmiller2),"+ou, "userAccountControl")
		assert.Equal(t, "512", e.GetAttributeValue("userAccountControl"), "enabled with a random password nobody knows")
		_, err = b.Authenticate(ctx, "kmiller2", "Kim-Passw0rd")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	})

	t.Run("Update keeps the other userAccountControl bits", func(t *testing.T) {
		c, err := dc.AdminConn()
		require.NoError(t, err)
		defer c.Close()
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace("userAccountControl", []string{"66048"}) // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
		require.NoError(t, c.Modify(mod))

		cur, err := b.Get(ctx, "kmiller")
		require.NoError(t, err)
		for _, step := range []struct {
			state backend.ValidState
			uac   string
			extra string
		}{
			{backend.Invalid, "66050", "2"},
			{backend.InvalidTemporarily, "66050", "3"},
			{backend.Valid, "66048", ""},
		} {
			cur.Valid = step.state
			cur.ChangedAt = time.Time{}
			got, err := b.Update(ctx, "kmiller", cur)
			require.NoError(t, err, step.state.String())
			assert.Equal(t, step.state, got.Valid)
			e := adEntry(t, dc, dn, "userAccountControl", adTestValidAttribute)
			assert.Equal(t, step.uac, e.GetAttributeValue("userAccountControl"), step.state.String())
			assert.Equal(t, step.extra, e.GetAttributeValue(adTestValidAttribute), step.state.String())
			_, err = b.Authenticate(ctx, "kmiller", "Kim-Passw0rd")
			if step.state == backend.Valid {
				require.NoError(t, err)
			} else {
				var ae *backend.AccountInvalidError
				require.ErrorAs(t, err, &ae, "Samba answers data 533 for a disabled account with the right password")
				assert.Equal(t, step.state, ae.State)
			}
			cur = got
		}
	})

	t.Run("SetPassword", func(t *testing.T) {
		require.NoError(t, b.SetPassword(ctx, "kmiller", "New-Passw0rd-2"))
		_, err := b.Authenticate(ctx, "kmiller", "New-Passw0rd-2")
		require.NoError(t, err)
		_, err = b.Authenticate(ctx, "kmiller", "Kim-Passw0rd")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	})

	t.Run("rename renames sAMAccountName and UPN, and the cn when it is the login", func(t *testing.T) {
		cur, err := b.Get(ctx, "kmiller")
		require.NoError(t, err)
		cur.Login = "kim.miller"
		_, err = b.Update(ctx, "kmiller", cur)
		require.NoError(t, err)
		e := adEntry(t, dc, dn, "sAMAccountName", "userPrincipalName")
		assert.Equal(t, "kim.miller", e.GetAttributeValue("sAMAccountName"), "CN=Kim Miller stays")
		assert.Equal(t, "kim.miller@"+testad.UPNSuffix, e.GetAttributeValue("userPrincipalName"))
		_, err = b.Authenticate(ctx, "kim.miller", "New-Passw0rd-2")
		require.NoError(t, err)

		// An entry named by its login moves with it.
		require.NoError(t, dc.AddEntries(adSeedEntryNamed("CN=loginname,"+ou, "loginname")))
		cur, err = b.Get(ctx, "loginname")
		require.NoError(t, err)
		cur.Login = "newname"
		_, err = b.Update(ctx, "loginname", cur)
		require.NoError(t, err)
		e = adEntry(t, dc, "CN=newname,"+ou, "sAMAccountName")
		assert.Equal(t, "newname", e.GetAttributeValue("sAMAccountName"))
	})

	t.Run("invalid-temporarily needs ValidAttribute", func(t *testing.T) {
		cfg := adTestConfig(dc, ou, true)
		cfg.ValidAttribute = ""
		b2 := newBackend(t, cfg)
		cur, err := b2.Get(ctx, "kim.miller")
		require.NoError(t, err)
		cur.Valid = backend.InvalidTemporarily
		_, err = b2.Update(ctx, "kim.miller", cur)
		var ve *backend.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, backend.FieldValid, ve.Field)
		cur.Valid = backend.Invalid
		got, err := b2.Update(ctx, "kim.miller", cur)
		require.NoError(t, err)
		assert.Equal(t, backend.Invalid, got.Valid)
	})
}

// adSeedEntryNamed is a minimal enabled user named dn.
func adSeedEntryNamed(dn, login string) *ldap.AddRequest {
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"user"})
	req.Attribute("sAMAccountName", []string{login})
	req.Attribute("givenName", []string{"Login"})
	req.Attribute("sn", []string{"Name"})
	req.Attribute("mail", []string{login + "@x.example"})
	req.Attribute("company", []string{"ACME"})
	req.Attribute("unicodePwd", []string{testad.UnicodePwd("Login-Passw0rd")})
	req.Attribute("userAccountControl", []string{"512"})
	return req
}

func TestActiveDirectoryRefusesPlainWrites(t *testing.T) {
	cfg := ldapbackend.ActiveDirectory()
	cfg.URLs = []string{"ldap://dc1.corp.example.com"}
	cfg.BaseDN = testad.BaseDN
	cfg.CustomerIDAttribute = "company"
	cfg.ReadOnly = ldapbackend.Bool(false)
	_, err := ldapbackend.New(cfg)
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.Contains(t, err.Error(), "encrypted connection")
	cfg.StartTLS = true
	_, err = ldapbackend.New(cfg)
	require.NoError(t, err)
}
