package testmysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// EnvDSN names the environment variable that points the tests at an existing
// server instead of a throwaway one. The account must be allowed to create and
// drop databases; the database named in the DSN, if any, is not used.
const EnvDSN = "CUSTOMERUSER_TEST_MYSQL_DSN"

// installHint is what a test failure says when MariaDB is not installed.
const installHint = "apt-get install mariadb-server"

// Server is a MariaDB server the tests may use: either a throwaway mariadbd
// started by this package, or the external server named by EnvDSN.
type Server struct {
	root mysql.Config // administrative account, no database selected

	// Set only for a server this package started.
	dir   string // throwaway directory: data/, tmp/, socket, error log
	port  int
	user  string
	mu    sync.Mutex
	cmd   *exec.Cmd
	exit  chan struct{} // closed when cmd has exited
	owned bool
	// flags are extra mariadbd options (replication); with binlog set the
	// server writes a binary log instead of running with --skip-log-bin.
	flags  []string
	binlog bool
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once

	tplDir  string
	tplErr  error
	tplOnce sync.Once
)

// Run runs the tests of a package that uses the shared server and stops that
// server afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testmysql.Run(m)) }
//
// Without it the shared server still goes away when the test binary exits
// (it is started with a parent-death signal), but its directory is left in
// the temporary directory.
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil && shared.owned {
		_ = shared.Stop()
		_ = os.RemoveAll(shared.dir)
	}
	if sharedPair != nil {
		sharedPair.stop()
	}
	if tplDir != "" {
		_ = os.RemoveAll(tplDir)
	}
	return code
}

// Shared returns the server shared by all tests of the test binary, starting
// it on first use (or connecting to EnvDSN). Under go test -short it skips the
// test; when MariaDB is not installed it fails the test naming the package.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping MariaDB test in -short mode")
	}
	sharedOnce.Do(func() {
		if dsn := os.Getenv(EnvDSN); dsn != "" {
			shared, sharedErr = external(dsn)
			return
		}
		shared, sharedErr = start()
	})
	if sharedErr != nil {
		tb.Fatalf("testmysql: %v", sharedErr)
	}
	return shared
}

// Start starts a server of the test's own (never the external one), stopped
// and removed when the test ends. Tests that stop and restart the server use
// it. Under go test -short it skips the test.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping MariaDB test in -short mode")
	}
	s, err := start()
	if err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("testmysql: stopping mariadbd: %v", err)
		}
		_ = os.RemoveAll(s.dir)
	})
	return s
}

func external(dsn string) (*Server, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvDSN, err)
	}
	cfg.DBName = ""
	s := &Server{root: *cfg}
	db, err := s.open("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("%s: cannot reach the server: %w", EnvDSN, err)
	}
	return s, nil
}

// binDirs are searched after $PATH: Debian puts mariadbd in /usr/sbin,
// which is not on every user's $PATH.
var binDirs = []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}

// binaries finds mariadbd and mariadb-install-db.
func binaries() (server, installDB string, err error) {
	find := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			for _, d := range binDirs {
				p := filepath.Join(d, n)
				if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
					return p
				}
			}
		}
		return ""
	}
	server = find("mariadbd", "mysqld")
	installDB = find("mariadb-install-db", "mysql_install_db")
	if server == "" || installDB == "" {
		return "", "", fmt.Errorf("MariaDB is not installed (mariadbd or mariadb-install-db not found): "+
			"run `%s` (or set %s to an existing server)", installHint, EnvDSN)
	}
	return server, installDB, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

// template runs mariadb-install-db once per test binary; every server copies
// the result (40 ms instead of 1-2 s).
func template() (string, error) {
	tplOnce.Do(func() {
		_, installDB, err := binaries()
		if err != nil {
			tplErr = err
			return
		}
		dir, err := os.MkdirTemp("", "cu-mariadb-tpl-")
		if err != nil {
			tplErr = err
			return
		}
		cmd := exec.Command(installDB, "--no-defaults", "--datadir="+filepath.Join(dir, "data"),
			"--user="+currentUser(), "--auth-root-authentication-method=normal", "--skip-test-db",
			"--skip-name-resolve", "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=16M")
		out, err := cmd.CombinedOutput()
		if err != nil {
			_ = os.RemoveAll(dir)
			tplErr = fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
			return
		}
		tplDir = dir
	})
	return tplDir, tplErr
}

func start() (*Server, error) { return startWith(false) }

