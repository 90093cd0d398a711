package testad

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
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
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// Fixed names of the test domain.
const (
	Realm         = "CORP.EXAMPLE.COM"
	NetBIOSDomain = "CORP"
	DNSDomain     = "corp.example.com"
	BaseDN        = "DC=corp,DC=example,DC=com"
	// UPNSuffix is the suffix of the seed users' userPrincipalName.
	UPNSuffix = DNSDomain
	// AdminDN is the domain's built-in Administrator.
	AdminDN       = "CN=Administrator,CN=Users," + BaseDN
	AdminPassword = "Adm1n-Passw0rd!"
	// ServiceDN is a plain domain user, the read-only service account of
	// the worked configuration (every authenticated user reads users).
	ServiceDN       = "CN=svc-helpdesk,CN=Users," + BaseDN
	ServiceLogin    = "svc-helpdesk"
	ServicePassword = "Svc-Passw0rd-1"
	// WriterDN is a member of Domain Admins, the service account for writes
	// (creating users, setting passwords, enabling accounts).
	WriterDN       = "CN=svc-writer,CN=Users," + BaseDN
	WriterPassword = "Wr1ter-Passw0rd"
	// CustomersDN holds the seed users; CustomerGroupDN is the customer
	// group, NestedGroupDN a group that is a member of it.
	CustomersDN     = "OU=Customers," + BaseDN
	GroupsDN        = "OU=Groups," + BaseDN
	CustomerGroupDN = "CN=Helpdesk Customers," + GroupsDN
	NestedGroupDN   = "CN=Helpdesk Customers EU," + GroupsDN
	// UserPassword is the password of every seed user.
	UserPassword = "Cust0mer-Passw0rd!"
	// BulkDN holds BulkUsers users adpage0001 … adpage2500 (enabled, without a
	// password, customer ID BULK), for paging past the server's
	// MaxPageSize (1000). (The prefix is not the conformance suite's bulk:
	// sAMAccountName is unique in the whole domain.)
	BulkDN    = "OU=Bulk," + BaseDN
	BulkUsers = 2500
)

// InstallHint is the advice given when a Samba binary is missing.
const InstallHint = "Samba AD DC not found: install it with `apt-get install samba samba-ad-dc samba-ad-provision ldb-tools` (scripts/install-deps.sh does; go test -short skips AD tests)"

// SeedUser is one user of the seed, below CustomersDN, with UserPassword.
type SeedUser struct {
	Login, FirstName, LastName, Email, Company string
	// Disabled accounts have userAccountControl 514 (ACCOUNTDISABLE).
	Disabled bool
	// Groups are the groups the user is a direct member of.
	Groups []string
}

// DN is the user's entry.
func (u SeedUser) DN() string { return "CN=" + u.FirstName + " " + u.LastName + "," + CustomersDN }

// Seed lists the seed users: jdoe is a customer through the nested group
// only, asmith directly, bnobody not at all, dgone is disabled.
var Seed = []SeedUser{
	{Login: "jdoe", FirstName: "John", LastName: "Doe", Email: "jdoe@corp.example.com", Company: "ACME", Groups: []string{NestedGroupDN}},
	{Login: "asmith", FirstName: "Alice", LastName: "Smith", Email: "asmith@corp.example.com", Company: "ACME", Groups: []string{CustomerGroupDN}},
	{Login: "bnobody", FirstName: "Bob", LastName: "Nobody", Email: "bnobody@corp.example.com", Company: "OTHER"},
	{Login: "dgone", FirstName: "Dana", LastName: "Gone", Email: "dgone@corp.example.com", Company: "ACME", Disabled: true, Groups: []string{CustomerGroupDN}},
}

// Server is one running Samba AD domain controller.
type Server struct {
	// IP is the loopback address it listens on (ports 389 and 636).
	IP string
	// URL is ldap:// (StartTLS available), LDAPSURL ldaps://.
	URL, LDAPSURL string
	// CAPEM and CAPool are the domain's CA, which signed the server's
	// certificate (with IP as subject alternative name).
	CAPEM  []byte
	CAPool *x509.CertPool

	dir   string
	token string // marks this server's data, so that another DC on the address is not taken for it
	ouSeq atomic.Int64

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncWriter

	bulkDone chan struct{}
	bulkErr  error
}

// TLSConfig returns a client configuration trusting the domain's CA.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CAPool, ServerName: s.IP, MinVersion: tls.VersionTLS12}
}

// Dir is the server's directory (smb.conf in etc/, sam.ldb in private/).
func (s *Server) Dir() string { return s.dir }

