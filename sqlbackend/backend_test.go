package sqlbackend_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

func TestAddGetAuthenticateRoundTrip(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t, sqlbackend.Config{Name: "db1"})
	u := sampleUser("Alice")
	u.CustomerIDs = []string{"Beta", "acme", "Gamma"} // "acme" repeats the primary
	u.Phone = "+49 1"
	added, err := b.Add(ctx, u, "s3cret")
	require.NoError(t, err)
	assert.Equal(t, "Alice", added.Login)
	assert.Equal(t, []string{"Beta", "Gamma"}, added.CustomerIDs)
	assert.Equal(t, "db1", added.Source)
	assert.False(t, added.CreatedAt.IsZero())

	got, err := b.Get(ctx, "  aLiCe ")
	require.NoError(t, err)
	assert.Equal(t, added, got)

	au, err := b.Authenticate(ctx, "ALICE", "s3cret")
	require.NoError(t, err)
	assert.Equal(t, "Alice", au.Login)
	_, err = b.Authenticate(ctx, "alice", "wrong")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	_, err = b.Authenticate(ctx, "nobody", "s3cret")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
	_, err = b.Authenticate(ctx, "alice", "")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)

	_, err = b.Add(ctx, sampleUser("ALICE"), "")
	assert.ErrorIs(t, err, backend.ErrDuplicateLogin)
	dupMail := sampleUser("bob")
	dupMail.Email = "ALICE@example.com"
	_, err = b.Add(ctx, dupMail, "")
	assert.ErrorIs(t, err, backend.ErrDuplicateEmail)

	_, err = b.Get(ctx, "bob")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.True(t, strings.HasPrefix(err.Error(), "customeruser db1: get: "), err.Error())
}

func TestUpdateRenameMovesCustomerIDs(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{})
	u := sampleUser("carol")
	u.CustomerIDs = []string{"X1", "X2"}
	_, err := b.Add(ctx, u, "pw")
	require.NoError(t, err)

	u.Login = "Caroline"
	u.City = "Berlin"
	up, err := b.Update(ctx, "CAROL", u)
	require.NoError(t, err)
	assert.Equal(t, "Caroline", up.Login)
	assert.Equal(t, "Berlin", up.City)
	assert.Equal(t, []string{"X1", "X2"}, up.CustomerIDs)

	_, err = b.Get(ctx, "carol")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	var n int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user_customer WHERE user_id = 'Caroline'").Scan(&n))
	assert.Equal(t, 2, n)
	// The password moved along.
	_, err = b.Authenticate(ctx, "caroline", "pw")
	require.NoError(t, err)

	res, err := b.Search(ctx, backend.Query{CustomerID: "x2"})
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "Caroline", res[0].Login)

	u.CustomerIDs = []string{"X3"}
	u.Valid = backend.Invalid
	up, err = b.Update(ctx, "caroline", u)
	require.NoError(t, err)
	assert.Equal(t, []string{"X3"}, up.CustomerIDs)
	_, err = b.Authenticate(ctx, "caroline", "pw")
	assert.ErrorIs(t, err, backend.ErrAccountInvalid)
	_, err = b.Authenticate(ctx, "caroline", "nope")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
}

func TestNewRejectsBadConfig(t *testing.T) {
	d := testmysqlDatabase(t)
	require.NoError(t, sqlbackend.CreateSchema(context.Background(), d, sqlbackend.Config{}))
	for _, tc := range []struct {
		name string
		cfg  sqlbackend.Config
		want []string
	}{
		{"unknown columns", sqlbackend.Config{Columns: map[string]string{sqlbackend.FieldPhone: "telephone", sqlbackend.FieldFax: "telefax"}},
			[]string{"telephone", "telefax"}},
		{"unknown attribute column", sqlbackend.Config{Attributes: map[string]string{"department": "dept"}}, []string{"dept"}},
		{"unknown field", sqlbackend.Config{Columns: map[string]string{"shoe_size": "x"}}, []string{"shoe_size"}},
		{"required field left out", sqlbackend.Config{Columns: map[string]string{sqlbackend.FieldEmail: sqlbackend.NoColumn}}, []string{"email"}},
		{"bad identifier", sqlbackend.Config{Table: "customer_user; DROP TABLE x"}, []string{"not a plain SQL name"}},
		{"unknown search field", sqlbackend.Config{SearchFields: []string{"login", "nickname"}}, []string{"nickname"}},
		{"missing table", sqlbackend.Config{Table: "no_such_table"}, []string{"no_such_table", "does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlbackend.New(d, tc.cfg)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	b, _ := newBackend(t, sqlbackend.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Get(ctx, "x")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Search(ctx, backend.Query{Search: "x"})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Add(ctx, sampleUser("x"), "pw")
	assert.ErrorIs(t, err, context.Canceled)
	err = b.SetPassword(ctx, "x", "pw")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Authenticate(ctx, "x", "pw")
	assert.True(t, errors.Is(err, context.Canceled) || errors.Is(err, backend.ErrInvalidCredentials), "%v", err)
}

func TestUpdateWithoutLoginKeepsStoredSpelling(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t, sqlbackend.Config{})
	_, err := b.Add(ctx, sampleUser("McLean"), "")
	require.NoError(t, err)
	u := sampleUser("McLean")
	u.Login = ""
	u.City = "Glasgow"
	up, err := b.Update(ctx, "MCLEAN", u)
	require.NoError(t, err)
	assert.Equal(t, "McLean", up.Login)
	assert.Equal(t, "Glasgow", up.City)
}
