package testmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pair is a MariaDB primary and a replica of it: two throwaway servers on
// loopback, the primary writing a ROW-format binary log (server_id 1), the
// replica (server_id 2, read_only) following it by GTID
// (MASTER_USE_GTID=slave_pos). Whatever a test writes on the primary,
// databases included, reaches the replica asynchronously; WaitCaughtUp
// waits for it.
//
// A test may make the replica lag (StopReplication) or go down
// (StopReplica); on the shared pair it must put it back (StartReplication,
// StartReplica) before it ends, since other tests use the pair after it.
type Pair struct {
	Primary *Server
	Replica *Server

	padmin, radmin *sql.DB // administrative pools, no database selected
}

var (
	sharedPair     *Pair
	sharedPairErr  error
	sharedPairOnce sync.Once
)

// SharedPair returns the primary and replica pair shared by all tests of
// the test binary, starting it on first use (Run stops it). Under go test
// -short it skips the test; when MariaDB is not installed it fails the
// test naming the package. There is no external pair: CUSTOMERUSER_TEST_MYSQL_DSN
// does not apply.
func SharedPair(tb testing.TB) *Pair {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping MariaDB replication test in -short mode")
	}
	sharedPairOnce.Do(func() { sharedPair, sharedPairErr = startPair() })
	if sharedPairErr != nil {
		tb.Fatalf("testmysql: %v", sharedPairErr)
	}
	return sharedPair
}

// StartPair starts a pair of the test's own, stopped and removed when the
// test ends. Under go test -short it skips the test.
func StartPair(tb testing.TB) *Pair {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping MariaDB replication test in -short mode")
	}
	p, err := startPair()
	if err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	tb.Cleanup(p.stop)
	return p
}

// startPair starts both servers at once, then points the replica at the
// primary. Both copy the same template data directory, so the replica
// needs nothing but the primary's binary log, which starts empty.
func startPair() (*Pair, error) {
	var p Pair
	var perr, rerr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.Primary, perr = startWith(true, "--server-id=1", "--binlog-format=ROW", "--gtid-strict-mode=1")
	}()
	go func() {
		defer wg.Done()
		p.Replica, rerr = startWith(false, "--server-id=2", "--relay-log=relay-bin", "--read-only=1",
			"--gtid-strict-mode=1")
	}()
	wg.Wait()
	if err := errors.Join(perr, rerr); err != nil {
		p.stop()
		return nil, err
	}
	var err error
	if p.padmin, err = p.Primary.open(""); err == nil {
		p.radmin, err = p.Replica.open("")
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// root@127.0.0.1 has no password (mariadb-install-db
	// --auth-root-authentication-method=normal) and every privilege.
	change := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='root', "+
		"MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos", p.Primary.port)
	for _, stmt := range []string{change, "START SLAVE"} {
		if _, err := p.radmin.ExecContext(ctx, stmt); err != nil {
			p.stop()
			return nil, fmt.Errorf("setting up replication: %w; replica error log:\n%s", err, p.Replica.ErrorLog())
		}
	}
	// A first transaction proves the replica applies the primary's log.
	if _, err := p.padmin.ExecContext(ctx, "CREATE DATABASE cu_replication_check"); err == nil {
		_, err = p.padmin.ExecContext(ctx, "DROP DATABASE cu_replication_check")
	}
	if err == nil {
		err = p.WaitCaughtUp(ctx)
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return &p, nil
}

func (p *Pair) stop() {
	for _, db := range []*sql.DB{p.padmin, p.radmin} {
		if db != nil {
			_ = db.Close()
		}
	}
	for _, s := range []*Server{p.Replica, p.Primary} {
		if s != nil {
			_ = s.Stop()
			_ = os.RemoveAll(s.dir)
		}
	}
}

// WaitCaughtUp waits until the replica has applied every transaction the
// primary has logged so far (MASTER_GTID_WAIT on the primary's
// gtid_binlog_pos), at most 30 s or until ctx ends. A replica that is
// stopped, lagging for good or broken gives an error with its replication
// status.
func (p *Pair) WaitCaughtUp(ctx context.Context) error {
	var pos string
	if err := p.padmin.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		return fmt.Errorf("reading the primary's GTID position: %w", err)
	}
	if pos == "" {
		return nil
	}
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	var res sql.NullInt64
	if err := p.radmin.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, ?)", pos, timeout.Seconds()).Scan(&res); err != nil {
		return fmt.Errorf("waiting for the replica to reach GTID %s: %w", pos, err)
	}
	if res.Int64 != 0 || !res.Valid {
		return fmt.Errorf("the replica did not reach GTID %s within %v; %s", pos, timeout.Round(time.Millisecond), p.status(ctx))
	}
	return nil
}

