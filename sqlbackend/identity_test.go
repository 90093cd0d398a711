package sqlbackend_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestCollationChoice checks the collation CreateSchema picks from the names
// each server version reports: MariaDB 10.10+ lists its UCA 14.0
// collations in information_schema.COLLATIONS without the charset
// ("uca1400_as_ci") and with it only in FULL_COLLATION_NAME; the old
// detection looked for the full name in COLLATIONS and fell back to the
// accent-insensitive utf8mb4_unicode_ci.
func TestCollationChoice(t *testing.T) {
	for _, tc := range []struct {
		server           string
		names            []string
		identity, search string
	}{
		{"MariaDB 10.11 (COLLATIONS + FULL_COLLATION_NAME)",
			[]string{"utf8mb4_general_ci", "utf8mb4_bin", "utf8mb4_unicode_ci", "utf8mb4_unicode_520_ci", "uca1400_as_ci", "uca1400_ai_ci",
				"utf8mb4_uca1400_as_ci", "utf8mb4_uca1400_ai_ci", "utf8mb4_uca1400_as_cs"},
			"utf8mb4_uca1400_as_ci", "utf8mb4_uca1400_ai_ci"},
		{"MariaDB 10.11, COLLATIONS only", []string{"utf8mb4_general_ci", "utf8mb4_unicode_520_ci", "uca1400_as_ci"}, "utf8mb4_unicode_520_ci", "utf8mb4_unicode_520_ci"},
		{"MySQL 8.0", []string{"utf8mb4_0900_ai_ci", "utf8mb4_0900_as_ci", "utf8mb4_0900_as_cs", "utf8mb4_general_ci", "utf8mb4_unicode_520_ci"},
			"utf8mb4_0900_as_ci", "utf8mb4_0900_ai_ci"},
		{"MariaDB 10.6 / MySQL 5.7", []string{"utf8mb4_general_ci", "utf8mb4_bin", "utf8mb4_unicode_ci", "utf8mb4_unicode_520_ci"},
			"utf8mb4_unicode_520_ci", "utf8mb4_unicode_520_ci"},
		{"MariaDB 10.1", []string{"utf8mb4_general_ci", "utf8mb4_bin", "utf8mb4_unicode_ci"}, "utf8mb4_unicode_ci", "utf8mb4_unicode_ci"},
	} {
		assert.Equal(t, tc.identity, sqlbackend.ChooseIdentityCollation(tc.names), tc.server)
		assert.Equal(t, tc.search, sqlbackend.ChooseSearchCollation(tc.names), tc.server)
	}

	// On the server the tests start (MariaDB 10.11): the copies of the
	// identity columns are accent-sensitive, the columns themselves _bin.
	_, d := newBackend(t, sqlbackend.Config{})
	defs := strings.Join(columnDefs(t, d.DB, "customer_user"), "\n")
	assert.Contains(t, defs, "login varchar(191) NO utf8mb4_bin")
	assert.Contains(t, defs, "login_ci varchar(191) YES utf8mb4_uca1400_as_ci")
	assert.Contains(t, defs, "first_name_sfold varchar(100) YES utf8mb4_uca1400_ai_ci")
}

// distinct are pairs the identity rule keeps apart.
var distinct = [][2]string{{"rené", "rene"}, {"straße", "strasse"}, {"ａｌｉｃｅ", "alice"}, {"dev😀", "dev😁"}, {"ﬁle", "file"}}

// TestDefaultSchemaKeepsDistinctIdentities: on the default schema every
// pair is two users (the old schema's collation refused the second of
// each), and "\u212Aelvin" and "kelvin" are one.
func TestDefaultSchemaKeepsDistinctIdentities(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t, sqlbackend.Config{})
	for _, p := range distinct {
		for _, sp := range p {
			u := sampleUser(sp)
			_, err := b.Add(ctx, u, "pw-"+sp)
			require.NoError(t, err, "%q", sp)
		}
	}
	for _, p := range distinct {
		for _, sp := range p {
			got, err := b.Get(ctx, sp)
			require.NoError(t, err)
			assert.Equal(t, sp, got.Login)
			res, err := b.Search(ctx, backend.Query{Email: sp + "@example.com"})
			require.NoError(t, err)
			assert.Equal(t, []string{sp}, loginsOf(res))
		}
	}
	_, err := b.Add(ctx, sampleUser("\u212Aelvin"), "")
	require.NoError(t, err)
	k := sampleUser("kelvin")
	k.Email = "other@example.com"
	_, err = b.Add(ctx, k, "")
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
}

