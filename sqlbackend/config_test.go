package sqlbackend_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestCustomColumnsAndAttributes maps renamed columns, leaves optional ones
// out, stores attributes in extra columns, searches them, and runs without
// a further-customer-ID table.
func TestCustomColumnsAndAttributes(t *testing.T) {
	ctx := context.Background()
	cfg := sqlbackend.Config{
		Table:            "portal_users",
		CustomerIDsTable: sqlbackend.NoColumn,
		Columns: map[string]string{
			sqlbackend.FieldLogin: "username",
			sqlbackend.FieldFax:   sqlbackend.NoColumn,
			sqlbackend.FieldTitle: sqlbackend.NoColumn,
		},
		Attributes:          map[string]string{"department": "dept", "room": "room_no"},
		SearchFields:        []string{sqlbackend.FieldLogin, "department"},
		AllowDuplicateEmail: true,
	}
	b, d := newBackend(t, cfg)
	u := sampleUser("gina")
	u.Attributes = map[string]string{"department": "Sales"}
	u.Fax = "ignored: no column"
	added, err := b.Add(ctx, u, "pw")
	require.NoError(t, err)
	got, err := b.Get(ctx, "GINA")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"department": "Sales"}, got.Attributes, "a missing attribute stays missing")
	assert.Empty(t, got.Fax)
	assert.Equal(t, added.Login, got.Login)

	twin := sampleUser("hugo")
	twin.Email = "GINA@example.com"
	_, err = b.Add(ctx, twin, "")
	require.NoError(t, err, "AllowDuplicateEmail")

	res, err := b.Search(ctx, backend.Query{Search: "sales"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gina"}, loginsOf(res), "attributes are search fields")
	res, err = b.Search(ctx, backend.Query{Search: "!sales"})
	require.NoError(t, err)
	assert.Equal(t, []string{"hugo"}, loginsOf(res), "a NULL attribute passes an exclusion")

	bad := sampleUser("ida")
	bad.Attributes = map[string]string{"shoe size": "42"}
	_, err = b.Add(ctx, bad, "")
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, backend.FieldAttributes, ve.Field, "the Go field name")
	bad = sampleUser("ida")
	bad.CustomerIDs = []string{"OTHER"}
	_, err = b.Add(ctx, bad, "")
	require.ErrorAs(t, err, &ve, "no table for further customer IDs")
	assert.Equal(t, backend.FieldCustomerIDs, ve.Field)
	assert.Equal(t, 2, countRows(t, d.DB, "portal_users"))

	var n int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'portal_users' AND COLUMN_NAME IN ('fax', 'title', 'login')").Scan(&n))
	assert.Zero(t, n, "CreateSchema made only the mapped columns")
}

func TestLikePatternEscaping(t *testing.T) {
	for _, tc := range []struct {
		in         string
		start, end bool
		want       string
	}{
		{"abc", false, false, "%abc%"},
		{"abc", true, false, "abc%"},
		{"a*c", true, true, "a%c"},
		{"50%", false, false, `%50\%%`},
		{"a_b", true, false, `a\_b%`},
		{`c:\x`, true, true, `c:\\x`},
		{`*`, true, true, `%`},
	} {
		assert.Equal(t, tc.want, sqlbackend.LikePattern(backend.NewPattern(tc.in), tc.start, tc.end), tc.in)
	}
}

// TestCollationDetection shows the predicates New chooses: on the default
// schema the case-insensitive copy of the login (its index serves Get), on
// utf8mb4_bin the exact column (a lookup that finds nothing of the
// identity then compares under a UCA collation, a scan).
func TestCollationDetection(t *testing.T) {
	ci, d := newBackend(t, sqlbackend.Config{})
	assert.NotContains(t, ci.GetSQL(), "LOWER(")
	assert.Contains(t, ci.GetSQL(), "t.`login_ci` = ?")
	_, err := ci.Add(context.Background(), sampleUser("someone"), "")
	require.NoError(t, err)
	_, err = ci.Add(context.Background(), sampleUser("another"), "")
	require.NoError(t, err)
	plan := explain(t, d.DB, ci.GetSQL(), "SomeOne")
	require.NotEmpty(t, plan)
	assert.Equal(t, "login_ci", plan[0]["key"], "Get uses the index of the login's case-insensitive copy: %v", plan)

	bin, d2 := newBackend(t, sqlbackend.Config{Collation: "utf8mb4_bin"})
	assert.Contains(t, bin.GetSQL(), "WHERE t.`login` = ?")
	_, err = bin.Add(context.Background(), sampleUser("Bob"), "")
	require.NoError(t, err)
	_, err = bin.Add(context.Background(), sampleUser("bOB"), "")
	require.ErrorIs(t, err, backend.ErrDuplicateLogin, "case-insensitive uniqueness on a _bin table")
	assert.Equal(t, 1, countRows(t, d2.DB, "customer_user"))

	// The pool settings: the defaults, the lifetime under wait_timeout.
	assert.Equal(t, 16, d.DB.Stats().MaxOpenConnections)
	p := ci.Pool()
	assert.Equal(t, 16, p.MaxOpenConns)
	assert.Equal(t, 3*time.Minute, p.ConnMaxLifetime)

	short := d.Server.Config(d.Name)
	short.Params = map[string]string{"wait_timeout": "60"}
	db := openConfig(t, short)
	b, err := sqlbackend.New(db, sqlbackend.Config{})
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, b.Pool().ConnMaxLifetime, "half of a short wait_timeout")
	kept, err := sqlbackend.New(db, sqlbackend.Config{KeepPool: true})
	require.NoError(t, err)
	assert.Zero(t, kept.Pool())
}
