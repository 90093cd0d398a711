package testad

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

func search(t *testing.T, c *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, attrs, nil), 1000)
	require.NoError(t, err)
	return res.Entries
}

func TestSharedServer(t *testing.T) {
	dc := Shared(t)

	t.Run("starttls with the domain CA", func(t *testing.T) {
		c, err := ldap.DialURL(dc.URL)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.StartTLS(dc.TLSConfig()))
		require.NoError(t, c.Bind(ServiceDN, ServicePassword))
	})

	c, err := dc.Conn(ServiceDN, ServicePassword)
	require.NoError(t, err)
	defer c.Close()

	t.Run("seed users", func(t *testing.T) {
		for _, u := range Seed {
			es := search(t, c, CustomersDN, "(sAMAccountName="+u.Login+")", "userAccountControl", "company", "mail", "userPrincipalName")
			require.Len(t, es, 1, u.Login)
			want := "512"
			if u.Disabled {
				want = "514"
			}
			require.Equal(t, want, es[0].GetAttributeValue("userAccountControl"), u.Login)
			require.Equal(t, u.Company, es[0].GetAttributeValue("company"))
			require.Equal(t, u.Login+"@"+UPNSuffix, es[0].GetAttributeValue("userPrincipalName"))
			require.Equal(t, u.DN(), es[0].DN)
		}
	})

	t.Run("user bind", func(t *testing.T) {
		uc, err := dc.Conn(Seed[0].DN(), UserPassword)
		require.NoError(t, err)
		_ = uc.Close()
		_, err = dc.Conn(Seed[0].DN(), "wrong")
		require.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials), "%v", err)
	})

	t.Run("nested groups through the in-chain rule", func(t *testing.T) {
		direct := search(t, c, CustomersDN, "(memberOf="+ldap.EscapeFilter(CustomerGroupDN)+")", "sAMAccountName")
		chain := search(t, c, CustomersDN, "(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(CustomerGroupDN)+")", "sAMAccountName")
		names := func(es []*ldap.Entry) []string {
			var out []string
			for _, e := range es {
				out = append(out, e.GetAttributeValue("sAMAccountName"))
			}
			return out
		}
		require.ElementsMatch(t, []string{"asmith", "dgone"}, names(direct))
		require.ElementsMatch(t, []string{"asmith", "dgone", "jdoe"}, names(chain))
	})

	t.Run("bulk users past MaxPageSize", func(t *testing.T) {
		dc.Bulk(t)
		es := search(t, c, BulkDN, "(&(objectCategory=person)(objectClass=user))", "sAMAccountName")
		require.Len(t, es, BulkUsers)
	})

	t.Run("NewOU is removed with its users", func(t *testing.T) {
		var ou string
		t.Run("inner", func(t *testing.T) {
			ou = dc.NewOU(t)
			req := ldap.NewAddRequest("CN=tmp user,"+ou, nil)
			req.Attribute("objectClass", []string{"user"})
			req.Attribute("sAMAccountName", []string{"tmpuser"})
			require.NoError(t, dc.AddEntries(req))
		})
		require.Empty(t, search(t, c, BaseDN, "(sAMAccountName=tmpuser)", "dn"))
		_, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
		require.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject), "%v", err)
	})
}

func TestMissingToolNamesThePackages(t *testing.T) {
	_, err := lookTool("samba-no-such-tool")
	require.Error(t, err)
	require.Contains(t, err.Error(), "apt-get install samba samba-ad-dc samba-ad-provision ldb-tools")
}
