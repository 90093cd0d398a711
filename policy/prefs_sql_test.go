package policy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/policy"
)

func newSQLPreferences(t *testing.T, db *sql.DB, cfg policy.SQLPreferencesConfig) *policy.SQLPreferences {
	t.Helper()
	s, err := policy.NewSQLPreferences(t.Context(), db, cfg)
	require.NoError(t, err)
	return s
}

// TestSQLPreferences runs the store conformance checks on SQLPreferences, a
// fresh database (and table, created by the store) per subtest.
func TestSQLPreferences(t *testing.T) {
	testPreferenceStore(t, func(t *testing.T) policy.PreferenceStore {
		return newSQLPreferences(t, testmysql.NewDatabase(t).DB, policy.SQLPreferencesConfig{CreateTable: true})
	})
}

// TestSQLPreferencesTwoProcesses increments one counter from 50 goroutines
// over two connection pools (two app instances): no increment is lost.
func TestSQLPreferencesTwoProcesses(t *testing.T) {
	d := testmysql.NewDatabase(t)
	stores := []*policy.SQLPreferences{
		newSQLPreferences(t, d.DB, policy.SQLPreferencesConfig{CreateTable: true}),
		newSQLPreferences(t, d.Open(t), policy.SQLPreferencesConfig{}),
	}
	const n = 50
	checkConcurrentIncrements(t, n, func(i int) (int, error) {
		return stores[i%2].Increment(t.Context(), []string{"hhuber", "HHuber"}[i%2], policy.KeyLoginFailed, 1)
	})
	for _, s := range stores {
		c, err := s.Increment(t.Context(), "HHUBER", policy.KeyLoginFailed, 0)
		require.NoError(t, err)
		assert.Equal(t, n, c)
	}
	var rows int
	require.NoError(t, d.DB.QueryRow("SELECT COUNT(*) FROM customer_preferences").Scan(&rows))
	assert.Equal(t, 1, rows)
}

