package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/internal/testldap"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
)

func TestMain(m *testing.M) {
	code := testmysql.Run(m)
	testldap.StopShared()
	os.Exit(code)
}

// setFlag gives a flag variable a value for one test.
func setFlag[T any](t *testing.T, p *T, v T) {
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// walkTwice runs the walk-through twice on the same store: the second run
// finds its users there already and must still pass.
func walkTwice(t *testing.T, which string) {
	setFlag(t, &hasher, password.Hasher{Cost: password.MinCost})
	for run1 := range 2 {
		var out bytes.Buffer
		require.NoError(t, run(t.Context(), &out, which), "run %d:\n%s", run1+1, out.String())
		text := out.String()
		if run1 == 0 {
			assert.Contains(t, text, "added hhuber")
		} else {
			assert.Contains(t, text, "hhuber exists already")
		}
		assert.Contains(t, text, "welcome, Hans Huber")
		assert.Contains(t, text, "(ErrAccountInvalid: true)")
		assert.Contains(t, text, "still found for ticket history: hhuber, Hans Huber, state invalid-temporarily")
		assert.Contains(t, text, "-> hhuber [invalid-temporarily], mmeier [valid]")
	}
}

// TestWalkThroughSQL runs the example with -backend sql against a throwaway MariaDB.
func TestWalkThroughSQL(t *testing.T) {
	db := testmysql.NewDatabase(t)
	setFlag(t, sqlDSN, db.DSN())
	walkTwice(t, "sql")
}

// TestWalkThroughLDAP runs the example with -backend ldap against a throwaway slapd.
func TestWalkThroughLDAP(t *testing.T) {
	srv := testldap.Shared(t)
	dn, pw := srv.Writer()
	setFlag(t, ldapURL, srv.URL)
	setFlag(t, ldapBaseDN, srv.NewOU(t))
	setFlag(t, ldapBindDN, dn)
	setFlag(t, ldapBindPassword, pw)
	walkTwice(t, "ldap")
}

// TestMissingFlags: the SQL and LDAP choices start nothing and name what is missing.
func TestMissingFlags(t *testing.T) {
	setFlag(t, sqlDSN, "")
	err := run(t.Context(), &bytes.Buffer{}, "sql")
	require.ErrorContains(t, err, "-backend sql needs the flag -dsn")
	setFlag(t, ldapURL, "")
	setFlag(t, ldapBaseDN, "")
	err = run(t.Context(), &bytes.Buffer{}, "ldap")
	require.ErrorContains(t, err, "missing required flags -ldap-base-dn, -ldap-url")
}