// startWith starts a server with extra mariadbd flags and, with binlog, a
// binary log.
func startWith(binlog bool, flags ...string) (*Server, error) {
	tpl, err := template()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cu-mariadb-")
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(tpl, "data"), filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("copying the template data directory: %v: %s", err, out)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir, user: currentUser(), owned: true, binlog: binlog, flags: flags}
	// The port is picked right before the launch; if another process takes it
	// in between, mariadbd exits and we try again with a new one.
	for attempt := 0; ; attempt++ {
		s.port, err = freePort()
		if err == nil {
			err = s.launch()
		}
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 4 {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

var errPortTaken = errors.New("port already in use")

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts mariadbd on s.dir and s.port and waits until it answers.
func (s *Server) launch() error {
	server, _, err := binaries()
	if err != nil {
		return err
	}
	logPath := s.ErrorLogPath()
	binlog := "--skip-log-bin"
	if s.binlog {
		binlog = "--log-bin=mysql-bin"
	}
	args := append([]string{"--no-defaults", "--user=" + s.user,
		"--datadir=" + filepath.Join(s.dir, "data"), "--socket=" + filepath.Join(s.dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(s.dir, "mysqld.pid"), fmt.Sprintf("--port=%d", s.port),
		"--bind-address=127.0.0.1", "--skip-name-resolve", "--log-error=" + logPath,
		"--tmpdir=" + filepath.Join(s.dir, "tmp"), binlog, "--skip-performance-schema",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=8M",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"}, s.flags...)
	cmd := exec.Command(server, args...)
	// If the test binary dies without stopping the server, the kernel stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting mariadbd: %w", err)
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()

	s.root = mysql.Config{
		User: "root", Net: "tcp", Addr: fmt.Sprintf("127.0.0.1:%d", s.port),
		AllowNativePasswords: true, ParseTime: true, Loc: time.UTC, Timeout: 5 * time.Second,
	}
	db, err := s.open("")
	if err != nil {
		_ = s.Stop()
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exit:
			log := s.ErrorLog()
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			if strings.Contains(log, "Address already in use") || strings.Contains(log, "Bind on TCP/IP port") {
				_ = os.Remove(logPath)
				return errPortTaken
			}
			return fmt.Errorf("mariadbd exited during start-up; its error log:\n%s", log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("mariadbd did not answer within 60 s (%v); its error log:\n%s", err, s.ErrorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down cleanly (SIGTERM, then SIGKILL after 30 s) and
// waits for it. The data directory is kept, so Restart can bring the same
// server back. Stopping a stopped server does nothing; for the external
// server it does nothing either.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exit
		return fmt.Errorf("mariadbd did not stop within 30 s and was killed; its error log:\n%s", s.ErrorLog())
	}
}

// Restart starts a stopped server again on the same data directory and port.
func (s *Server) Restart() error {
	if !s.owned {
		return errors.New("testmysql: cannot restart an external server")
	}
	if err := s.Stop(); err != nil {
		return err
	}
	return s.launch()
}

// Owned reports whether this package started the server (false for EnvDSN).
func (s *Server) Owned() bool { return s.owned }

// ErrorLogPath is the path of the server's error log ("" for an external server).
func (s *Server) ErrorLogPath() string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, "error.log")
}

// ErrorLog returns the server's error log, for failure messages.
func (s *Server) ErrorLog() string {
	p := s.ErrorLogPath()
	if p == "" {
		return "(external server: no error log)"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p, err)
	}
	return string(b)
}

// Config returns the driver configuration of the administrative account with
// dbName selected.
func (s *Server) Config(dbName string) *mysql.Config {
	c := s.root.Clone()
	c.DBName = dbName
	return c
}

// DSN returns the data source name of the administrative account with dbName selected.
func (s *Server) DSN(dbName string) string { return s.Config(dbName).FormatDSN() }

func (s *Server) open(dbName string) (*sql.DB, error) {
	c, err := mysql.NewConnector(s.Config(dbName))
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// Database is a fresh, empty database of a test.
type Database struct {
	Name   string
	Server *Server
	// DB is a connection pool to the database, closed when the test ends.
	DB *sql.DB
}

// DSN returns the data source name of the database.
func (d *Database) DSN() string { return d.Server.DSN(d.Name) }

// Open opens another pool on the database, closed when the test ends.
func (d *Database) Open(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := d.Server.open(d.Name)
	if err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// NewDatabase creates a fresh utf8mb4 database on the shared server, dropped
// when the test ends.
func NewDatabase(tb testing.TB) *Database {
	tb.Helper()
	return Shared(tb).NewDatabase(tb)
}

// NewDatabase creates a fresh utf8mb4 database on s, dropped when the test ends.
func (s *Server) NewDatabase(tb testing.TB) *Database {
	tb.Helper()
	name := newDatabaseName()
	admin, err := s.open("")
	if err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		tb.Fatalf("testmysql: creating database: %v; server error log:\n%s", err, s.ErrorLog())
	}
	db, err := s.open(name)
	if err != nil {
		tb.Fatalf("testmysql: %v", err)
	}
	d := &Database{Name: name, Server: s, DB: db}
	tb.Cleanup(func() {
		_ = db.Close()
		admin, err := s.open("")
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	})
	return d
}

// newDatabaseName is a random database name, "cu_" and 12 hex digits.
func newDatabaseName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cu_" + hex.EncodeToString(b[:])
}