// TestSQLPreferencesExistingTable uses a table made by hand the way an old
// OTRS has it: utf8mb4_general_ci (accent-insensitive: "rene" = "rené"),
// no unique key, several rows for one user and key.
func TestSQLPreferencesExistingTable(t *testing.T) {
	d := testmysql.NewDatabase(t)
	db := d.DB
	ctx := t.Context()
	_, err := db.ExecContext(ctx, `CREATE TABLE customer_preferences (
  user_id VARCHAR(250) NOT NULL,
  preferences_key VARCHAR(150) NOT NULL,
  preferences_value VARCHAR(250),
  INDEX customer_preferences_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`)
	require.NoError(t, err)
	for _, r := range [][3]any{
		{"hhuber", "UserLoginFailed", "3"},
		{"HHuber", "UserLoginFailed", "4"},
		{"hhuber", "Lang", "de"},
		{"hhuber", "Lang", "fr"},
		{"rene", "Lang", "en"},
		{"rené", "Lang", "EN"},
		{"rené", "UserLoginFailed", "7"},
		{"bob", "Null", nil},
	} {
		_, err := db.ExecContext(ctx, "INSERT INTO customer_preferences VALUES (?, ?, ?)", r[:]...)
		require.NoError(t, err)
	}
	showCreate := func() string {
		var name, ddl string
		require.NoError(t, db.QueryRowContext(ctx, "SHOW CREATE TABLE customer_preferences").Scan(&name, &ddl))
		return ddl
	}
	ddl := showCreate()
	var logs bytes.Buffer
	s := newSQLPreferences(t, db, policy.SQLPreferencesConfig{CreateTable: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	assert.Equal(t, ddl, showCreate(), "an existing table is used as it is")
	count := func(login, key string) int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM customer_preferences
			WHERE BINARY user_id = ? AND BINARY preferences_key = ?`, login, key).Scan(&n))
		return n
	}
	prefs := func(login string) map[string]string {
		t.Helper()
		p, err := s.Preferences(ctx, login)
		require.NoError(t, err)
		return p
	}

	// Accents: the collation matches both, the store only the identity.
	assert.Equal(t, map[string]string{"Lang": "en"}, prefs("rene"))
	assert.Equal(t, map[string]string{"Lang": "EN", "UserLoginFailed": "7"}, prefs("RENÉ"))
	logins, err := s.LoginsWith(ctx, "Lang", "en")
	require.NoError(t, err)
	assert.Equal(t, []string{"rene"}, logins)
	assert.Equal(t, map[string]string{"Null": ""}, prefs("bob"))
	assert.Contains(t, logs.String(), backend.LogIdentityMismatch)

	// Duplicates: one value is read, the same by every method.
	p := prefs("HHUBER")
	assert.Contains(t, []string{"de", "fr"}, p["Lang"])
	assert.Contains(t, []string{"3", "4"}, p["UserLoginFailed"])
	assert.Equal(t, p, prefs("hhuber"), "read consistently")
	logins, err = s.LoginsWith(ctx, "Lang", p["Lang"])
	require.NoError(t, err)
	assert.Equal(t, []string{"hhuber"}, logins)
	other := map[string]string{"de": "fr", "fr": "de"}[p["Lang"]]
	logins, err = s.LoginsWith(ctx, "Lang", other)
	require.NoError(t, err)
	assert.Empty(t, logins, "a stale duplicate is not what the user holds")
	failed := map[string]int{"3": 3, "4": 4}[p["UserLoginFailed"]]
	n, err := s.Increment(ctx, "hhuber", "UserLoginFailed", 0)
	require.NoError(t, err)
	assert.Equal(t, failed, n)

	// Writes replace every row of the key with one.
	n, err = s.Increment(ctx, "hhuber", "UserLoginFailed", 1)
	require.NoError(t, err)
	assert.Equal(t, failed+1, n)
	assert.Equal(t, 1, count("hhuber", "UserLoginFailed")+count("HHuber", "UserLoginFailed"))
	require.NoError(t, s.SetPreference(ctx, "HHuber", "Lang", "it"))
	assert.Equal(t, 0, count("hhuber", "Lang"))
	assert.Equal(t, 1, count("HHuber", "Lang"))

	// Another identity the collation matches is never changed.
	n, err = s.Increment(ctx, "rene", "UserLoginFailed", 1)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, s.DeletePreference(ctx, "rene", "Lang"))
	assert.Equal(t, map[string]string{"Lang": "EN", "UserLoginFailed": "7"}, prefs("rené"))
	require.NoError(t, s.Rename(ctx, "rené", "renee"))
	assert.Equal(t, map[string]string{"UserLoginFailed": "1"}, prefs("rene"))
	assert.Equal(t, map[string]string{"Lang": "EN", "UserLoginFailed": "7"}, prefs("renee"))
	assert.Empty(t, prefs("rené"))
}

// TestSQLPreferencesLegacyCharset: a utf8mb3 table cannot hold 4-byte
// characters; such a value is a validation error and changes nothing.
func TestSQLPreferencesLegacyCharset(t *testing.T) {
	d := testmysql.NewDatabase(t)
	_, err := d.DB.ExecContext(t.Context(), `CREATE TABLE prefs (uid VARCHAR(191) NOT NULL, k VARCHAR(150) NOT NULL, v VARCHAR(20),
		INDEX (uid)) DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin`)
	require.NoError(t, err)
	s := newSQLPreferences(t, d.DB, policy.SQLPreferencesConfig{Table: "prefs", UserIDColumn: "uid", KeyColumn: "k", ValueColumn: "v"})
	require.NoError(t, s.SetPreference(t.Context(), "Anna", "Emoji", "none"))
	for _, v := range []string{"😀", strings.Repeat("x", 21)} {
		err = s.SetPreference(t.Context(), "Anna", "Emoji", v)
		var verr *backend.ValidationError
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, "Value", verr.Field)
	}
	err = s.SetPreference(t.Context(), "anna😀", "Emoji", "x")
	var verr *backend.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, backend.FieldLogin, verr.Field)
	p, err := s.Preferences(t.Context(), "anna😀")
	require.NoError(t, err)
	assert.Empty(t, p, "no row can hold it")
	n, err := s.Increment(t.Context(), "anna😀", "N", 0)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = s.Increment(t.Context(), "anna😀", "N", 1)
	require.ErrorAs(t, err, &verr)
	require.NoError(t, s.DeletePreference(t.Context(), "anna😀", "N"))
	require.NoError(t, s.Rename(t.Context(), "anna😀", "anna"))
	require.ErrorAs(t, s.Rename(t.Context(), "anna", "anna😀"), &verr)
	assert.Equal(t, backend.FieldLogin, verr.Field)
	logins, err := s.LoginsWith(t.Context(), "Emoji😀", "x")
	require.NoError(t, err)
	assert.Empty(t, logins)
	err = s.SetPreference(t.Context(), "anna", "Emoji😀", "x")
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "Key", verr.Field)
	// A case-sensitive collation: lookups still follow the identity rule.
	p, err = s.Preferences(t.Context(), "ANNA")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Emoji": "none"}, p)
}

// TestSQLPreferencesConfig checks the configuration and the table.
func TestSQLPreferencesConfig(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := t.Context()
	for _, cfg := range []policy.SQLPreferencesConfig{
		{Table: "prefs; DROP TABLE x"},
		{UserIDColumn: "user id"},
		{KeyColumn: "`k`"},
		{ValueColumn: strings.Repeat("v", 65)},
		{LockTimeout: -time.Second},
		{}, // no such table, and CreateTable not set
	} {
		_, err := policy.NewSQLPreferences(ctx, d.DB, cfg)
		require.ErrorIs(t, err, backend.ErrInvalidInput, "%+v", cfg)
		assert.True(t, strings.HasPrefix(err.Error(), "customeruser preferences: config:"), err.Error())
	}
	_, err := policy.NewSQLPreferences(ctx, nil, policy.SQLPreferencesConfig{})
	require.ErrorIs(t, err, backend.ErrInvalidInput)

	_, err = d.DB.ExecContext(ctx, "CREATE TABLE wrong (user_id VARCHAR(10), other VARCHAR(10))")
	require.NoError(t, err)
	_, err = policy.NewSQLPreferences(ctx, d.DB, policy.SQLPreferencesConfig{Table: "wrong", CreateTable: true})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.Contains(t, err.Error(), "preferences_key")

	// Other names; the table is created once and then found.
	cfg := policy.SQLPreferencesConfig{Table: "my_prefs", UserIDColumn: "login", KeyColumn: "k", ValueColumn: "v", CreateTable: true}
	s := newSQLPreferences(t, d.DB, cfg)
	require.NoError(t, s.SetPreference(ctx, "x", "k", "v"))
	s = newSQLPreferences(t, d.DB, cfg)
	p, err := s.Preferences(ctx, "X")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"k": "v"}, p)
}

// TestSQLPreferencesUnavailable stops the server under a store: every
// method fails with ErrUnavailable, and works again after a restart.
func TestSQLPreferencesUnavailable(t *testing.T) {
	if os.Getenv(testmysql.EnvDSN) != "" {
		t.Skipf("%s is set: no local server to stop", testmysql.EnvDSN)
	}
	srv := testmysql.Start(t)
	d := srv.NewDatabase(t)
	s := newSQLPreferences(t, d.DB, policy.SQLPreferencesConfig{CreateTable: true})
	ctx := t.Context()
	require.NoError(t, s.SetPreference(ctx, "alice", "Lang", "de"))
	require.NoError(t, srv.Stop())
	check := func(err error) {
		t.Helper()
		require.ErrorIs(t, err, backend.ErrUnavailable)
		assert.True(t, strings.HasPrefix(err.Error(), "customeruser preferences:"), err.Error())
	}
	_, err := s.Preferences(ctx, "alice")
	check(err)
	check(s.SetPreference(ctx, "alice", "Lang", "fr"))
	check(s.DeletePreference(ctx, "alice", "Lang"))
	_, err = s.Increment(ctx, "alice", "N", 1)
	check(err)
	_, err = s.LoginsWith(ctx, "Lang", "de")
	check(err)
	check(s.Rename(ctx, "alice", "bob"))
	require.NoError(t, srv.Restart())
	p, err := s.Preferences(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Lang": "de"}, p)

	// A server that is not there at all.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	mc := mysql.NewConfig()
	mc.User, mc.Net, mc.Addr, mc.DBName, mc.Timeout = "u", "tcp", addr, "x", time.Second
	conn, err := mysql.NewConnector(mc)
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	defer db.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = policy.NewSQLPreferences(cctx, db, policy.SQLPreferencesConfig{})
	check(err)
}

// TestSQLPreferencesLockTimeout: a write waits for the user's lock at most
// LockTimeout (or until ctx ends), fails with ErrUnavailable, and leaves the
// store usable.
func TestSQLPreferencesLockTimeout(t *testing.T) {
	d := testmysql.NewDatabase(t)
	ctx := t.Context()
	s := newSQLPreferences(t, d.DB, policy.SQLPreferencesConfig{CreateTable: true, LockTimeout: 300 * time.Millisecond})
	other, err := d.DB.Conn(ctx)
	require.NoError(t, err)
	defer other.Close()
	sum := sha256.Sum256([]byte(d.Name + "\x00customer_preferences\x00hhuber"))
	name := "customeruser.prefs." + hex.EncodeToString(sum[:20])
	var got int
	require.NoError(t, other.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got))
	require.Equal(t, 1, got)

	start := time.Now()
	_, err = s.Increment(ctx, "HHuber", policy.KeyLoginFailed, 1)
	require.ErrorIs(t, err, backend.ErrUnavailable)
	assert.Less(t, time.Since(start), 3*time.Second)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = s.SetPreference(short, "hhuber", "Lang", "de")
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, backend.ErrUnavailable), err.Error())
	require.NoError(t, s.SetPreference(ctx, "bob", "Lang", "de"), "other users are not held up")

	require.NoError(t, other.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&got))
	n, err := s.Increment(ctx, "HHuber", policy.KeyLoginFailed, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the timed-out increment changed nothing")
}
