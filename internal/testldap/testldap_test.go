package testldap

import (
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

func TestSharedServer(t *testing.T) {
	srv := Shared(t)
	ou := srv.NewOU(t)

	for _, tc := range []struct {
		name     string
		url      string
		startTLS bool
	}{
		{"ldap", srv.URL, false},
		{"starttls", srv.URL, true},
		{"ldaps", srv.LDAPSURL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if srv.External && tc.url == "" {
				t.Skip("external server without ldaps URL")
			}
			c, err := ldap.DialURL(tc.url, ldap.DialWithTLSConfig(srv.TLSConfig()))
			require.NoError(t, err)
			defer c.Close()
			if tc.startTLS {
				require.NoError(t, c.StartTLS(srv.TLSConfig()))
			}
			dn, pw := srv.Reader()
			require.NoError(t, c.Bind(dn, pw))
			res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"ou"}, nil))
			require.NoError(t, err)
			require.Len(t, res.Entries, 1)
			_, ok := c.TLSConnectionState()
			require.Equal(t, tc.name != "ldap", ok)
		})
	}
}

func TestUserPasswordIsNotReadable(t *testing.T) {
	srv := Shared(t)
	ou := srv.NewOU(t)
	req := ldap.NewAddRequest("uid=pw,"+ou, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson", "customerUser"})
	req.Attribute("uid", []string{"pw"})
	req.Attribute("cn", []string{"P W"})
	req.Attribute("sn", []string{"W"})
	req.Attribute("userPassword", []string{"secret"})
	req.Attribute("customerID", []string{"C1"})
	req.Attribute("customerValid", []string{"1"})
	require.NoError(t, srv.AddEntries(req))

	c, err := ldap.DialURL(srv.URL)
	require.NoError(t, err)
	defer c.Close()
	dn, pw := srv.Writer()
	require.NoError(t, c.Bind(dn, pw))
	res, err := c.Search(ldap.NewSearchRequest("uid=pw,"+ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"*"}, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
	require.Equal(t, "C1", res.Entries[0].GetAttributeValue("customerID"))
	// The writer may write userPassword but reads it only because it may write; readers never see it.
	dn, pw = srv.Reader()
	require.NoError(t, c.Bind(dn, pw))
	res, err = c.Search(ldap.NewSearchRequest("uid=pw,"+ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"*"}, nil))
	require.NoError(t, err)
	require.Empty(t, res.Entries[0].GetAttributeValue("userPassword"))
	require.NoError(t, c.Bind("uid=pw,"+ou, "secret"))
	require.Error(t, c.Bind("uid=pw,"+ou, "wrong"))
}

func TestRestartKeepsData(t *testing.T) {
	srv := Private(t, Options{})
	require.NoError(t, srv.Stop())
	_, err := ldap.DialURL(srv.URL)
	require.Error(t, err)
	require.NoError(t, srv.Restart())
	c, err := srv.AdminConn()
	require.NoError(t, err)
	defer c.Close()
	dn, _ := srv.Writer()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
}

func TestMissingSlapdNamesThePackage(t *testing.T) {
	old := sbinDir
	sbinDir = t.TempDir()
	t.Cleanup(func() { sbinDir = old })
	t.Setenv("PATH", t.TempDir())
	_, err := Start(Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), "apt-get install slapd ldap-utils")
}