func createLegacy(t *testing.T, d *testmysql.Database, collation string, unique bool) {
	t.Helper()
	ddl := strings.Replace(otrsDDL[0], "DEFAULT CHARSET=utf8", "DEFAULT CHARSET=utf8mb4 COLLATE="+collation, 1)
	if !unique {
		ddl = strings.Replace(ddl, "UNIQUE INDEX customer_user_login (login)", "INDEX customer_user_login (login)", 1)
	}
	_, err := d.DB.Exec(ddl)
	require.NoError(t, err)
	_, err = d.DB.Exec(strings.Replace(otrsDDL[1], "DEFAULT CHARSET=utf8", "DEFAULT CHARSET=utf8mb4 COLLATE="+collation, 1))
	require.NoError(t, err)
}

// TestLooseLegacyCollationsNeverConfuseIdentities: on OTRS tables made by
// hand with utf8mb4_general_ci and utf8mb4_unicode_ci, the unique index may
// refuse the second user of a pair (fine), but Get, the Email and Login
// criteria and Authenticate of each spelling give its own user or
// ErrNotFound / ErrInvalidCredentials, never the other one. Before, Get
// ("dev😁") returned "dev😀" there.
func TestLooseLegacyCollationsNeverConfuseIdentities(t *testing.T) {
	ctx := context.Background()
	for _, coll := range []string{"utf8mb4_general_ci", "utf8mb4_unicode_ci"} {
		t.Run(coll, func(t *testing.T) {
			d := testmysql.NewDatabase(t)
			createLegacy(t, d, coll, true)
			var logs bytes.Buffer
			b, err := sqlbackend.New(d.DB, sqlbackend.Config{Hasher: &testHasher, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			require.NoError(t, err)
			stored := map[string]bool{}
			for _, p := range distinct {
				for _, sp := range p {
					_, err := b.Add(ctx, sampleUser(sp), "pw-"+sp)
					if err != nil {
						require.ErrorIs(t, err, backend.ErrDuplicateLogin, "%q", sp)
						continue
					}
					stored[sp] = true
				}
			}
			assert.Less(t, len(stored), 10, "the loose index refused some")
			for _, p := range distinct {
				for j, sp := range p {
					other := p[1-j]
					got, err := b.Get(ctx, sp)
					au, aerr := b.Authenticate(ctx, sp, "pw-"+sp)
					_, oerr := b.Authenticate(ctx, sp, "pw-"+other)
					byMail, merr := b.Search(ctx, backend.Query{Email: sp + "@example.com", IncludeInvalid: true})
					require.NoError(t, merr)
					byLogin, lerr := b.Search(ctx, backend.Query{Login: sp, IncludeInvalid: true})
					require.NoError(t, lerr)
					require.ErrorIs(t, oerr, backend.ErrInvalidCredentials, "%q never logs in with the password of %q", sp, other)
					if stored[sp] {
						require.NoError(t, err)
						assert.Equal(t, sp, got.Login)
						require.NoError(t, aerr)
						assert.Equal(t, sp, au.Login)
						assert.Equal(t, []string{sp}, loginsOf(byMail))
						assert.Equal(t, []string{sp}, loginsOf(byLogin))
					} else {
						require.ErrorIs(t, err, backend.ErrNotFound, "Get %q must not give %q", sp, other)
						require.ErrorIs(t, aerr, backend.ErrInvalidCredentials)
						assert.Empty(t, byMail, "email of %q", sp)
						assert.Empty(t, byLogin, "login %q", sp)
					}
				}
			}
			assert.Contains(t, logs.String(), backend.LogIdentityMismatch)

			// The Kelvin sign and k are one identity by the rule, whatever
			// the collation says (general_ci tells them apart). A new
			// login is stored NFC (the Kelvin sign becomes "K"); an OTRS
			// row may hold the sign itself.
			_, err = d.DB.Exec(`INSERT INTO customer_user (login, email, customer_id, pw, first_name, last_name, valid_id,
				create_time, create_by, change_time, change_by) VALUES ('Kelvin', 'Kelvin@example.com', 'C', 'kpw', 'K', 'K', 1, NOW(), 1, NOW(), 1)`)
			require.NoError(t, err)
			k := sampleUser("kelvin")
			_, err = b.Add(ctx, k, "")
			require.ErrorIs(t, err, backend.ErrDuplicateLogin, "the stored Kelvin-sign login is the same identity")
			mail := sampleUser("someone-else")
			mail.Email = "kelvin@example.com"
			_, err = b.Add(ctx, mail, "")
			require.ErrorIs(t, err, backend.ErrDuplicateEmail)
			for _, sp := range []string{"kelvin", "KELVIN", "Kelvin"} {
				got, err := b.Get(ctx, sp)
				if err == nil {
					assert.Equal(t, "Kelvin", got.Login, sp)
				} else {
					require.ErrorIs(t, err, backend.ErrNotFound, sp)
				}
				au, err := b.Authenticate(ctx, sp, "kpw")
				if err == nil {
					assert.Equal(t, "Kelvin", au.Login)
				}
			}
		})
	}
}

// TestLegacyRowsOfOneIdentity: a legacy table without a unique index may
// hold two rows of one identity. The exact spelling wins; without one the
// login is unknown (and logged), and a write refuses it as a duplicate.
func TestLegacyRowsOfOneIdentity(t *testing.T) {
	ctx := context.Background()
	d := testmysql.NewDatabase(t)
	createLegacy(t, d, "utf8mb4_general_ci", false)
	for _, l := range []string{"Bob", "bob"} {
		_, err := d.DB.Exec(`INSERT INTO customer_user (login, email, customer_id, pw, first_name, last_name, valid_id,
			create_time, create_by, change_time, change_by) VALUES (?, ?, 'C', ?, 'B', 'B', 1, NOW(), 1, NOW(), 1)`,
			l, l+"@legacy.example.com", "plain-"+l)
		require.NoError(t, err)
	}
	var logs bytes.Buffer
	b, err := sqlbackend.New(d.DB, sqlbackend.Config{Hasher: &testHasher, ReadOnly: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	for _, l := range []string{"Bob", "bob"} {
		got, err := b.Get(ctx, l)
		require.NoError(t, err)
		assert.Equal(t, l, got.Login, "the exact spelling wins")
		_, err = b.Authenticate(ctx, l, "plain-"+l)
		require.NoError(t, err)
	}
	_, err = b.Get(ctx, "BOB")
	require.ErrorIs(t, err, backend.ErrNotFound, "two rows of the identity, none spelled so")
	_, err = b.Authenticate(ctx, "BOB", "plain-Bob")
	require.ErrorIs(t, err, backend.ErrInvalidCredentials)
	assert.Contains(t, logs.String(), backend.LogAmbiguousIdentity)
}

// TestDuplicateKeyClassifiedByIndex: the unique index of a table named
// *email* refuses a login; that is a duplicate login (the old code looked
// for "email" in the message).
func TestDuplicateKeyClassifiedByIndex(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t, sqlbackend.Config{Table: "customer_email_users", CustomerIDsTable: sqlbackend.NoColumn, Collation: "utf8mb4_general_ci"})
	_, err := b.Add(ctx, sampleUser("rené"), "")
	require.NoError(t, err)
	_, err = b.Add(ctx, sampleUser("rene"), "") // distinct by the rule, one key under general_ci
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
	require.NotErrorIs(t, err, backend.ErrDuplicateEmail)

	assert.Equal(t, "customer_email_users_login", sqlbackend.DupKeyIndex("Duplicate entry 'x' for key 'customer_email_users_login'"))
	assert.Equal(t, "customer_user_email", sqlbackend.DupKeyIndex("Duplicate entry 'for key 'a'' for key 'customer_user.customer_user_email'"))
}

// TestFurtherCustomerIDsCompleteOrError: the IDs are read completely even
// when GROUP_CONCAT's cap cuts them (before: 7,038 of 8,000, the last one
// cut), and a stored user with more than backend.MaxCustomerIDs gives a
// typed error (before: a silently cut list).
func TestFurtherCustomerIDsCompleteOrError(t *testing.T) {
	ctx := context.Background()
	_, d := newBackend(t, sqlbackend.Config{})
	small := d.Server.Config(d.Name)
	small.Params = map[string]string{"group_concat_max_len": "1024"}
	b := newBackendOn(t, openConfig(t, small), sqlbackend.Config{})
	insertIDs := func(login string, n int) {
		_, err := b.Add(ctx, sampleUser(login), "")
		require.NoError(t, err)
		for start := 0; start < n; start += 1000 {
			var sb strings.Builder
			var args []any
			for i := start; i < min(n, start+1000); i++ {
				if i > start {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, NOW(), 1, NOW(), 1)")
				args = append(args, login, fmt.Sprintf("%s-ID-%05d", login, i))
			}
			_, err := d.DB.Exec("INSERT INTO customer_user_customer (user_id, customer_id, create_time, create_by, change_time, change_by) VALUES "+sb.String(), args...)
			require.NoError(t, err)
		}
	}
	insertIDs("many", backend.MaxCustomerIDs-1)
	got, err := b.Get(ctx, "many")
	require.NoError(t, err)
	require.Len(t, got.CustomerIDs, backend.MaxCustomerIDs-1, "every further ID, though GROUP_CONCAT cut them")
	assert.Equal(t, fmt.Sprintf("many-ID-%05d", backend.MaxCustomerIDs-2), got.CustomerIDs[len(got.CustomerIDs)-1])
	res, err := b.Search(ctx, backend.Query{CustomerID: "many-id-00998"})
	require.NoError(t, err)
	assert.Equal(t, []string{"many"}, loginsOf(res))

	insertIDs("toomany", 8000)
	_, err = b.Get(ctx, "toomany")
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldCustomerIDs, ve.Field)
	_, err = b.Search(ctx, backend.Query{Login: "toomany"})
	require.ErrorAs(t, err, &ve, "search too")

	u := sampleUser("writer")
	for i := range backend.MaxCustomerIDs {
		u.CustomerIDs = append(u.CustomerIDs, fmt.Sprintf("W%d", i))
	}
	_, err = b.Add(ctx, u, "")
	require.ErrorAs(t, err, &ve, "NormalizeUser refuses more on write (before: error 1390 from 11,000)")
	assert.Equal(t, backend.FieldCustomerIDs, ve.Field)
}

// TestConfigHasherAndErrors: a nil Hasher writes the OTRS form, a non-nil
// one exactly what it says (before, password.Hasher{} meant the OTRS form
// here and the standard form in memorybackend); New copies it; config
// errors are backend config errors listing every problem.
func TestConfigHasherAndErrors(t *testing.T) {
	ctx := context.Background()
	d := testmysql.NewDatabase(t)
	require.NoError(t, sqlbackend.CreateSchema(ctx, d.DB, sqlbackend.Config{}))
	stdHasher := &password.Hasher{Cost: 4}
	std, err := sqlbackend.New(d.DB, sqlbackend.Config{Hasher: stdHasher})
	require.NoError(t, err)
	stdHasher.Format = password.FormatOTRS // New made a copy
	_, err = std.Add(ctx, sampleUser("std"), "pw")
	require.NoError(t, err)
	def, err := sqlbackend.New(d.DB, sqlbackend.Config{})
	require.NoError(t, err)
	_, err = def.Add(ctx, sampleUser("otrsform"), "pw")
	require.NoError(t, err)
	for login, want := range map[string]password.Scheme{"std": password.SchemeBcrypt, "otrsform": password.SchemeBcryptOTRS} {
		var pw string
		require.NoError(t, d.DB.QueryRow("SELECT pw FROM customer_user WHERE login = ?", login).Scan(&pw))
		assert.Equal(t, want, password.Identify(pw), login)
	}

	_, err = sqlbackend.New(d.DB, sqlbackend.Config{Name: "bad", Hasher: &password.Hasher{Cost: 99}, DefaultLimit: -1, Table: "a b"})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
	assert.True(t, strings.HasPrefix(err.Error(), "customeruser bad: config: "), err.Error())
	var all backend.ValidationErrors
	require.True(t, errors.As(err, &all))
	assert.Equal(t, []string{"Config.Hasher", "Config.DefaultLimit", "Config.Table"}, all.Fields())
	_, err = sqlbackend.New(d.DB, sqlbackend.Config{Table: "no_such_table"})
	require.ErrorIs(t, err, backend.ErrInvalidInput)
}

// TestNothingSecretIsPrinted walks the exported types through every
// printing path: the Config (which holds no secret, and says so), the
// Backend over a database whose DSN holds a password.
func TestNothingSecretIsPrinted(t *testing.T) {
	b, d := newBackend(t, sqlbackend.Config{Name: "printed", Hasher: &password.Hasher{Cost: 4}})
	dsnPassword := d.Server.Config(d.Name).Passwd
	_, err := b.Add(context.Background(), sampleUser("secretive"), "Hunter2-Secret")
	require.NoError(t, err)
	var hash string
	require.NoError(t, d.DB.QueryRow("SELECT pw FROM customer_user WHERE login = 'secretive'").Scan(&hash))
	cfg := sqlbackend.Config{Name: "printed", Hasher: &password.Hasher{Cost: 4}, Logger: slog.Default()}
	backendtest.CheckRedacted(t, cfg, dsnPassword, "Hunter2-Secret", hash)
	backendtest.CheckRedacted(t, b, dsnPassword, "Hunter2-Secret", hash, d.DSN())
	u, err := b.Get(context.Background(), "secretive")
	require.NoError(t, err)
	backendtest.CheckRedacted(t, u, "Hunter2-Secret", hash)
}

// TestAuthenticateDeadlineDuringHashing: a deadline that passes during the
// bcrypt rounds ends the call with the context's error, promptly.
func TestAuthenticateDeadlineDuringHashing(t *testing.T) {
	b, _ := newBackend(t, sqlbackend.Config{Hasher: &password.Hasher{Cost: 4}})
	_, err := b.Add(context.Background(), sampleUser("slow"), "pw")
	require.NoError(t, err)
	slow, err := sqlbackend.New(b.DB(), sqlbackend.Config{Hasher: &password.Hasher{Cost: 16}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = slow.Authenticate(ctx, "nobody", "pw") // the dummy hash at cost 16 takes seconds
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "returned promptly")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	start = time.Now()
	err = slow.SetPassword(ctx2, "slow", "a new password") // hashing at cost 16
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "returned promptly")
}
