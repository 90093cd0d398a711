package sqlbackend_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestWritesAreAtomic makes the second statement of each write fail (a
// trigger on customer_user_customer raises an error) and shows that the
// first one was rolled back.
func TestWritesAreAtomic(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{})
	orig := sampleUser("dora")
	orig.CustomerIDs = []string{"D1"}
	_, err := b.Add(ctx, orig, "pw")
	require.NoError(t, err)
	before, err := b.Get(ctx, "dora")
	require.NoError(t, err)
	usersBefore := countRows(t, d.DB, "customer_user")
	idsBefore := countRows(t, d.DB, "customer_user_customer")

	for _, trg := range []string{
		"CREATE TRIGGER fail_insert BEFORE INSERT ON customer_user_customer FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'forced failure'",
		"CREATE TRIGGER fail_update BEFORE UPDATE ON customer_user_customer FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'forced failure'",
	} {
		_, err := d.DB.ExecContext(ctx, trg)
		require.NoError(t, err)
	}

	t.Run("Add with further customer IDs", func(t *testing.T) {
		u := sampleUser("emil")
		u.CustomerIDs = []string{"E1", "E2"}
		_, err := b.Add(ctx, u, "pw")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "forced failure")
		_, err = b.Get(ctx, "emil")
		assert.ErrorIs(t, err, backend.ErrNotFound, "the customer_user row was rolled back")
	})
	t.Run("Update replacing further customer IDs", func(t *testing.T) {
		u := before
		u.City = "Changed"
		u.CustomerIDs = []string{"D2"}
		_, err := b.Update(ctx, "dora", u)
		require.Error(t, err)
		got, err := b.Get(ctx, "dora")
		require.NoError(t, err)
		assert.Equal(t, before, got, "neither the row nor the further IDs changed")
	})
	t.Run("Rename", func(t *testing.T) {
		u := before
		u.Login = "dorothea"
		_, err := b.Update(ctx, "dora", u)
		require.Error(t, err)
		got, err := b.Get(ctx, "dora")
		require.NoError(t, err)
		assert.Equal(t, before, got)
		_, err = b.Get(ctx, "dorothea")
		assert.ErrorIs(t, err, backend.ErrNotFound)
	})
	assert.Equal(t, usersBefore, countRows(t, d.DB, "customer_user"))
	assert.Equal(t, idsBefore, countRows(t, d.DB, "customer_user_customer"))
	_, err = b.Authenticate(ctx, "dora", "pw")
	require.NoError(t, err)
}

// TestSQLInjectionIsLiteral stores and searches SQL fragments and shows
// that they are data: the tables are intact and the values come back
// exactly.
func TestSQLInjectionIsLiteral(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []sqlbackend.Config{{}, {Collation: "utf8mb4_bin", MatchPrefix: true}} {
		b, d := newBackend(t, cfg)
		_, err := b.Add(ctx, sampleUser("victim"), "pw")
		require.NoError(t, err)
		evil := []string{
			`'; DROP TABLE customer_user; --`,
			`" OR 1=1 --`,
			`x' OR '1'='1`,
			`\'; DELETE FROM customer_user_customer; --`,
			`%`, `_`, `\`, `\%`, `a%b_c\d`,
			"`customer_user`",
			`) OR (1=1`,
		}
		for i, v := range evil {
			u := sampleUser("evil" + string(rune('a'+i)))
			u.FirstName = v
			u.LastName = v
			u.Comment = v
			u.CustomerIDs = []string{v + "-2"}
			added, err := b.Add(ctx, u, v)
			require.NoError(t, err, v)
			got, err := b.Get(ctx, added.Login)
			require.NoError(t, err)
			assert.Equal(t, v, got.FirstName)
			assert.Equal(t, []string{v + "-2"}, got.CustomerIDs)
			_, err = b.Authenticate(ctx, added.Login, v)
			require.NoError(t, err, v)

			for _, q := range []backend.Query{{Search: `"` + v + `"`}, {Login: v}, {CustomerID: v}, {Email: v}, {CustomerID: v + "-2"}} {
				res, err := b.Search(ctx, q)
				if err != nil {
					var ve *backend.ValidationError
					require.ErrorAs(t, err, &ve, "%q", v)
					continue
				}
				for _, r := range res {
					assert.NotEqual(t, "victim", r.Login, "%q matched an unrelated user as a wildcard (%+v)", v, q)
				}
			}
			_, err = b.Get(ctx, v)
			assert.ErrorIs(t, err, backend.ErrNotFound)
		}
		assert.Equal(t, len(evil)+1, countRows(t, d.DB, "customer_user"), "the table is intact")
		assert.Equal(t, len(evil), countRows(t, d.DB, "customer_user_customer"))
		// '%' and '_' are literals: only the users holding them match.
		res, err := b.Search(ctx, backend.Query{Search: "%"})
		require.NoError(t, err)
		for _, r := range res {
			assert.Contains(t, r.FirstName+r.LastName+r.Login+r.Email+r.CustomerID+r.CustomerIDs[0], "%")
		}
		res, err = b.Search(ctx, backend.Query{Search: `"'; DROP TABLE customer_user; --"`})
		require.NoError(t, err)
		assert.Equal(t, []string{"evila"}, loginsOf(res))
	}
}
