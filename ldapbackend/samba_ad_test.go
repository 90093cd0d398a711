package ldapbackend_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
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
// seed without a password is enabled by PASSWD_NOTREQD (the backend never
// sends an empty password, so nobody logs in to it).
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
		uac |= 0x20 // PASSWD_NOTREQD: enabled without a password (setting one costs Samba about 50 ms)
	} else {
		add("unicodePwd", testad.UnicodePwd(password))
	}
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

// readOnlySeeds shares the OU of read-only harnesses between consecutive
// cases with the same seed (a read-only backend cannot change it): seeding
// is what costs on Samba. One OU at a time (logins are unique in the whole
// domain); the last goes when the parent test ends.
type readOnlySeeds struct {
	parent  testing.TB
	dc      *testad.Server
	mu      sync.Mutex
	key, ou string
}

func (r *readOnlySeeds) get(t *testing.T, seed []backendtest.Seed) string {
	key := fmt.Sprintf("%#v", seed)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ou != "" && key == r.key {
		return r.ou
	}
	if r.ou != "" {
		require.NoError(t, r.dc.DeleteTree(r.ou))
		r.ou = ""
	}
	ou := r.dc.NewOU(r.parent)
	reqs := make([]*ldap.AddRequest, 0, len(seed))
	for i, s := range seed {
		reqs = append(reqs, adSeedEntry(ou, i, s.User, s.Password))
	}
	require.NoError(t, r.dc.AddEntries(reqs...))
	r.key, r.ou = key, ou
	return ou
}

// TestConformanceActiveDirectory runs the suite against Samba's AD: read
// only over LDAPS, writable over StartTLS (the pattern of
// TestConformanceTLS; the writable case over LDAPS is TestActiveDirectoryWrites
// and the worked configuration).
func TestConformanceActiveDirectory(t *testing.T) {
	dc := testad.Shared(t)
	caps := backendtest.Capabilities{BlankPasswordsRefused: true, LooserIdentity: true,
		LoginForbidden: ldapbackend.SAMAccountNameForbidden}
	t.Run("ldaps-readonly", func(t *testing.T) {
		seeds := &readOnlySeeds{parent: t, dc: dc}
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			ou := seeds.get(t, seed)
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

// TestWorkedADConfigIsTheDoc: the package documentation shows corpAD and
// corpADWriter (example_test.go) verbatim.
func TestWorkedADConfigIsTheDoc(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	var code []string // the doc's code blocks, comment markers taken off
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "//\t") {
			code = append(code, line[3:])
		} else if line == "//" {
			code = append(code, "")
		}
	}
	docCode := strings.Join(code, "\n")
	for _, fn := range []string{"corpAD", "corpADWriter"} {
		text := string(src)
		start := strings.Index(text, "// "+fn+" ")
		require.GreaterOrEqual(t, start, 0, fn)
		end := strings.Index(text[start:], "\n}\n")
		require.Greater(t, end, 0, fn)
		assert.Contains(t, docCode, text[start:start+end+2], "doc.go shows %s as example_test.go has it", fn)
	}
}

// TestWorkedADConfig runs the worked configuration of the package
// documentation (corpAD, corpADWriter) against the Samba DC, whose seed is
// that domain: the service account, the customer OU, company as customer
// ID, the customer group with a nested group.
func TestWorkedADConfig(t *testing.T) {
	dc := testad.Shared(t)
	b := newBackend(t, corpAD([]string{dc.LDAPSURL}, dc.CAPEM, testad.ServicePassword))
	ctx := t.Context()

	users, err := b.Search(ctx, backend.Query{IncludeInvalid: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"asmith", "dgone", "jdoe"}, loginsOf(users),
		"the customer group's members, jdoe through the nested group; bnobody is in no group")
	users, err = b.Search(ctx, backend.Query{})
	require.NoError(t, err)
	assert.Equal(t, []string{"asmith", "jdoe"}, loginsOf(users), "dgone is disabled")
	u, err := b.Get(ctx, "JDOE")
	require.NoError(t, err)
	assert.Equal(t, "ACME", u.CustomerID)
	assert.Equal(t, "John", u.FirstName)
	assert.Equal(t, "jdoe@corp.example.com", u.Email)
	_, err = b.Get(ctx, "bnobody")
	require.ErrorIs(t, err, backend.ErrNotFound, "not a customer")

	for _, login := range []string{"jdoe", "jdoe@corp.example.com", "JDoe@Corp.Example.Com"} {
		got, err := b.Authenticate(ctx, login, testad.UserPassword)
		require.NoError(t, err, login)
		assert.Equal(t, "jdoe", got.Login, login)
	}
	_, err = b.Authenticate(ctx, "jdoe", "wrong")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	_, err = b.Authenticate(ctx, "jdoe@corp.example.com", "wrong")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	_, err = b.Authenticate(ctx, "jdoe", "")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	_, err = b.Authenticate(ctx, "dgone", testad.UserPassword)
	var ae *backend.AccountInvalidError
	require.ErrorAs(t, err, &ae, "Samba answers data 533 for the disabled account with the right password")
	assert.Equal(t, backend.Invalid, ae.State)
	_, err = b.Authenticate(ctx, "dgone", "wrong")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	require.NotErrorIs(t, err, backend.ErrAccountInvalid, "the state only with the right password (data 52e)")
	_, err = b.Authenticate(ctx, "bnobody", testad.UserPassword)
	require.ErrorIs(t, err, backend.ErrInvalidCredentials, "not a customer: not found")

	t.Run("writer", func(t *testing.T) {
		ou := dc.NewOU(t)
		cfg := corpADWriter(corpAD([]string{dc.LDAPSURL}, dc.CAPEM, testad.ServicePassword), testad.WriterDN, testad.WriterPassword)
		cfg.BaseDN = ou // a fresh OU of this test instead of OU=Customers
		w := newBackend(t, cfg)
		added, err := w.Add(ctx, backend.CustomerUser{Login: "pnew", FirstName: "Pat", LastName: "New",
			Email: "pat@new.example", CustomerID: "NEWCO"}, "Pat-Passw0rd-1")
		require.NoError(t, err)
		assert.Equal(t, backend.Valid, added.Valid)
		_, err = w.Authenticate(ctx, "pnew@corp.example.com", "Pat-Passw0rd-1")
		require.NoError(t, err, "LoginByUPN with the UPN the writer wrote")
		// The first logon wrote lastLogonTimestamp, a change of the entry:
		// an Update with the ChangedAt of before it would be a conflict.
		_, err = w.Update(ctx, "pnew", added)
		require.ErrorIs(t, err, backend.ErrConflict)
		cur, err := w.Get(ctx, "pnew")
		require.NoError(t, err)
		cur.Valid = backend.InvalidTemporarily
		got, err := w.Update(ctx, "pnew", cur)
		require.NoError(t, err)
		assert.Equal(t, backend.InvalidTemporarily, got.Valid)
		_, err = w.Authenticate(ctx, "pnew", "Pat-Passw0rd-1")
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, backend.InvalidTemporarily, ae.State)
	})

	t.Run("must change password", func(t *testing.T) {
		ou := dc.NewOU(t)
		require.NoError(t, dc.AddEntries(adSeedEntryNamed("CN=mustchange,"+ou, "mustchange")))
		c, err := dc.AdminConn()
		require.NoError(t, err)
		defer c.Close()
		mod := ldap.NewModifyRequest("CN=mustchange,"+ou, nil)
		mod.Replace("pwdLastSet", []string{"0"}) // must change at next logon
		require.NoError(t, c.Modify(mod))
		cfg := corpAD([]string{dc.LDAPSURL}, dc.CAPEM, testad.ServicePassword)
		cfg.BaseDN, cfg.GroupDN = ou, ""
		_, err = newBackend(t, cfg).Authenticate(ctx, "mustchange", "Login-Passw0rd")
		var pe *ldapbackend.PasswordExpiredError
		require.ErrorAs(t, err, &pe, "Samba answers data 773")
		assert.True(t, pe.MustChange)
		assert.ErrorIs(t, err, ldapbackend.ErrPasswordExpired)
		assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
		_, err = newBackend(t, cfg).Authenticate(ctx, "mustchange", "wrong")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
		require.NotErrorIs(t, err, ldapbackend.ErrPasswordExpired)
	})
}