var (
	sharedMu    sync.Mutex
	shared      *Server
	sharedErr   error
	sharedReady chan struct{} // closed when the start begun by StartShared ended
)

// StartShared begins provisioning the shared server in the background, so
// that its ten seconds or so overlap other tests; Shared then waits for it.
// Call it from TestMain after flag.Parse, unless testing.Short(). Calling it
// again does nothing.
func StartShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedReady != nil || shared != nil || sharedErr != nil {
		return
	}
	ready := make(chan struct{})
	sharedReady = ready
	go func() {
		s, err := Start()
		sharedMu.Lock()
		shared, sharedErr = s, err
		sharedMu.Unlock()
		close(ready)
	}()
}

// Shared returns the domain controller of this test binary, provisioning and
// starting it on first use (about ten seconds). It skips the test under go
// test -short and fails it when Samba is missing.
func Shared(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("AD tests need a Samba AD DC; skipped with -short")
	}
	sharedMu.Lock()
	ready := sharedReady
	sharedMu.Unlock()
	if ready != nil {
		<-ready
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start()
	}
	if sharedErr != nil {
		t.Fatalf("testad: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared server, if one was started. Call it from TestMain.
func StopShared() {
	sharedMu.Lock()
	ready := sharedReady
	sharedMu.Unlock()
	if ready != nil {
		<-ready // a start under way ends first, so that its server is stopped too
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		_ = shared.Close()
		shared = nil
	}
}

// lookTool finds a Samba tool on PATH or in /usr/sbin and /usr/bin.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %s", name, InstallHint)
}

// Start provisions a new domain into a temporary directory and starts its
// LDAP service on a free loopback address 127.0.0.N (Samba's ports are
// fixed), retrying on another address when the one chosen was taken.
func Start() (*Server, error) {
	for _, tool := range []string{"samba", "samba-tool", "ldbmodify"} {
		if _, err := lookTool(tool); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat("/usr/share/samba/setup"); err != nil {
		return nil, fmt.Errorf("no provisioning data (samba-ad-provision): %s", InstallHint)
	}
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		s, err := start()
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start() (*Server, error) {
	ip, err := freeLoopback()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testad-")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	s := &Server{IP: ip, dir: dir, token: hex.EncodeToString(tok),
		URL: "ldap://" + ip, LDAPSURL: "ldaps://" + ip}
	fail := func(err error) (*Server, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.provision(); err != nil {
		return fail(err)
	}
	if err := s.writeCerts(); err != nil {
		return fail(err)
	}
	if err := s.writeConf(); err != nil {
		return fail(err)
	}
	if err := s.LDBModify(s.seedLDIF()); err != nil {
		return fail(fmt.Errorf("seeding: %w", err))
	}
	if err := s.launch(); err != nil {
		return fail(err)
	}
	s.bulkDone = make(chan struct{})
	go s.seedBulk()
	return s, nil
}

// freeLoopback picks a random 127.0.0.N whose ports 389 and 636 are free.
func freeLoopback() (string, error) {
	for i := 0; i < 64; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(240))
		if err != nil {
			return "", err
		}
		ip := fmt.Sprintf("127.0.0.%d", 10+n.Int64())
		free := true
		for _, port := range []string{"389", "636"} {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				free = false
				break
			}
			_ = l.Close()
		}
		if free {
			return ip, nil
		}
	}
	return "", errors.New("no free loopback address with ports 389 and 636 (running as root?)")
}

