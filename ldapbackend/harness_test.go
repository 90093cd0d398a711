package ldapbackend_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/internal/testad"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		testad.StartShared() // the Samba DC provisions while the OpenLDAP tests run
	}
	code := m.Run()
	testldap.StopShared()
	testad.StopShared()
	stopBench()
	os.Exit(code)
}

// testConfig is the OpenLDAP preset fitted to the test schema: customer IDs
// and validity in the customerUser auxiliary class, country and email in
// UTF-8 text attributes (c takes two-letter codes only, mail is IA5String and
// cannot hold internationalised addresses such as müller@bücher.example).
func testConfig(srv *testldap.Server, ou string, writable bool) ldapbackend.Config {
	cfg := ldapbackend.OpenLDAP()
	cfg.Name = "ldap-test"
	cfg.URLs = []string{srv.URL}
	cfg.BaseDN = ou
	cfg.Attributes.Country = "customerCountry"
	cfg.Attributes.Email = "customerMail"
	cfg.CustomerIDAttribute = "customerID"
	cfg.CustomerIDsAttribute = "customerIDs"
	cfg.ValidAttribute = "customerValid"
	cfg.ObjectClasses = []string{"inetOrgPerson", "customerUser"}
	cfg.ReadOnly = ldapbackend.Bool(!writable)
	if writable {
		cfg.BindDN, cfg.BindPassword = srv.Writer()
	} else {
		cfg.BindDN, cfg.BindPassword = srv.Reader()
	}
	cfg.PoolSize = 4
	return cfg
}

func newBackend(t testing.TB, cfg ldapbackend.Config) *ldapbackend.Backend {
	t.Helper()
	b, err := ldapbackend.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// seedEntry is the entry the test schema gives a user, written by the test
// through the admin connection (not through the backend under test).
//
// Logins and emails are written in NFC, as Add writes them.
func seedEntry(ou string, u backend.CustomerUser, password string) *ldap.AddRequest {
	u.Login, u.Email = norm.NFC.String(u.Login), norm.NFC.String(u.Email)
	req := ldap.NewAddRequest("uid="+ldap.EscapeDN(u.Login)+","+ou, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson", "customerUser"})
	add := func(attr, v string) {
		if v != "" {
			req.Attribute(attr, []string{v})
		}
	}
	add("uid", u.Login)
	add("cn", u.FirstName+" "+u.LastName)
	add("givenName", u.FirstName)
	add("sn", u.LastName)
	add("title", u.Title)
	add("customerMail", u.Email)
	add("telephoneNumber", u.Phone)
	add("facsimileTelephoneNumber", u.Fax)
	add("mobile", u.Mobile)
	add("street", u.Street)
	add("postalCode", u.Zip)
	add("l", u.City)
	add("customerCountry", u.Country)
	add("description", u.Comment)
	add("customerID", u.CustomerID)
	if len(u.CustomerIDs) > 0 {
		req.Attribute("customerIDs", u.CustomerIDs)
	}
	valid := u.Valid
	if valid == 0 {
		valid = backend.Valid
	}
	add("customerValid", strconv.Itoa(int(valid)))
	add("userPassword", password)
	return req
}

// seedOU makes a fresh OU holding the seed users. slapd's DN matching folds
// case, width and compatibility forms, so two seed users of distinct
// identities ("alice" and full-width "ａｌｉｃｅ") can have colliding
// uid=<login> DNs: the second one is then named cn=seed-<n> instead, as a
// directory filled by other tools may name its entries.
func seedOU(t testing.TB, srv *testldap.Server, seed []backendtest.Seed) string {
	t.Helper()
	ou := srv.NewOU(t)
	for i, s := range seed {
		req := seedEntry(ou, s.User, s.Password)
		err := srv.AddEntries(req)
		if ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultEntryAlreadyExists) {
			rdn := fmt.Sprintf("seed-%d", i)
			req.DN = "cn=" + rdn + "," + ou
			for j := range req.Attributes {
				if req.Attributes[j].Type == "cn" {
					req.Attributes[j].Vals = append(req.Attributes[j].Vals, rdn)
				}
			}
			err = srv.AddEntries(req)
		}
		require.NoError(t, err)
	}
	return ou
}

func TestConformanceWritable(t *testing.T) {
	srv := testldap.Shared(t)
	backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
		ou := seedOU(t, srv, seed)
		b := newBackend(t, testConfig(srv, ou, true))
		return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{BlankPasswordsRefused: true, LooserIdentity: true}}
	})
}

func TestConformanceReadOnly(t *testing.T) {
	srv := testldap.Shared(t)
	backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
		ou := seedOU(t, srv, seed)
		b := newBackend(t, testConfig(srv, ou, false))
		return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{ReadOnly: true, BlankPasswordsRefused: true, LooserIdentity: true}}
	})
}

// TestConformancePrefixAutoLogin runs the suite once more with prefix
// matching and generated logins.
func TestConformancePrefixAutoLogin(t *testing.T) {
	srv := testldap.Shared(t)
	backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
		ou := seedOU(t, srv, seed)
		cfg := testConfig(srv, ou, true)
		cfg.MatchPrefix = true
		cfg.AutoLoginPrefix = "ldap"
		b := newBackend(t, cfg)
		return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{
			BlankPasswordsRefused: true, MatchPrefix: true, AutoLoginPrefix: "ldap", LooserIdentity: true}}
	})
}

// TestConformanceTLS runs the suite over ldaps:// (read-only) and StartTLS
// (writable), as the plain-LDAP runs above do over ldap://.
func TestConformanceTLS(t *testing.T) {
	srv := testldap.Shared(t)
	if srv.External {
		t.Skip("needs the test CA of a private server")
	}
	t.Run("ldaps", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			ou := seedOU(t, srv, seed)
			cfg := testConfig(srv, ou, false)
			cfg.URLs = []string{srv.LDAPSURL}
			cfg.TLS.CACertificatesPEM = srv.CAPEM
			b := newBackend(t, cfg)
			return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{ReadOnly: true, BlankPasswordsRefused: true, LooserIdentity: true}}
		})
	})
	t.Run("starttls", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			ou := seedOU(t, srv, seed)
			cfg := testConfig(srv, ou, true)
			cfg.StartTLS = true
			cfg.TLS.RootCAs = srv.CAPool
			b := newBackend(t, cfg)
			return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{BlankPasswordsRefused: true, LooserIdentity: true}}
		})
	})
}