// TestActiveDirectoryGroupResolver: every mode of the resolver finds the
// nested membership on AD; GroupsInChain in one search.
func TestActiveDirectoryGroupResolver(t *testing.T) {
	dc := testad.Shared(t)
	cfg := corpAD([]string{dc.LDAPSURL}, dc.CAPEM, testad.ServicePassword)
	cfg.GroupDN = "" // the resolver, not the filter, decides here
	b := newBackend(t, cfg)
	mappings := []ldapbackend.GroupMapping{
		{DN: testad.CustomerGroupDN, Group: "customers", Keys: []string{"ro"}},
		{DN: testad.NestedGroupDN, Group: "eu", Keys: []string{"rw"}},
	}
	for _, mode := range []ldapbackend.GroupMode{ldapbackend.GroupsInChain, ldapbackend.GroupsByMember, ldapbackend.GroupsByMemberOf} {
		r, err := b.GroupResolver(ldapbackend.GroupsConfig{Groups: mappings, Mode: mode, BaseDN: testad.GroupsDN})
		require.NoError(t, err)
		for login, want := range map[string][]backend.GroupPermission{
			"jdoe":    {{Group: "customers", Permission: "ro"}, {Group: "eu", Permission: "rw"}}, // through the nested group
			"asmith":  {{Group: "customers", Permission: "ro"}},
			"bnobody": nil,
		} {
			got, err := r.Groups(t.Context(), backend.CustomerUser{Login: login})
			require.NoError(t, err, "mode %d %s", mode, login)
			assert.Equal(t, want, got, "mode %d %s", mode, login)
		}
	}
}