func (s *Server) run(name string, args ...string) error {
	p, err := lookTool(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(p, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LANG=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, lastLines(string(out), 15))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (s *Server) provision() error {
	return s.run("samba-tool", "domain", "provision",
		"--realm="+Realm, "--domain="+NetBIOSDomain, "--server-role=dc", "--dns-backend=NONE",
		"--adminpass="+AdminPassword, "--targetdir="+s.dir,
		"--option=interfaces="+s.IP+"/8", "--option=bind interfaces only=yes", "--option=ldb:nosync=true")
}

// writeConf rewrites [global] of the provisioned smb.conf: only the LDAP
// service, simple binds on plain LDAP allowed (for the tests that need
// it; the library's configurations use LDAPS or StartTLS), the test
// certificate, logs in the directory.
func (s *Server) writeConf() error {
	path := filepath.Join(s.dir, "etc", "smb.conf")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	override := map[string]string{
		"server services":                 "ldap",
		"ldap server require strong auth": "no",
		"tls enabled":                     "yes",
		"tls certfile":                    filepath.Join(s.dir, "server.pem"),
		"tls keyfile":                     filepath.Join(s.dir, "server.key"),
		"tls cafile":                      filepath.Join(s.dir, "ca.pem"),
		"log file":                        filepath.Join(s.dir, "log.%m"),
		"log level":                       "1",
		"pid directory":                   s.dir,
		// No fsync per transaction (what Samba's own test suite does): a
		// throwaway database, several times faster to write.
		"ldb:nosync": "true",
		"logging":    "file",
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		key, _, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok {
			if _, over := override[strings.ToLower(strings.TrimSpace(key))]; over {
				continue
			}
		}
		out = append(out, line)
		if strings.TrimSpace(line) == "[global]" {
			for k, v := range override {
				out = append(out, "\t"+k+" = "+v)
			}
		}
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o600)
}

// UnicodePwd encodes a password for unicodePwd: in double quotes, UTF-16LE.
func UnicodePwd(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	return string(buf)
}

// seedLDIF is the seed, written offline with ldbmodify before the start:
// a password policy that lets the conformance suite's passwords through
// (no complexity, no minimum length or history), the service accounts, the
// seed users and groups, and the bulk users.
func (s *Server) seedLDIF() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	pwd := func(pw string) string { return base64.StdEncoding.EncodeToString([]byte(UnicodePwd(pw))) }
	p("dn: %s\nchangetype: modify\nreplace: pwdProperties\npwdProperties: 0\n-\nreplace: minPwdLength\nminPwdLength: 0\n-\n"+
		"replace: pwdHistoryLength\npwdHistoryLength: 0\n-\nreplace: minPwdAge\nminPwdAge: 0\n-\nreplace: maxPwdAge\nmaxPwdAge: 0\n-\n"+
		"replace: lockoutThreshold\nlockoutThreshold: 0\n\n", BaseDN)
	for _, ou := range []string{CustomersDN, GroupsDN, BulkDN} {
		p("dn: %s\nchangetype: add\nobjectClass: organizationalUnit\ndescription: %s\n\n", ou, s.token)
	}
	account := func(dn, login, first, last, mail, company, password string, uac int) {
		p("dn: %s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\n", dn, login, login, UPNSuffix)
		for _, kv := range [][2]string{{"givenName", first}, {"sn", last}, {"mail", mail}, {"company", company}} {
			if kv[1] != "" {
				p("%s: %s\n", kv[0], kv[1])
			}
		}
		if password != "" {
			p("unicodePwd:: %s\n", pwd(password))
		}
		p("userAccountControl: %d\n\n", uac)
	}
	account(ServiceDN, ServiceLogin, "Helpdesk", "Service", "", "", ServicePassword, 512)
	account(WriterDN, "svc-writer", "Helpdesk", "Writer", "", "", WriterPassword, 512)
	for _, u := range Seed {
		uac := 512
		if u.Disabled {
			uac = 514
		}
		account(u.DN(), u.Login, u.FirstName, u.LastName, u.Email, u.Company, UserPassword, uac)
	}
	members := map[string][]string{CustomerGroupDN: {NestedGroupDN}}
	for _, u := range Seed {
		for _, g := range u.Groups {
			members[g] = append(members[g], u.DN())
		}
	}
	for _, g := range []string{NestedGroupDN, CustomerGroupDN} { // the nested one first: members must exist
		cn := strings.TrimPrefix(strings.SplitN(g, ",", 2)[0], "CN=")
		p("dn: %s\nchangetype: add\nobjectClass: group\nsAMAccountName: %s\n", g, strings.ReplaceAll(cn, " ", "-"))
		for _, m := range members[g] {
			p("member: %s\n", m)
		}
		p("\n")
	}
	p("dn: CN=Domain Admins,CN=Users,%s\nchangetype: modify\nadd: member\nmember: %s\n\n", BaseDN, WriterDN)
	return b.String()
}

// bulkLDIF gives the bulk users from to through (numbers from 1).
func bulkLDIF(from, through int) string {
	var b strings.Builder
	for i := from; i <= through; i++ {
		// 544: NORMAL_ACCOUNT | PASSWD_NOTREQD, enabled without a password.
		login := fmt.Sprintf("adpage%04d", i)
		fmt.Fprintf(&b, "dn: CN=%s,%s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\ngivenName: Bulk\nsn: User %04d\n"+
			"mail: %s@bulk.example.com\ncompany: BULK\nuserAccountControl: 544\n\n", login, BulkDN, login, i, login)
	}
	return b.String()
}

// LDBModify applies an LDIF (with changetype lines) to the domain's
// database directly with ldbmodify, through Samba's own modules: far faster
// than LDAP for bulk data, and it works while the server runs.
func (s *Server) LDBModify(ldif string) error {
	f := filepath.Join(s.dir, fmt.Sprintf("seed-%d.ldif", s.ouSeq.Add(1)))
	if err := os.WriteFile(f, []byte(ldif), 0o600); err != nil {
		return err
	}
	defer os.Remove(f)
	return s.run("ldbmodify", "--nosync", "-H", filepath.Join(s.dir, "private", "sam.ldb"), f)
}

func (s *Server) launch() error {
	samba, err := lookTool("samba")
	if err != nil {
		return err
	}
	w := &syncWriter{}
	cmd := exec.Command(samba, "-s", filepath.Join(s.dir, "etc", "smb.conf"), "--foreground", "--no-process-group", "--debug-stdout")
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = w, w
	// A process group of its own (stopped as a whole if SIGTERM is not
	// enough), and killed along with the test binary if it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.log = cmd, done, w
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("samba exited: %s", lastLines(w.String(), 20))
		default:
		}
		if err := s.ready(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("samba not ready after 30s (%v): %s", err, lastLines(w.String(), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ready checks that the server answers on LDAPS with this server's data.
func (s *Server) ready() error {
	c, err := s.AdminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(CustomersDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 5, false,
		"(objectClass=*)", []string{"description"}, nil))
	if err != nil {
		return err
	}
	if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("description") != s.token {
		return errors.New("another domain controller answers on " + s.IP)
	}
	return nil
}

// Stop stops samba: SIGTERM to its pid, then SIGKILL to its process group
// after ten seconds.
func (s *Server) Stop() error {
	if s.bulkDone != nil {
		<-s.bulkDone // ldbmodify must not write while the server stops
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
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// Close stops samba and removes its directory.
func (s *Server) Close() error {
	err := s.Stop()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}

// Conn returns a connection over LDAPS bound as dn; the caller closes it.
func (s *Server) Conn(dn, password string) (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.TLSConfig()),
		ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(dn, password); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// AdminConn returns a connection over LDAPS bound as Administrator.
func (s *Server) AdminConn() (*ldap.Conn, error) { return s.Conn(AdminDN, AdminPassword) }

// NewOU creates a fresh organizational unit below BaseDN for one test and
// deletes it with everything below it when the test ends (unless deleted
// before with DeleteTree): sAMAccountName
// and userPrincipalName are unique in the whole domain, so a test's users
// must not outlive it.
func (s *Server) NewOU(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.ouSeq.Add(1))
	dn := "OU=" + name + "," + BaseDN
	c, err := s.AdminConn()
	if err != nil {
		t.Fatalf("testad: admin connection: %v", err)
	}
	defer c.Close()
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	if err := c.Add(req); err != nil {
		t.Fatalf("testad: add %s: %v", dn, err)
	}
	t.Cleanup(func() {
		if err := s.DeleteTree(dn); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("testad: delete %s: %v", dn, err)
		}
	})
	return dn
}

// controlTreeDelete is AD's tree delete control: the entry goes with
// everything below it.
const controlTreeDelete = "1.2.840.113556.1.4.805"

// DeleteTree deletes dn and everything below it.
func (s *Server) DeleteTree(dn string) error {
	c, err := s.AdminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Del(ldap.NewDelRequest(dn, []ldap.Control{ldap.NewControlString(controlTreeDelete, true, "")}))
}

// AddEntries adds entries as Administrator over LDAPS.
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

// Log returns what samba printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(w.b.String())
}

// bulkChunk is how many bulk users one ldbmodify writes: Samba's database
// is locked for writing while it runs, so that tests writing meanwhile wait
// at most for one chunk.
const bulkChunk = 250

// seedBulk writes the bulk users in the background after the start (about
// ten seconds for 2,500: Samba's checks make each add slower the more users
// there are).
func (s *Server) seedBulk() {
	defer close(s.bulkDone)
	for from := 1; from <= BulkUsers; from += bulkChunk {
		if err := s.LDBModify(bulkLDIF(from, min(from+bulkChunk-1, BulkUsers))); err != nil {
			s.bulkErr = err
			return
		}
	}
}

// Bulk waits until the BulkUsers users below BulkDN are written (in the
// background since the start) and fails the test when that failed.
func (s *Server) Bulk(t testing.TB) {
	t.Helper()
	<-s.bulkDone
	if s.bulkErr != nil {
		t.Fatalf("testad: seeding the bulk users: %v", s.bulkErr)
	}
}
