package sqlbackend_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// importSource yields records from..to-1 with OTRS sha2 hashes of
// "Secret123"; bad, when >= 0, is a record with an invalid email.
func importSource(from, to, bad int) iter.Seq2[sqlbackend.ImportRecord, error] {
	return func(yield func(sqlbackend.ImportRecord, error) bool) {
		for i := from; i < to; i++ {
			u := sampleUser(fmt.Sprintf("imp%05d", i))
			if i%3 == 0 {
				u.CustomerIDs = []string{"EXTRA", fmt.Sprintf("X%d", i)}
			}
			if i == bad {
				u.Email = "not an email"
			}
			if !yield(sqlbackend.ImportRecord{User: u, PasswordHash: legacyHashes["sha2"]}, nil) {
				return
			}
		}
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	b, d := newBackend(t, sqlbackend.Config{Hasher: &testHasher})
	var progress []sqlbackend.ImportProgress
	p, err := b.Import(ctx, importSource(0, 1200, -1), sqlbackend.ImportOptions{BatchSize: 500,
		Progress: func(p sqlbackend.ImportProgress) { progress = append(progress, p) }})
	require.NoError(t, err)
	assert.Equal(t, sqlbackend.ImportProgress{Read: 1200, Inserted: 1200, LastLogin: "imp01199"}, p)
	require.Len(t, progress, 3)
	assert.Equal(t, sqlbackend.ImportProgress{Read: 500, Inserted: 500, LastLogin: "imp00499"}, progress[0])
	assert.Equal(t, 1200, countRows(t, d.DB, "customer_user"))
	assert.Equal(t, 800, countRows(t, d.DB, "customer_user_customer"))

	// The stored hash is kept: the migrated password works.
	u, err := b.Authenticate(ctx, "IMP00003", "Secret123")
	require.NoError(t, err)
	assert.Equal(t, []string{"EXTRA", "X3"}, u.CustomerIDs)
	// The sort key is written: searches read in index order.
	var stale int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM customer_user WHERE login_isort IS NULL").Scan(&stale))
	assert.Zero(t, stale)
	res, err := b.Search(ctx, backend.Query{Search: "imp0119", Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, []string{"imp01190", "imp01191", "imp01192"}, loginsOf(res))

	// Again: duplicates, nothing changed.
	_, err = b.Import(ctx, importSource(0, 10, -1), sqlbackend.ImportOptions{})
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
	var ie *sqlbackend.ImportError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, 0, ie.Record)
	assert.Equal(t, "imp00000", ie.Login)

	// Resumed after an interruption: the stored ones are skipped.
	p, err = b.Import(ctx, importSource(0, 1500, -1), sqlbackend.ImportOptions{BatchSize: 400, SkipExisting: true})
	require.NoError(t, err)
	assert.Equal(t, sqlbackend.ImportProgress{Read: 1500, Inserted: 300, Skipped: 1200, LastLogin: "imp01499"}, p)
	assert.Equal(t, 1500, countRows(t, d.DB, "customer_user"))

	// A bad record stops the import: its batch is rolled back, the earlier
	// ones stay; the error names the record, never the hash.
	p, err = b.Import(ctx, importSource(2000, 3000, 2700), sqlbackend.ImportOptions{BatchSize: 500})
	var ve *backend.ValidationError
	require.ErrorAs(t, err, &ve)
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, 700, ie.Record)
	assert.Equal(t, "imp02700", ie.Login)
	assert.NotContains(t, err.Error(), legacyHashes["sha2"])
	assert.Equal(t, 500, p.Inserted)
	assert.Equal(t, 2000, countRows(t, d.DB, "customer_user"))

	// Duplicates inside one batch, by the identity rule.
	dup := func(yield func(sqlbackend.ImportRecord, error) bool) {
		a, c := sampleUser("dup.one"), sampleUser("DUP.ONE")
		c.Email = "other@example.com"
		_ = yield(sqlbackend.ImportRecord{User: a}, nil) && yield(sqlbackend.ImportRecord{User: c}, nil)
	}
	_, err = b.Import(ctx, dup, sqlbackend.ImportOptions{})
	require.ErrorIs(t, err, backend.ErrDuplicateLogin)
	sameEmail := func(yield func(sqlbackend.ImportRecord, error) bool) {
		a, c := sampleUser("mail.one"), sampleUser("mail.two")
		c.Email = "MAIL.ONE@example.com"
		_ = yield(sqlbackend.ImportRecord{User: a}, nil) && yield(sqlbackend.ImportRecord{User: c}, nil)
	}
	_, err = b.Import(ctx, sameEmail, sqlbackend.ImportOptions{})
	require.ErrorIs(t, err, backend.ErrDuplicateEmail)
	taken := func(yield func(sqlbackend.ImportRecord, error) bool) {
		c := sampleUser("mail.three")
		c.Email = "IMP00001@example.com"
		yield(sqlbackend.ImportRecord{User: c}, nil)
	}
	_, err = b.Import(ctx, taken, sqlbackend.ImportOptions{})
	require.ErrorIs(t, err, backend.ErrDuplicateEmail, "against the table")

	// A hash no verifier reads is refused without being echoed.
	junk := "$9$not-a-hash-secret"
	_, err = b.Import(ctx, func(yield func(sqlbackend.ImportRecord, error) bool) {
		yield(sqlbackend.ImportRecord{User: sampleUser("junk"), PasswordHash: junk}, nil)
	}, sqlbackend.ImportOptions{})
	require.ErrorAs(t, err, &ve)
	assert.NotContains(t, err.Error(), "not-a-hash")
	assert.NotContains(t, fmt.Sprintf("%v %#v", sqlbackend.ImportRecord{PasswordHash: junk}, sqlbackend.ImportRecord{PasswordHash: junk}), "not-a-hash")

	// The source's error ends the import, wrapped.
	boom := errors.New("source broke")
	_, err = b.Import(ctx, func(yield func(sqlbackend.ImportRecord, error) bool) {
		yield(sqlbackend.ImportRecord{}, boom)
	}, sqlbackend.ImportOptions{})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 2000, countRows(t, d.DB, "customer_user"), "nothing of the failed imports stored")

	ro, err := sqlbackend.New(d.DB, sqlbackend.Config{ReadOnly: true, Hasher: &testHasher})
	require.NoError(t, err)
	_, err = ro.Import(ctx, importSource(5000, 5001, -1), sqlbackend.ImportOptions{})
	require.ErrorIs(t, err, backend.ErrReadOnly)
	_, err = b.Import(ctx, importSource(5000, 5001, -1), sqlbackend.ImportOptions{BatchSize: 100000})
	require.ErrorAs(t, err, &ve)
}