// TestActiveDirectoryPagingPastMaxPageSize: 2,500 users come back whole
// although Samba sends at most 1,000 per page, with PageSize below and
// above that.
func TestActiveDirectoryPagingPastMaxPageSize(t *testing.T) {
	dc := testad.Shared(t)
	dc.Bulk(t)
	for _, pageSize := range []int{500, 2000} {
		cfg := adTestConfig(dc, testad.BulkDN, false)
		cfg.PageSize = pageSize
		b := newBackend(t, cfg)
		users, err := b.Search(t.Context(), backend.Query{CustomerID: "BULK", Limit: backend.MaxLimit})
		require.NoError(t, err, "page size %d", pageSize)
		require.Len(t, users, testad.BulkUsers, "page size %d", pageSize)
		assert.Equal(t, "adpage0001", users[0].Login)
		assert.Equal(t, fmt.Sprintf("adpage%04d", testad.BulkUsers), users[len(users)-1].Login)
		// Words that narrow nothing on the server scan every entry page by page.
		users, err = b.Search(t.Context(), backend.Query{Search: "bulk user", Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, []string{"adpage0001", "adpage0002", "adpage0003"}, loginsOf(users))
	}
}

// TestActiveDirectoryLockout: with a lockout policy, an account locked by
// wrong passwords gets data 775 from Samba for any password, the wrong one
// too: so 775 reveals nothing about the password, and Authenticate answers
// ErrInvalidCredentials for it (the contract gives the state only after the
// right password). The policy is the domain's, so it is set for this
// test only (the tests of this binary run one at a time).
func TestActiveDirectoryLockout(t *testing.T) {
	dc := testad.Shared(t)
	policy := func(threshold string) error {
		c, err := dc.AdminConn()
		if err != nil {
			return err
		}
		defer c.Close()
		mod := ldap.NewModifyRequest(testad.BaseDN, nil)
		mod.Replace("lockoutThreshold", []string{threshold})
		mod.Replace("lockoutDuration", []string{"-18000000000"})          // 30 minutes
		mod.Replace("lockOutObservationWindow", []string{"-18000000000"}) // 30 minutes
		return c.Modify(mod)
	}
	require.NoError(t, policy("2"))
	t.Cleanup(func() { assert.NoError(t, policy("0")) })

	ou := dc.NewOU(t)
	require.NoError(t, dc.AddEntries(adSeedEntryNamed("CN=locked,"+ou, "lockme")))
	cfg := corpAD([]string{dc.LDAPSURL}, dc.CAPEM, testad.ServicePassword)
	cfg.BaseDN, cfg.GroupDN = ou, ""
	b := newBackend(t, cfg)
	for i := 0; i < 2; i++ {
		_, err := b.Authenticate(t.Context(), "lockme", "wrong")
		require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	}
	for _, pw := range []string{"wrong", "Login-Passw0rd"} {
		_, err := dc.Conn("CN=locked,"+ou, pw)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "data 775", "Samba says locked whatever the password")
		_, err = b.Authenticate(t.Context(), "lockme", pw)
		require.ErrorIs(t, err, backend.ErrInvalidCredentials, pw)
		require.NotErrorIs(t, err, backend.ErrAccountInvalid, pw)
	}
}

// TestActiveDirectoryPasswordPolicy: a password AD's policy refuses is a
// *backend.ValidationError for the password, from SetPassword and Add (which
// then stores nothing). The policy is the domain's, set for this test only.
func TestActiveDirectoryPasswordPolicy(t *testing.T) {
	dc := testad.Shared(t)
	policy := func(minLength string) error {
		c, err := dc.AdminConn()
		if err != nil {
			return err
		}
		defer c.Close()
		mod := ldap.NewModifyRequest(testad.BaseDN, nil)
		mod.Replace("minPwdLength", []string{minLength})
		return c.Modify(mod)
	}
	require.NoError(t, policy("16"))
	t.Cleanup(func() { assert.NoError(t, policy("0")) })
	ou := dc.NewOU(t)
	b := newBackend(t, adTestConfig(dc, ou, true))
	ctx := t.Context()

	u := backend.CustomerUser{Login: "policy", FirstName: "Poli", LastName: "Cy", Email: "policy@x.example", CustomerID: "ACME"}
	_, err := b.Add(ctx, u, "short-1")
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldPassword, ve.Field)
	assert.NotContains(t, err.Error(), "short-1")
	_, err = b.Get(ctx, "policy")
	require.ErrorIs(t, err, backend.ErrNotFound, "a refused Add stores nothing")

	_, err = b.Add(ctx, u, "a-long-enough-passw0rd")
	require.NoError(t, err)
	err = b.SetPassword(ctx, "policy", "short-2")
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldPassword, ve.Field)
	_, err = b.Authenticate(ctx, "policy", "a-long-enough-passw0rd")
	require.NoError(t, err, "the old password stands")
}
