package ldapbackend

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testldap"
)

// TestUpdateConflictAcrossProcesses: another process (here the admin
// connection) changes the entry after Update's check and before its write;
// the directory's Assertion control on the entryCSN refuses the write, so
// the other change is not lost: ErrConflict, nothing written. Without the
// control the write went through.
func TestUpdateConflictAcrossProcesses(t *testing.T) {
	srv := testldap.Shared(t)
	ou := srv.NewOU(t)
	req := ldap.NewAddRequest("uid=alice,"+ou, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson", "customerUser"})
	for attr, v := range map[string]string{"uid": "alice", "cn": "Alice Anders", "givenName": "Alice", "sn": "Anders",
		"customerMail": "alice@example.org", "customerID": "A", "customerValid": "1"} {
		req.Attribute(attr, []string{v})
	}
	require.NoError(t, srv.AddEntries(req))
	cfg := OpenLDAP()
	cfg.URLs = []string{srv.URL}
	cfg.BaseDN = ou
	cfg.Attributes.Email = "customerMail"
	cfg.CustomerIDAttribute = "customerID"
	cfg.ValidAttribute = "customerValid"
	cfg.ObjectClasses = []string{"inetOrgPerson", "customerUser"}
	cfg.ReadOnly = Bool(false)
	cfg.BindDN, cfg.BindPassword = srv.Writer()
	b, err := New(cfg)
	require.NoError(t, err)
	defer b.Close()
	ctx := t.Context()

	for _, rename := range []bool{false, true} {
		u, err := b.Get(ctx, "alice")
		require.NoError(t, err)
		testHookBeforeUpdateWrite = func() {
			c, err := srv.AdminConn()
			require.NoError(t, err)
			defer c.Close()
			mod := ldap.NewModifyRequest("uid=alice,"+ou, nil)
			mod.Replace("description", []string{"the other admin's change"})
			require.NoError(t, c.Modify(mod))
		}
		u.Comment = "mine"
		if rename {
			u.Login = "alice2"
		}
		_, err = b.Update(ctx, "alice", u)
		testHookBeforeUpdateWrite = nil
		require.ErrorIs(t, err, backend.ErrConflict, "rename %v", rename)
		got, err := b.Get(ctx, "alice")
		require.NoError(t, err, "not renamed")
		assert.Equal(t, "the other admin's change", got.Comment)
	}
	// A stamp that is not the stored one conflicts; the stored one passes.
	u, err := b.Get(ctx, "alice")
	require.NoError(t, err)
	u.ChangedAt, u.Comment = u.ChangedAt.AddDate(-1, 0, 0), "stale but checked"
	_, err = b.Update(ctx, "alice", u)
	require.ErrorIs(t, err, backend.ErrConflict)
	u.ChangedAt = u.ChangedAt.AddDate(1, 0, 0)
	_, err = b.Update(ctx, "alice", u)
	require.NoError(t, err)
}
