package policy_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/policy"
)

// The lockout rules on the SQL store (OTRS customer_preferences on a real
// MariaDB), as on the memory store.
func TestLockoutSQLPreferences(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB (left out by -short)")
	}
	db := testmysql.NewDatabase(t).DB
	testLockout(t, newSQLPreferences(t, db, policy.SQLPreferencesConfig{CreateTable: true}))
}

// 50 concurrent wrong passwords through two Directories (two app instances)
// sharing one customer_preferences table are counted exactly, and lock the
// user out once.
func TestConcurrentFailuresCountedExactlySQL(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB (left out by -short)")
	}
	d := testmysql.NewDatabase(t)
	prefsA := newSQLPreferences(t, d.DB, policy.SQLPreferencesConfig{CreateTable: true})
	prefsB := newSQLPreferences(t, d.Open(t), policy.SQLPreferencesConfig{})
	shared := newMemory(t, "local", false, mu("carl", "carl@x.example.org", "carl-pw-1"))
	rec := &recorder{}
	mk := func(p policy.PreferenceStore) *policy.Directory {
		h := minHasher
		dir, err := policy.NewDirectory(policy.Config{Backends: []backend.CustomerUserBackend{shared}, Preferences: p,
			MaxFailedLogins: 50, Hasher: &h, Observer: rec})
		require.NoError(t, err)
		return dir
	}
	a, b := mk(prefsA), mk(prefsB)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := a
			if i%2 == 1 {
				dir = b
			}
			_, err := dir.Authenticate(t.Context(), "CARL", "wrong")
			assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
		}()
	}
	wg.Wait()
	n, err := a.FailedLogins(t.Context(), "carl")
	require.NoError(t, err)
	assert.Equal(t, 50, n, "no lost increments")
	u, err := a.Get(t.Context(), "carl")
	require.NoError(t, err)
	assert.Equal(t, backend.InvalidTemporarily, u.Valid)
	locked := 0
	for _, e := range rec.events {
		if e.Type == policy.EventLockedOut {
			locked++
			assert.Equal(t, 50, e.Count)
		}
	}
	assert.Equal(t, 1, locked, "locked out once, by the 50th failure")
}
