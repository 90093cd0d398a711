package testldap

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Fixed names of the test directory.
const (
	BaseDN           = "dc=example,dc=com"
	AdminDN          = "cn=admin,dc=example,dc=com"
	AdminPassword    = "admin-secret"
	WriterDN         = "cn=writer,dc=example,dc=com"
	WriterPassword   = "writer-secret"
	ReaderDN         = "cn=reader,dc=example,dc=com"
	ReaderPassword   = "reader-secret"
	DefaultSizeLimit = 500
)

// EnvURL names the environment variable that points Shared at an existing
// server instead of starting one.
const EnvURL = "CUSTOMERUSER_TEST_LDAP_URL"

// InstallHint is the advice given when slapd is missing.
const InstallHint = "slapd not found: install it with `apt-get install slapd ldap-utils` (or set " + EnvURL + "; go test -short skips LDAP tests)"

// Options change the server's configuration.
type Options struct {
	// SizeLimit is the soft size limit for everyone but the rootdn (0 = 500,
	// slapd's default).
	SizeLimit int
	// PagedResultsUnlimited sets size.prtotal=unlimited, so paged searches get
	// past SizeLimit; without it paging stops at SizeLimit with result 4,
	// slapd's default.
	PagedResultsUnlimited bool
	// AllowBindAnonDN sets olcAllows: bind_anon_dn, so a simple bind with a DN
	// and an empty password succeeds (as anonymous).
	AllowBindAnonDN bool
	// SeedLDIF is loaded with slapadd before the server starts (fast bulk
	// loads; the memberof overlay does not see these entries). The base
	// entries are always loaded.
	SeedLDIF string
	// RequireClientCert makes slapd demand a client certificate signed by
	// the test CA on every TLS connection (olcTLSVerifyClient: demand).
	RequireClientCert bool
	// RSAServerKey gives the server an RSA-2048 key and certificate, as most
	// directories have, instead of ECDSA P-256 (cheaper handshakes; the
	// default). Benchmarks of per-connection costs report both.
	RSAServerKey bool
}

// Server is a running (or stopped) slapd.
type Server struct {
	// URL is the ldap:// address (StartTLS works on it); LDAPSURL the ldaps:// one.
	URL      string
	LDAPSURL string
	// CAPEM is the PEM of the CA that signed the server certificate
	// (IP 127.0.0.1, DNS localhost); CAPool holds it.
	CAPEM  []byte
	CAPool *x509.CertPool
	// ClientCert is a client certificate signed by the same CA (for servers
	// started with RequireClientCert).
	ClientCert tls.Certificate
	// External is true when the server came from CUSTOMERUSER_TEST_LDAP_URL;
	// Stop and Start do nothing then.
	External bool

	adminDN, adminPW   string
	writerDN, writerPW string
	readerDN, readerPW string
	baseDN             string

	dir     string
	port    int
	tlsPort int
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	ouSeq   atomic.Int64
}

// BaseDN is the suffix the server holds.
func (s *Server) BaseDN() string { return s.baseDN }

// Admin gives the rootdn and its password (no limits, full access).
func (s *Server) Admin() (dn, password string) { return s.adminDN, s.adminPW }

// Writer gives the service account allowed to write below the suffix.
func (s *Server) Writer() (dn, password string) { return s.writerDN, s.writerPW }

// Reader gives the read-only service account.
func (s *Server) Reader() (dn, password string) { return s.readerDN, s.readerPW }

// TLSConfig returns a client configuration trusting the test CA.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CAPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Addr returns host:port of the ldap:// listener.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Shared returns the server of this test binary, starting it on first use.
// It skips the test under go test -short and fails it when slapd is missing.
//
// With CUSTOMERUSER_TEST_LDAP_URL set, no server is started; the variables
// CUSTOMERUSER_TEST_LDAP_BASE_DN, _ADMIN_DN and _ADMIN_PASSWORD (defaults:
// the names of this package) describe it, the admin account also serves as
// writer and reader, and the server must have the test schemas of this
// package (SchemaLDIF, ADLikeSchemaLDIF) loaded.
func Shared(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("LDAP tests need a slapd; skipped with -short")
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		if u := os.Getenv(EnvURL); u != "" {
			shared = external(u)
		} else {
			shared, sharedErr = Start(Options{PagedResultsUnlimited: true})
		}
	}
	if sharedErr != nil {
		t.Fatalf("testldap: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared server, if one was started. Call it from TestMain.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		_ = shared.Close()
		shared = nil
	}
}

