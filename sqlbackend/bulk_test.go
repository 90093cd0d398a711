package sqlbackend_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

var (
	bulkFirst = []string{"Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hans", "Ida", "Jonas",
		"Karla", "Lukas", "Mia", "Noah", "Olga", "Paul", "Quirin", "Rosa", "Sven", "Tina"}
	bulkLast = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
		"Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Braun", "Zimmermann",
		"Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler"}
)

// bulkLoad inserts n users user000000 ... in the default layout with
// multi-row INSERTs (1,000 rows a statement), every tenth with a further
// customer ID; about 100,000 rows a few seconds.
func bulkLoad(t testing.TB, db *sql.DB, n int) {
	t.Helper()
	ctx := context.Background()
	const batch = 1000
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var sb, ids strings.Builder
		var args, idArgs []any
		sb.WriteString(`INSERT INTO customer_user (login, email, customer_id, pw, first_name, last_name, city,
			valid_id, create_time, create_by, change_time, change_by) VALUES `)
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, NULL, ?, ?, 'Berlin', ?, NOW(), 1, NOW(), 1)")
			login := fmt.Sprintf("user%06d", i)
			valid := 1
			if i%20 == 19 {
				valid = 2
			}
			args = append(args, login, login+"@example.com", fmt.Sprintf("CUST%05d", i/10),
				bulkFirst[i%len(bulkFirst)], fmt.Sprintf("%s%d", bulkLast[(i/len(bulkFirst))%len(bulkLast)], i), valid)
			if i%10 == 0 {
				if len(idArgs) > 0 {
					ids.WriteString(", ")
				}
				ids.WriteString("(?, ?, NOW(), 1, NOW(), 1)")
				idArgs = append(idArgs, login, fmt.Sprintf("EXTRA%05d", i/10))
			}
		}
		_, err := db.ExecContext(ctx, sb.String(), args...)
		require.NoError(t, err)
		if len(idArgs) > 0 {
			_, err = db.ExecContext(ctx, "INSERT INTO customer_user_customer (user_id, customer_id, create_time, create_by, change_time, change_by) VALUES "+ids.String(), idArgs...)
			require.NoError(t, err)
		}
	}
	_, err := db.ExecContext(ctx, "ANALYZE TABLE customer_user, customer_user_customer")
	require.NoError(t, err)
}

// explain returns EXPLAIN's rows as "table type key rows" strings.
func explain(t testing.TB, db *sql.DB, query string, args ...any) []map[string]string {
	t.Helper()
	rows, err := db.Query("EXPLAIN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		m := map[string]string{}
		for i, c := range cols {
			m[c] = vals[i].String
		}
		out = append(out, m)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestPrefixSearchUsesIndexes loads 10,000 users and shows with EXPLAIN
// that a prefix search reads the customer_user table through its indexes
// (no full scan), and that a substring search cannot.
func TestPrefixSearchUsesIndexes(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{MatchPrefix: true})
	bulkLoad(t, d.DB, 10000)
	require.Equal(t, 10000, countRows(t, d.DB, "customer_user"))

	for _, q := range []backend.Query{{Search: "richter12"}, {Search: "user0042"}, {Search: "cust0004 anna"}, {CustomerID: "CUST00042"}} {
		query, args, err := b.SearchSQL(ctx, q)
		require.NoError(t, err)
		plan := explain(t, d.DB, query, args...)
		var main map[string]string
		for _, row := range plan {
			if row["table"] == "t" {
				main = row
			}
		}
		require.NotNil(t, main, "plan %v", plan)
		t.Logf("%+v: type=%s key=%s rows=%s", q, main["type"], main["key"], main["rows"])
		assert.NotEqual(t, "ALL", main["type"], "%+v: no full table scan (plan %v)", q, plan)
		assert.NotEmpty(t, main["key"], "%+v: an index is used (plan %v)", q, plan)

		users, err := b.Search(ctx, q)
		require.NoError(t, err)
		require.NotEmpty(t, users, "%+v", q)
	}

	// Search folds accents. The folded copies keep the prefix search on
	// indexes; the same query on the columns converted to an
	// accent-insensitive collation scans the table.
	query, args, err := b.SearchSQL(ctx, backend.Query{Search: "richter12"})
	require.NoError(t, err)
	assert.Contains(t, query, "_sfold` LIKE ?")
	for _, row := range explain(t, d.DB, unfoldSQL(query), args...) {
		if row["table"] == "t" {
			assert.Equal(t, "ALL", row["type"], "without the folded copies the prefix search scans")
		}
	}
	users, err := b.Search(ctx, backend.Query{Search: "RICHTER12"})
	require.NoError(t, err)
	require.NotEmpty(t, users)
	accented, err := b.Search(ctx, backend.Query{Search: "krüger88", Limit: 1000})
	require.NoError(t, err)
	plain, err := b.Search(ctx, backend.Query{Search: "kruger88", Limit: 1000})
	require.NoError(t, err)
	assert.NotEmpty(t, plain)
	assert.Equal(t, loginsOf(accented), loginsOf(plain), "kruger finds Krüger")

	sub := newBackendOn(t, d.DB, sqlbackend.Config{})
	query, args, err = sub.SearchSQL(ctx, backend.Query{Search: "schneider12"})
	require.NoError(t, err)
	for _, row := range explain(t, d.DB, query, args...) {
		if row["table"] == "t" {
			// A scan: of the table, or (the bounded probe in login order)
			// of the sort index.
			assert.Contains(t, []string{"ALL", "index"}, row["type"], "a substring search scans (the reason for MatchPrefix)")
		}
	}
}