// status describes the replica's replication threads, for error messages.
func (p *Pair) status(ctx context.Context) string {
	rows, err := p.radmin.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return fmt.Sprintf("replication status unavailable: %v", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil || !rows.Next() {
		return "replication is not configured"
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return fmt.Sprintf("replication status unreadable: %v", err)
	}
	var parts []string
	for i, c := range cols {
		switch c {
		case "Slave_IO_Running", "Slave_SQL_Running", "Last_IO_Error", "Last_SQL_Error", "Gtid_IO_Pos", "Seconds_Behind_Master":
			parts = append(parts, c+"="+vals[i].String)
		}
	}
	return "replica status: " + strings.Join(parts, ", ")
}

// StopReplication stops the replica's replication threads (STOP SLAVE):
// the replica keeps serving reads but no longer sees the primary's writes,
// a replica lagging for as long as the test wants.
func (p *Pair) StopReplication(ctx context.Context) error {
	if _, err := p.radmin.ExecContext(ctx, "STOP SLAVE"); err != nil {
		return fmt.Errorf("stopping replication: %w", err)
	}
	return nil
}

// StartReplication starts the replication threads again (START SLAVE) and
// waits until the replica caught up.
func (p *Pair) StartReplication(ctx context.Context) error {
	if _, err := p.radmin.ExecContext(ctx, "START SLAVE"); err != nil {
		return fmt.Errorf("starting replication: %w", err)
	}
	return p.WaitCaughtUp(ctx)
}

// StopReplica shuts the replica server down: connections to it are
// refused until StartReplica.
func (p *Pair) StopReplica() error { return p.Replica.Stop() }

// StartReplica starts the stopped replica server again on the same port
// and data directory (it resumes replication by itself) and waits until it
// caught up.
func (p *Pair) StartReplica(ctx context.Context) error {
	if err := p.Replica.Restart(); err != nil {
		return err
	}
	// The pooled connections died with the server: start afresh.
	db, err := p.Replica.open("")
	if err != nil {
		return err
	}
	_ = p.radmin.Close()
	p.radmin = db
	return p.WaitCaughtUp(ctx)
}

// ReplicatedDatabase is a fresh database on the primary with its copy on
// the replica.
type ReplicatedDatabase struct {
	*Database // on the primary; dropped (on both servers) when the test ends
	// Replica is a connection pool to the database's copy on the replica,
	// closed when the test ends.
	Replica *sql.DB
}

// NewDatabase creates a fresh database on the primary, waits until the
// replica has it, and opens a pool on each.
func (p *Pair) NewDatabase(tb testing.TB) *ReplicatedDatabase {
	tb.Helper()
	d := p.Primary.NewDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitCaughtUp(ctx); err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	db, err := p.Replica.open(d.Name)
	if err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return &ReplicatedDatabase{Database: d, Replica: db}
}

// OpenSharedPair is SharedPair for code without a testing.TB (a runnable
// example): it starts the shared pair on first use, under go test -short
// too, and returns the error SharedPair would fail the test with.
func OpenSharedPair() (*Pair, error) {
	sharedPairOnce.Do(func() { sharedPair, sharedPairErr = startPair() })
	if sharedPairErr != nil {
		return nil, fmt.Errorf("testmysql: %w", sharedPairErr)
	}
	return sharedPair, nil
}

// CreateDatabase is NewDatabase for code without a testing.TB: it creates
// a fresh utf8mb4 database on the primary and waits until the replica has
// it. Open it with Primary.Config(name) and Replica.Config(name); drop
// drops it on both.
func (p *Pair) CreateDatabase(ctx context.Context) (name string, drop func(), err error) {
	name = newDatabaseName()
	if _, err := p.padmin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		return "", nil, fmt.Errorf("testmysql: creating database: %w", err)
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = p.padmin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	}
	if err := p.WaitCaughtUp(ctx); err != nil {
		drop()
		return "", nil, fmt.Errorf("testmysql: %w", err)
	}
	return name, drop, nil
}
