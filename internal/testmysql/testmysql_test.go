package testmysql

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestFreshDatabasesAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := NewDatabase(t), NewDatabase(t)
	require.NotEqual(t, a.Name, b.Name)
	_, err := a.DB.ExecContext(ctx, "CREATE TABLE t (x INT)")
	require.NoError(t, err)
	_, err = a.DB.ExecContext(ctx, "INSERT INTO t VALUES (1), (2)")
	require.NoError(t, err)
	var n int
	require.NoError(t, a.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
	assert.Equal(t, 2, n)
	// The other database does not see the table.
	err = b.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n)
	require.Error(t, err)
	var cs string
	require.NoError(t, a.DB.QueryRowContext(ctx, "SELECT @@character_set_database").Scan(&cs))
	assert.Equal(t, "utf8mb4", cs)
}

func TestStopRestartKeepsData(t *testing.T) {
	if os.Getenv(EnvDSN) != "" {
		if _, _, err := binaries(); err != nil {
			t.Skipf("%s is set and MariaDB is not installed here: cannot start a server to restart (%v)", EnvDSN, err)
		}
	}
	ctx := context.Background()
	s := Start(t)
	require.True(t, s.Owned())
	d := s.NewDatabase(t)
	_, err := d.DB.ExecContext(ctx, "CREATE TABLE t (x INT)")
	require.NoError(t, err)
	_, err = d.DB.ExecContext(ctx, "INSERT INTO t VALUES (42)")
	require.NoError(t, err)
	port := s.port

	require.NoError(t, s.Stop())
	require.Error(t, d.DB.PingContext(ctx), "the server is down")
	require.NoError(t, s.Restart())
	assert.Equal(t, port, s.port, "same port after restart")

	var x int
	require.NoError(t, d.DB.QueryRowContext(ctx, "SELECT x FROM t").Scan(&x), "the same pool works again")
	assert.Equal(t, 42, x)
	assert.Contains(t, s.ErrorLog(), "ready for connections")
}

// TestExternalServer uses the shared server the way CUSTOMERUSER_TEST_MYSQL_DSN
// would point the tests at an existing one.
func TestExternalServer(t *testing.T) {
	s, err := external(Shared(t).DSN("ignored_db"))
	require.NoError(t, err)
	assert.False(t, s.Owned())
	require.Error(t, s.Restart(), "an external server cannot be restarted")
	require.NoError(t, s.Stop(), "stopping an external server does nothing")
	d := s.NewDatabase(t)
	require.NoError(t, d.DB.PingContext(context.Background()))
	assert.Contains(t, s.ErrorLog(), "external")

	_, err = external("not a dsn")
	require.Error(t, err)
	_, err = external("root@tcp(127.0.0.1:1)/")
	require.Error(t, err, "an unreachable server is reported")
}

// TestMissingBinaryNamesThePackage checks the message a machine without
// MariaDB gets.
func TestMissingBinaryNamesThePackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := binDirs
	binDirs = nil
	defer func() { binDirs = saved }()
	_, _, err := binaries()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apt-get install mariadb-server")
	assert.Contains(t, err.Error(), EnvDSN)
}

// TestPairReplicates checks the replication helper: writes reach the
// replica, a stopped replication leaves it behind until started again, and
// a stopped replica refuses connections and catches up after its restart.
func TestPairReplicates(t *testing.T) {
	ctx := context.Background()
	p := SharedPair(t)
	d := p.NewDatabase(t)
	var n int
	require.NoError(t, d.Replica.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", d.Name).Scan(&n))
	require.Equal(t, 1, n, "the database exists on the replica")
	var ro int
	require.NoError(t, d.Replica.QueryRowContext(ctx, "SELECT @@read_only").Scan(&ro))
	assert.Equal(t, 1, ro, "the replica is read-only")

	_, err := d.DB.ExecContext(ctx, "CREATE TABLE t (x INT PRIMARY KEY)")
	require.NoError(t, err)
	_, err = d.DB.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, p.WaitCaughtUp(ctx))
	count := func() int {
		t.Helper()
		var n int
		require.NoError(t, d.Replica.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
		return n
	}
	assert.Equal(t, 1, count())

	// Lagging: the replica serves the old data.
	require.NoError(t, p.StopReplication(ctx))
	_, err = d.DB.ExecContext(ctx, "INSERT INTO t VALUES (2)")
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = p.WaitCaughtUp(short)
	cancel()
	require.Error(t, err, "a stopped replication does not catch up")
	assert.Equal(t, 1, count(), "the lagging replica still has the old data")
	require.NoError(t, p.StartReplication(ctx))
	assert.Equal(t, 2, count())

	// Down: connections are refused; after the restart it catches up.
	require.NoError(t, p.StopReplica())
	require.Error(t, d.Replica.PingContext(ctx), "the replica is down")
	_, err = d.DB.ExecContext(ctx, "INSERT INTO t VALUES (3)")
	require.NoError(t, err)
	require.NoError(t, p.StartReplica(ctx))
	assert.Equal(t, 3, count(), "the restarted replica caught up")
}

// TestPairCreateDatabase checks the helpers for code without a testing.TB
// (the runnable examples).
func TestPairCreateDatabase(t *testing.T) {
	ctx := context.Background()
	SharedPair(t)
	p, err := OpenSharedPair()
	require.NoError(t, err)
	require.Same(t, SharedPair(t), p)
	name, drop, err := p.CreateDatabase(ctx)
	require.NoError(t, err)
	exists := func() int {
		t.Helper()
		var n int
		require.NoError(t, p.radmin.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n))
		return n
	}
	assert.Equal(t, 1, exists(), "the replica has the new database")
	drop()
	require.NoError(t, p.WaitCaughtUp(ctx))
	assert.Equal(t, 0, exists(), "dropped on both")
}
