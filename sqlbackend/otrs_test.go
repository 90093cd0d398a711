package sqlbackend_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// otrsDDL is the customer_user and customer_user_customer tables as the
// Znuny/OTRS MySQL installer creates them (scripts/database/otrs-schema.mysql.sql):
// utf8 (utf8mb3) with its general_ci collation, login VARCHAR(200), no index
// but the unique login, no id in customer_user_customer.
var otrsDDL = []string{
	`CREATE TABLE customer_user (
		id INTEGER NOT NULL AUTO_INCREMENT,
		login VARCHAR (200) NOT NULL,
		email VARCHAR (150) NOT NULL,
		customer_id VARCHAR (150) NOT NULL,
		pw VARCHAR (128) NULL,
		title VARCHAR (50) NULL,
		first_name VARCHAR (100) NOT NULL,
		last_name VARCHAR (100) NOT NULL,
		phone VARCHAR (150) NULL,
		fax VARCHAR (150) NULL,
		mobile VARCHAR (150) NULL,
		street VARCHAR (150) NULL,
		zip VARCHAR (200) NULL,
		city VARCHAR (200) NULL,
		country VARCHAR (200) NULL,
		comments VARCHAR (250) NULL,
		valid_id SMALLINT NOT NULL,
		create_time DATETIME NOT NULL,
		create_by INTEGER NOT NULL,
		change_time DATETIME NOT NULL,
		change_by INTEGER NOT NULL,
		PRIMARY KEY(id),
		UNIQUE INDEX customer_user_login (login)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
	`CREATE TABLE customer_user_customer (
		user_id VARCHAR (100) NOT NULL,
		customer_id VARCHAR (150) NOT NULL,
		create_time DATETIME NOT NULL,
		create_by INTEGER NOT NULL,
		change_time DATETIME NOT NULL,
		change_by INTEGER NOT NULL,
		INDEX customer_user_customer_customer_id (customer_id),
		INDEX customer_user_customer_user_id (user_id)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
}

// legacyHashes are hashes of "Secret123" as OTRS stores them (from
// /work/shared/password-vectors.tsv, login jdoe), one user each.
var legacyHashes = map[string]string{
	"sha2":   "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82",
	"sha1":   "1561482c1292222496d39bb43eb61619184a51c9",
	"sha512": "d0efdee0385bacc4cc65e61d7b91b0402d1f704246179dd9be0063d437411f47b6138e0bbd5e358b7024528e31c94c0383ea65c38853dda824e4532e256639ec",
	"md5":    "$1$jdoe$1fmu3sKFirQJrmeMiHeon1",
	"apr1":   "$apr1$jdoe$OOGMiorY7qwsdHbeh21jm/",
	"bcrypt": "BCRYPT:9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m",
	"crypt":  "jdl1FMVQukacA",
}

// otrsDatabase is a fresh database with the OTRS tables (otrsDDL).
func otrsDatabase(t *testing.T) *testmysql.Database {
	t.Helper()
	d := testmysql.NewDatabase(t)
	for _, s := range otrsDDL {
		_, err := d.DB.ExecContext(context.Background(), s)
		require.NoError(t, err)
	}
	return d
}

func columnDefs(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT CONCAT_WS(' ', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLLATION_NAME, ''), IFNULL(COLUMN_DEFAULT, ''))
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, table)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestExistingOTRSTable builds the OTRS tables by hand, fills them as OTRS
// does (legacy hashes, a further customer ID) and shows that the backend
// reads, searches and authenticates those users, upgrades the hashes on the
// first login, and changes no column.
func TestExistingOTRSTable(t *testing.T) {
	ctx := context.Background()
	d := otrsDatabase(t)
	for format, hash := range legacyHashes {
		_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user (login, email, customer_id, pw, title, first_name, last_name,
			phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, create_by, change_time, change_by)
			VALUES (?, ?, 'OTRS-CO', ?, 'Mr.', 'Legacy', ?, '', NULL, NULL, '', '', 'Berlin', NULL, 'from OTRS', 1,
			'2019-05-01 10:00:00', 1, '2020-01-02 03:04:05', 2)`,
			"Legacy."+format, format+"@legacy.example.com", hash, strings.ToUpper(format))
		require.NoError(t, err)
	}
	_, err := d.DB.ExecContext(ctx, `INSERT INTO customer_user_customer VALUES
		('Legacy.sha2', 'OTHER-CO', NOW(), 1, NOW(), 1), ('Legacy.sha2', 'OTRS-CO', NOW(), 1, NOW(), 1)`)
	require.NoError(t, err)
	colsBefore := columnDefs(t, d.DB, "customer_user")
	idsBefore := columnDefs(t, d.DB, "customer_user_customer")

	// CreateSchema on the existing tables adds indexes only.
	require.NoError(t, sqlbackend.CreateSchema(ctx, d.DB, sqlbackend.Config{}))
	require.NoError(t, sqlbackend.CreateSchema(ctx, d.DB, sqlbackend.Config{}), "idempotent")
	b, err := sqlbackend.New(d.DB, sqlbackend.Config{Name: "otrs", Hasher: &testHasher})
	require.NoError(t, err)

	u, err := b.Get(ctx, "legacy.SHA2")
	require.NoError(t, err)
	assert.Equal(t, "Legacy.sha2", u.Login)
	assert.Equal(t, "OTRS-CO", u.CustomerID)
	assert.Equal(t, []string{"OTHER-CO"}, u.CustomerIDs, "the primary ID repeated in customer_user_customer is not listed twice")
	assert.Equal(t, "Berlin", u.City)
	assert.Equal(t, "from OTRS", u.Comment)
	assert.Equal(t, "2019-05-01 10:00:00", u.CreatedAt.Format("2006-01-02 15:04:05"))

	res, err := b.Search(ctx, backend.Query{Search: "legacy sha"})
	require.NoError(t, err)
	assert.Equal(t, []string{"Legacy.sha1", "Legacy.sha2", "Legacy.sha512"}, loginsOf(res))
	res, err = b.Search(ctx, backend.Query{CustomerID: "other-co"})
	require.NoError(t, err)
	assert.Equal(t, []string{"Legacy.sha2"}, loginsOf(res))

	for format, old := range legacyHashes {
		login := "LEGACY." + strings.ToUpper(format)
		_, err := b.Authenticate(ctx, login, "Wrong-pw") // DES crypt reads 8 bytes only
		require.ErrorIs(t, err, backend.ErrInvalidCredentials, format)
		au, err := b.Authenticate(ctx, login, "Secret123")
		require.NoError(t, err, format)
		assert.Equal(t, "Legacy."+format, au.Login)
		var stored string
		require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT pw FROM customer_user WHERE login = ?", au.Login).Scan(&stored))
		if format == "bcrypt" {
			// Cost 9 is above the configured 4 and in the OTRS form: kept.
			assert.Equal(t, old, stored, format)
		} else {
			assert.Equal(t, password.SchemeBcryptOTRS, password.Identify(stored), "%s upgraded to the OTRS bcrypt form", format)
			assert.True(t, strings.HasPrefix(stored, "BCRYPT:4:"), format)
		}
		_, err = b.Authenticate(ctx, login, "Secret123")
		require.NoError(t, err, "%s: the upgraded hash verifies", format)
	}

	// A value the legacy utf8mb3 column cannot hold is refused, not mangled.
	emoji := sampleUser("emoji")
	emoji.FirstName = "Key 🔑"
	_, err = b.Add(ctx, emoji, "")
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldFirstName, ve.Field, "the Go field name of the column first_name")

	// Writes fill the OTRS bookkeeping columns, so OTRS can read the rows.
	added, err := b.Add(ctx, func() backend.CustomerUser { u := sampleUser("new.one"); u.CustomerIDs = []string{"X"}; return u }(), "pw")
	require.NoError(t, err)
	var createBy, changeBy int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT create_by, change_by FROM customer_user_customer WHERE user_id = ?", added.Login).Scan(&createBy, &changeBy))
	assert.Equal(t, 1, createBy)

	assert.Equal(t, colsBefore, columnDefs(t, d.DB, "customer_user"), "no column of customer_user changed")
	assert.Equal(t, idsBefore, columnDefs(t, d.DB, "customer_user_customer"), "no column of customer_user_customer changed")
	var indexes int
	require.NoError(t, d.DB.QueryRowContext(ctx, `SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'customer_user'`).Scan(&indexes))
	assert.Equal(t, 2+4, indexes, "PRIMARY, the unique login and the four added indexes")
}

func loginsOf(users []backend.CustomerUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Login
	}
	return out
}