// Private starts a server of its own for one test with the given options;
// it is stopped when the test ends. The test is skipped under -short and
// when CUSTOMERUSER_TEST_LDAP_URL is set (a private server changes the
// server configuration, which an external server cannot offer).
func Private(t testing.TB, opts Options) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("LDAP tests need a slapd; skipped with -short")
	}
	if os.Getenv(EnvURL) != "" {
		t.Skipf("this test needs a private slapd with special settings; skipped because %s is set", EnvURL)
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("testldap: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func external(u string) *Server {
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	base := env("CUSTOMERUSER_TEST_LDAP_BASE_DN", BaseDN)
	dn := env("CUSTOMERUSER_TEST_LDAP_ADMIN_DN", AdminDN)
	pw := env("CUSTOMERUSER_TEST_LDAP_ADMIN_PASSWORD", AdminPassword)
	return &Server{
		URL: u, External: true, baseDN: base,
		adminDN: dn, adminPW: pw, writerDN: dn, writerPW: pw, readerDN: dn, readerPW: pw,
	}
}

// Start writes a fresh configuration into a new temporary directory and
// starts slapd on random loopback ports, retrying with new ports when
// another process took one in between.
func Start(opts Options) (*Server, error) {
	for _, tool := range []string{"slapd", "slapadd"} {
		if _, err := lookSbin(tool); err != nil {
			return nil, errors.New(InstallHint)
		}
	}
	dir, err := os.MkdirTemp("", "testldap-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		baseDN: BaseDN, dir: dir,
		adminDN: AdminDN, adminPW: AdminPassword,
		writerDN: WriterDN, writerPW: WriterPassword,
		readerDN: ReaderDN, readerPW: ReaderPassword,
	}
	fail := func(err error) (*Server, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.writeCerts(opts.RSAServerKey); err != nil {
		return fail(err)
	}
	if err := s.configure(opts); err != nil {
		return fail(err)
	}
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		p1, p2, err := freePorts()
		if err != nil {
			return fail(err)
		}
		s.port, s.tlsPort = p1, p2
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
	}
	return fail(fmt.Errorf("slapd did not start: %w", lastErr))
}

// sbinDir is where Debian puts slapd (often not on a user's PATH).
var sbinDir = "/usr/sbin"

func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join(sbinDir, name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func freePorts() (int, int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

// SchemaLDIF is the test schema: an auxiliary class customerUser with
// customerID (single), customerIDs (multi), customerValid (integer 1/2/3),
// customerCountry (free text: c only takes two-letter codes) and customerMail
// (UTF-8 text: mail is an IA5String and cannot hold internationalised
// addresses).
const SchemaLDIF = `dn: cn=customeruser,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: customeruser
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.1.1 NAME 'customerID' DESC 'primary customer ID' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{150} SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.1.2 NAME 'customerIDs' DESC 'further customer IDs' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{150} )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.1.3 NAME 'customerValid' DESC 'OTRS valid id: 1 valid, 2 invalid, 3 invalid-temporarily' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.1.4 NAME 'customerCountry' DESC 'country as free text' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{250} SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.1.5 NAME 'customerMail' DESC 'email as UTF-8 text (mail is IA5String and cannot hold internationalised addresses)' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{150} SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.99999.4.2.1 NAME 'customerUser' DESC 'customer-user extras for tests' SUP top AUXILIARY MAY ( customerID $ customerIDs $ customerValid $ customerCountry $ customerMail ) )
`

func (s *Server) configure(opts Options) error {
	limit := opts.SizeLimit
	if limit == 0 {
		limit = DefaultSizeLimit
	}
	sizeLimit := fmt.Sprintf("size.soft=%d", limit)
	if opts.PagedResultsUnlimited {
		sizeLimit += " size.prtotal=unlimited"
	}
	allows := ""
	if opts.RequireClientCert {
		allows += "olcTLSVerifyClient: demand\n"
	}
	if opts.AllowBindAnonDN {
		allows += "olcAllows: bind_anon_dn\n"
	}
	d := s.dir
	for _, sub := range []string{"db", "slapd.d"} {
		if err := os.Mkdir(filepath.Join(d, sub), 0o700); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf(`dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcArgsFile: %[1]s/slapd.args
olcTLSCACertificateFile: %[1]s/ca.pem
olcTLSCertificateFile: %[1]s/server.pem
olcTLSCertificateKeyFile: %[1]s/server.key
%[2]s
dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

%[3]s
%[9]s
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: %[4]s

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbMaxSize: 2147483648
olcDbNoSync: TRUE
olcSuffix: %[5]s
olcDbDirectory: %[1]s/db
olcRootDN: %[6]s
olcRootPW: %[7]s
olcDbIndex: objectClass,uid,cn,mail,member,customerID,customerIDs,customerMail eq
olcAccess: {0}to attrs=userPassword by self write by dn.exact="%[8]s" write by anonymous auth by * none
olcAccess: {1}to * by dn.exact="%[8]s" write by * read

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
`, d, allows, SchemaLDIF, sizeLimit, s.baseDN, s.adminDN, s.adminPW, s.writerDN, ADLikeSchemaLDIF)
	if err := os.WriteFile(filepath.Join(d, "config.ldif"), []byte(cfg), 0o600); err != nil {
		return err
	}
	slapadd, _ := lookSbin("slapadd")
	if out, err := exec.Command(slapadd, "-n0", "-F", filepath.Join(d, "slapd.d"), "-l", filepath.Join(d, "config.ldif")).CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd -n0: %v: %s", err, out)
	}
	base := fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: %[2]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: writer
userPassword: %[3]s

dn: %[4]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: %[5]s

`, s.baseDN, s.writerDN, s.writerPW, s.readerDN, s.readerPW)
	data := base + opts.SeedLDIF
	if err := os.WriteFile(filepath.Join(d, "seed.ldif"), []byte(data), 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(slapadd, "-q", "-n1", "-F", filepath.Join(d, "slapd.d"), "-l", filepath.Join(d, "seed.ldif")).CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd -n1: %v: %s", err, out)
	}
	_ = os.Remove(filepath.Join(d, "seed.ldif"))
	return nil
}

func (s *Server) launch() error {
	slapd, _ := lookSbin("slapd")
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", s.port)
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", s.tlsPort)
	var logBuf bytes.Buffer
	cmd := exec.Command(slapd, "-F", filepath.Join(s.dir, "slapd.d"), "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "none")
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &logBuf}, nil
	cmd.Stderr = cmd.Stdout
	// If the test binary dies without stopping us, take slapd along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("slapd exited: %s", cmd.Stdout.(*syncWriter).String())
		default:
		}
		if c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second})); err == nil {
			err = c.Bind(s.adminDN, s.adminPW)
			_ = c.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("slapd not ready after 15s: %s", cmd.Stdout.(*syncWriter).String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// Stop stops slapd (SIGTERM, then waits) and keeps its data, so that Restart
// can bring it back on the same ports.
func (s *Server) Stop() error {
	if s.External {
		return nil
	}
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Restart starts a stopped server again, on the same ports and with the same data.
func (s *Server) Restart() error {
	if s.External {
		return nil
	}
	var err error
	for i := 0; i < 50; i++ { // the old listener may linger a moment
		if err = s.launch(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// Close stops slapd and removes its directory.
func (s *Server) Close() error {
	if s.External {
		return nil
	}
	err := s.Stop()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}

// AdminConn returns a connection bound as the rootdn; the caller closes it.
func (s *Server) AdminConn() (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(s.adminDN, s.adminPW); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// NewOU creates a fresh organizational unit below the suffix for one test
// and returns its DN. The unit is left behind (the server is throwaway).
func (s *Server) NewOU(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1_000_000_000, s.ouSeq.Add(1))
	dn := "ou=" + name + "," + s.baseDN
	c, err := s.AdminConn()
	if err != nil {
		t.Fatalf("testldap: admin connection: %v", err)
	}
	defer c.Close()
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	req.Attribute("ou", []string{name})
	if err := c.Add(req); err != nil {
		t.Fatalf("testldap: add %s: %v", dn, err)
	}
	return dn
}

// AddEntries adds entries as the rootdn (so the memberof overlay sees them).
func (s *Server) AddEntries(reqs ...*ldap.AddRequest) error {
	c, err := s.AdminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, r := range reqs {
		if err := c.Add(r); err != nil {
			return fmt.Errorf("add %s: %w", r.DN, err)
		}
	}
	return nil
}

// Log returns what slapd printed so far (errors only with -d none).
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return ""
	}
	return s.cmd.Stdout.(*syncWriter).String()
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(w.w.String())
}

// ADLikeSchemaLDIF imitates the Active Directory attributes the
// ActiveDirectory preset relies on (sAMAccountName, userAccountControl,
// company) in an auxiliary class adLikeUser, so that the preset's login
// attribute and its validity filter (a bitwise match with rule
// 1.2.840.113556.1.4.803, which OpenLDAP implements) can be exercised.
// (streetAddress exists in OpenLDAP as an alias of street, which slapd
// returns under the name street.)
// It is an imitation: objectCategory, unicodePwd and the in-chain rule
// 1.2.840.113556.1.4.1941 do not exist in OpenLDAP.
const ADLikeSchemaLDIF = `dn: cn=adlike,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: adlike
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.3.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.3.2 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.4.3.4 NAME 'company' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.99999.4.4.1 NAME 'adLikeUser' DESC 'imitation of AD user attributes for tests' SUP top AUXILIARY MAY ( sAMAccountName $ userAccountControl $ company ) )
`
