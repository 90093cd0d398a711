// Package testmysql gives tests a real MariaDB server: a throwaway mariadbd
// started from a scratch data directory on a random 127.0.0.1 port, once per
// test binary, with a fresh database per test. When the environment variable
// CUSTOMERUSER_TEST_MYSQL_DSN is set, the tests use that server instead (the
// account must be allowed to create and drop databases).
//
// mariadb-install-db runs once per test binary into a template directory that
// every server copies. A server that cannot bind its port (another process
// took it between the pick and the launch) is retried on a new port; a
// server that fails to start fails the test with its error log. When MariaDB
// is not installed, the test fails saying `apt-get install mariadb-server`;
// only go test -short skips these tests.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(testmysql.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		d := testmysql.NewDatabase(t) // fresh database, dropped afterwards
//		_, err := d.DB.ExecContext(ctx, "CREATE TABLE ...")
//		...
//	}
//
// Tests that stop and restart the server take a server of their own with
// Start, then call Stop and Restart on it.
//
// SharedPair (or StartPair, a pair of the test's own) gives a primary and
// a replica following it by GTID replication, for tests of read replicas:
// Pair.NewDatabase creates a database on the primary and opens its copy on
// the replica; WaitCaughtUp waits until the replica applied every write;
// StopReplication makes it lag and StopReplica takes it down, each undone
// by its Start counterpart.
package testmysql
