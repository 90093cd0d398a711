package sqlbackend_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestRehashFailureIsLoggedNotFatal makes the hash upgrade after a login
// fail (a trigger refuses updates) and shows that the login succeeds, the
// failure is logged, and neither password nor hash is in the log.
func TestRehashFailureIsLoggedNotFatal(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	b, d := newBackend(t, sqlbackend.Config{Logger: logger})
	_, err := b.Add(ctx, sampleUser("olaf"), "")
	require.NoError(t, err)
	const sha2 = "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82" // Secret123
	_, err = d.DB.ExecContext(ctx, "UPDATE customer_user SET pw = ? WHERE login = 'olaf'", sha2)
	require.NoError(t, err)
	_, err = d.DB.ExecContext(ctx, "CREATE TRIGGER no_updates BEFORE UPDATE ON customer_user FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'updates refused'")
	require.NoError(t, err)

	u, err := b.Authenticate(ctx, "olaf", "Secret123")
	require.NoError(t, err, "a failed rehash does not fail the login")
	assert.Equal(t, "olaf", u.Login)
	var stored string
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT pw FROM customer_user WHERE login = 'olaf'").Scan(&stored))
	assert.Equal(t, sha2, stored)
	assert.Contains(t, logs.String(), "could not upgrade a password hash")
	assert.Contains(t, logs.String(), "updates refused")
	assert.NotContains(t, logs.String(), "Secret123")
	assert.NotContains(t, logs.String(), sha2)

	// A read-only backend never rewrites, so it logs nothing.
	logs.Reset()
	ro, err := sqlbackend.New(d.DB, sqlbackend.Config{ReadOnly: true, Logger: logger, Hasher: &testHasher})
	require.NoError(t, err)
	_, err = ro.Authenticate(ctx, "OLAF", "Secret123")
	require.NoError(t, err)
	assert.Empty(t, logs.String())
	_, err = ro.Authenticate(ctx, "olaf", "secret123")
	assert.ErrorIs(t, err, backend.ErrInvalidCredentials)
}
