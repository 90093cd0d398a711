package ldapbackend

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// Scope is the depth of searches below BaseDN.
type Scope int

// Search scopes. The zero value searches the whole subtree.
const (
	ScopeSubtree  Scope = iota // BaseDN and everything below it
	ScopeOneLevel              // the direct children of BaseDN
)

func (s Scope) ldap() int {
	if s == ScopeOneLevel {
		return ldap.ScopeSingleLevel
	}
	return ldap.ScopeWholeSubtree
}

// Defaults applied by New.
const (
	DefaultPoolSize       = 8
	DefaultPageSize       = 500
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultName           = "ldap"
	// MaxPageSize bounds Config.PageSize: no request ever asks for more
	// entries per page (nor, as a size limit, for more than
	// backend.MaxLimit+1 entries).
	MaxPageSize = 10000
)

// AttributeMap names the LDAP attribute holding each contract field. An empty
// name leaves the field unmapped: it reads as empty and is not written.
// Attribute names are matched case-insensitively on read.
type AttributeMap struct {
	Title     string
	FirstName string
	LastName  string
	// FullName is written with "first last" on Add and Update (inetOrgPerson
	// requires cn); it is not read back into a field.
	FullName string
	Email    string
	Phone    string
	Fax      string
	Mobile   string
	Street   string
	Zip      string
	City     string
	Country  string
	Comment  string
}

// TLSConfig is how connections verify the server and, optionally, present a
// client certificate. It applies to ldaps:// URLs and to StartTLS.
type TLSConfig struct {
	// CACertificatesPEM are trusted CA certificates in PEM form; RootCAs is
	// a ready pool. Both empty: the system roots.
	CACertificatesPEM []byte
	RootCAs           *x509.CertPool
	// ClientCertificate is presented when the server asks for one.
	ClientCertificate *tls.Certificate
	// ServerName is the name expected in the server certificate; empty: the
	// host of each URL.
	ServerName string
	// MinVersion is the lowest TLS version accepted (0: TLS 1.2).
	MinVersion uint16
	// InsecureSkipVerifyDangerous turns off all certificate verification,
	// which lets anyone in the path read the service and user passwords.
	// Only for throwaway test setups; New logs a warning when it is set.
	InsecureSkipVerifyDangerous bool
}

// PasswordEncoding is how a password is written to the password attribute
// when the Password Modify extended operation is not used.
type PasswordEncoding int

// Password encodings.
const (
	// PasswordPlain writes the password as given; the server hashes it
	// (OpenLDAP with the ppolicy overlay's olcPPolicyHashCleartext, or
	// servers that always hash).
	PasswordPlain PasswordEncoding = iota
	// PasswordActiveDirectory writes the password to unicodePwd as Active
	// Directory requires: enclosed in double quotes, UTF-16LE. AD accepts it
	// only over an encrypted connection.
	PasswordActiveDirectory
)

// Config configures a Backend. Start from a preset (OpenLDAP(),
// ActiveDirectory()) and fill in the connection and the tree:
//
//	cfg := ldapbackend.OpenLDAP()
//	cfg.URLs = []string{"ldaps://ldap1.example.com", "ldaps://ldap2.example.com"}
//	cfg.BindDN, cfg.BindPassword = "cn=helpdesk,dc=example,dc=com", secret
//	cfg.BaseDN = "ou=customers,dc=example,dc=com"
type Config struct {
	// Logger receives the backend's log records (the backend.Log* events,
	// with "backend", "op", "error" and "login"; never a password or the
	// bind password). Nil means slog.Default().
	Logger *slog.Logger
	// Name names the backend in errors and CustomerUser.Source (default "ldap").
	Name string
	// URLs are ldap:// or ldaps:// addresses, tried in order (failover). A
	// URL that failed is skipped for a back-off period unless every URL is
	// failing.
	URLs []string
	// StartTLS upgrades ldap:// connections with the StartTLS operation
	// before binding; a server that refuses fails the connection.
	StartTLS bool
	// TLS verifies servers of ldaps:// URLs and StartTLS.
	TLS TLSConfig
	// BindDN and BindPassword are the service account used for searches and
	// writes; empty BindDN searches anonymously.
	BindDN       string
	BindPassword string
	// BaseDN is where customer users are searched.
	BaseDN string
	// Scope is the search depth below BaseDN (default subtree).
	Scope Scope
	// UserFilter is ANDed to every search, for example
	// (objectClass=inetOrgPerson) (OTRS AlwaysFilter). Empty: (objectClass=*).
	UserFilter string
	// LoginAttribute holds the login (uid; Active Directory sAMAccountName).
	LoginAttribute string
	// Attributes maps the other contract fields.
	Attributes AttributeMap
	// CustomerIDAttribute holds the primary customer ID,
	// CustomerIDsAttribute (multi-valued) the further ones. FixedCustomerID,
	// when set, is every user's primary customer ID instead.
	CustomerIDAttribute  string
	CustomerIDsAttribute string
	FixedCustomerID      string
	// ExtraAttributes are further attributes read into CustomerUser.Attributes
	// (keyed by these names) and written from it.
	ExtraAttributes []string
	// ValidFilter, when set, decides validity like OTRS
	// CustomerUserValidFilter: entries matching it are valid, the others
	// invalid. Searches without IncludeInvalid AND it to the filter.
	ValidFilter string
	// ValidAttribute, when set, holds the OTRS valid id (1 valid, 2 invalid,
	// 3 invalid-temporarily) and is written by Add and Update; an entry
	// without it is valid. With both set, an entry must pass both to be valid.
	// With AccountControl it only tells invalid-temporarily (3) from invalid
	// among disabled accounts (see AccountControl).
	ValidAttribute string
	// GroupDN, when set, limits customers to members of this group: every
	// search is ANDed with (GroupMemberAttribute=<GroupDN>).
	GroupDN string
	// GroupMemberAttribute is the attribute of a user entry naming its groups
	// (default memberOf; OpenLDAP needs the memberof overlay; Active Directory
	// uses memberOf:1.2.840.113556.1.4.1941: to include nested groups).
	GroupMemberAttribute string
	// SearchFields are the attributes the search language matches (default:
	// login, first name, last name, customer ID, further customer IDs and
	// email attributes).
	SearchFields []string
	// MatchPrefix makes search words match at the start of a value
	// (index-friendly) instead of anywhere.
	MatchPrefix bool
	// DialTimeout bounds opening a connection to one URL (TCP, TLS or
	// StartTLS, and the bind); when it passes, the next URL is tried.
	// RequestTimeout bounds each operation on a service connection (a paged
	// search with all its pages included); when it passes, the connection is
	// closed and the call fails with ErrUnavailable. Both apply within the
	// caller's context, which may end the call earlier.
	DialTimeout    time.Duration
	RequestTimeout time.Duration
	// PoolSize bounds the bound service connections kept open (default 8).
	PoolSize int
	// PageSize is the paged-results page size (default 500).
	PageSize int
	// ReadOnly (nil means true) refuses every write with ErrReadOnly. Set it
	// to ldapbackend.Bool(false) to allow writes.
	ReadOnly *bool

	// Writes (used when ReadOnly is false).

	// AddBaseDN is where Add creates entries (default BaseDN), named
	// RDNAttribute=<login> (default LoginAttribute).
	AddBaseDN    string
	RDNAttribute string
	// ObjectClasses of new entries, for example inetOrgPerson.
	ObjectClasses []string
	// PasswordAttribute receives passwords when the Password Modify extended
	// operation is off or unsupported (default userPassword).
	PasswordAttribute string
	// DisablePasswordModify skips the Password Modify extended operation
	// (RFC 3062) and writes PasswordAttribute directly.
	DisablePasswordModify bool
	// PasswordEncoding is how PasswordAttribute is written.
	PasswordEncoding PasswordEncoding
	// AllowDuplicateEmail turns off the email uniqueness check of Add and Update.
	AllowDuplicateEmail bool
	// AutoLoginPrefix, when set, makes Add generate a login
	// (<prefix>-YYYYMMDDhhmm<n>) when the user has none.
	AutoLoginPrefix string

	// Active Directory (the ActiveDirectory preset sets AccountControl).

	// AccountControl keeps validity in Active Directory's userAccountControl:
	// an account with the ACCOUNTDISABLE bit (2) set is not valid, and
	// searches without IncludeInvalid leave it out. Writes set or clear only
	// that bit and keep every other bit of the stored value (read, modify,
	// write). Invalid-temporarily is the disabled bit plus the value 3 in
	// ValidAttribute, which must then be set (a free single-valued string
	// attribute, for example employeeType, or extensionAttribute1 where the
	// Exchange schema is installed); without ValidAttribute only valid and
	// invalid can be written. ValidAttribute is not read while the bit is
	// clear, so an account an administrator enables in AD is valid. Add
	// creates the account, writes its password (a random one nobody knows
	// when Add gets none: AD enables no account without a password) and then
	// userAccountControl 512 (NORMAL_ACCOUNT), or 514 for an invalid user.
	AccountControl bool
	// UPNSuffix, when set, makes Add and Update write userPrincipalName
	// <login>@<UPNSuffix> (for example corp.example.com), so that a rename
	// renames the UPN too.
	UPNSuffix string
	// LoginByUPN lets Authenticate take a userPrincipalName
	// (jdoe@corp.example.com) as well as a login: a login holding @ is
	// looked up in userPrincipalName first, then as a login.
	LoginByUPN bool
}

// Bool returns a pointer to v, for Config.ReadOnly.
func Bool(v bool) *bool { return &v }

// OpenLDAP returns a preset for inetOrgPerson entries in OpenLDAP (and most
// other RFC 4519 directories). It maps no customer ID: set
// CustomerIDAttribute or FixedCustomerID. Every call returns a fresh Config
// sharing nothing with any other, so changing one never changes the preset.
func OpenLDAP() Config {
	return Config{
		UserFilter:     "(objectClass=inetOrgPerson)",
		LoginAttribute: "uid",
		Attributes: AttributeMap{
			Title:     "title",
			FirstName: "givenName",
			LastName:  "sn",
			FullName:  "cn",
			Email:     "mail",
			Phone:     "telephoneNumber",
			Fax:       "facsimileTelephoneNumber",
			Mobile:    "mobile",
			Street:    "street",
			Zip:       "postalCode",
			City:      "l",
			// Country stays unmapped: inetOrgPerson has no country attribute
			// (c takes two-letter codes only and belongs to other classes).
			Comment: "description",
		},
		GroupMemberAttribute: "memberOf",
		ObjectClasses:        []string{"inetOrgPerson"},
		PasswordAttribute:    "userPassword",
	}
}

// ActiveDirectory returns a preset for user objects in Microsoft Active
// Directory: login sAMAccountName, accounts disabled through bit 2 of
// userAccountControl are invalid (AccountControl), group membership
// includes nested groups, passwords go to unicodePwd (AD has no Password
// Modify operation; AD takes unicodePwd only over LDAPS or StartTLS, so a
// writable configuration must use one of them). New accounts are named
// CN=<first last> (or CN=<login> without a name) and shown under
// displayName. Set UPNSuffix to have userPrincipalName written. It maps
// no customer ID: set CustomerIDAttribute (company, department, an extension
// attribute) or FixedCustomerID. Every call returns a fresh Config.
func ActiveDirectory() Config {
	return Config{
		UserFilter:     "(&(objectCategory=person)(objectClass=user))",
		LoginAttribute: "sAMAccountName",
		Attributes: AttributeMap{
			Title:     "title",
			FirstName: "givenName",
			LastName:  "sn",
			Email:     "mail",
			Phone:     "telephoneNumber",
			Fax:       "facsimileTelephoneNumber",
			Mobile:    "mobile",
			Street:    "streetAddress",
			Zip:       "postalCode",
			City:      "l",
			Country:   "co",
			Comment:   "description",
			FullName:  "displayName",
		},
		AccountControl:        true,
		GroupMemberAttribute:  "memberOf:1.2.840.113556.1.4.1941:",
		ObjectClasses:         []string{"top", "person", "organizationalPerson", "user"},
		RDNAttribute:          "cn",
		PasswordAttribute:     "unicodePwd",
		DisablePasswordModify: true,
		PasswordEncoding:      PasswordActiveDirectory,
	}
}

// server is one URL, parsed once.
type server struct {
	url      string
	hostport string
	ldaps    bool
	tls      *tls.Config
}

// prepare checks cfg, applies defaults and builds the TLS configuration of
// every URL. Every problem is reported at once, as backend.ConfigError.
func prepare(cfg Config) (Config, []server, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	var problems []*backend.ValidationError
	bad := func(field, format string, a ...any) {
		problems = append(problems, &backend.ValidationError{Field: "Config." + field, Reason: fmt.Sprintf(format, a...)})
	}
	if len(cfg.URLs) == 0 {
		bad("URLs", "required (ldap:// or ldaps:// addresses)")
	}
	if cfg.BaseDN == "" {
		bad("BaseDN", "required")
	} else if _, err := ldap.ParseDN(cfg.BaseDN); err != nil {
		bad("BaseDN", "%v", err)
	}
	if cfg.LoginAttribute == "" {
		bad("LoginAttribute", "required (start from OpenLDAP() or ActiveDirectory())")
	}
	// A configuration that maps no name or no email reads users that have
	// none, which every caller would take for data: refuse it.
	if cfg.Attributes.FirstName == "" {
		bad("Attributes.FirstName", "required: name the attribute holding the first name (givenName)")
	}
	if cfg.Attributes.LastName == "" {
		bad("Attributes.LastName", "required: name the attribute holding the last name (sn)")
	}
	if cfg.Attributes.Email == "" {
		bad("Attributes.Email", "required: name the attribute holding the email address (mail)")
	}
	if cfg.BindDN != "" && cfg.BindPassword == "" {
		// A DN without a password is an unauthenticated bind, which servers
		// refuse or treat as anonymous; neither is what was meant.
		bad("BindPassword", "required with BindDN")
	}
	if cfg.Scope != ScopeSubtree && cfg.Scope != ScopeOneLevel {
		bad("Scope", "unknown scope %d", cfg.Scope)
	}
	for name, f := range map[string]string{"UserFilter": cfg.UserFilter, "ValidFilter": cfg.ValidFilter} {
		if f == "" {
			continue
		}
		if _, err := ldap.CompileFilter(f); err != nil {
			bad(name, "%v", err)
		}
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = "(objectClass=*)"
	}
	if cfg.GroupDN != "" {
		if _, err := ldap.ParseDN(cfg.GroupDN); err != nil {
			bad("GroupDN", "%v", err)
		}
		if cfg.GroupMemberAttribute == "" {
			cfg.GroupMemberAttribute = "memberOf"
		}
	}
	if cfg.ReadOnly == nil {
		cfg.ReadOnly = Bool(true)
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize > MaxPageSize {
		bad("PageSize", "above the maximum of %d", MaxPageSize)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.AddBaseDN == "" {
		cfg.AddBaseDN = cfg.BaseDN
	}
	if cfg.RDNAttribute == "" {
		cfg.RDNAttribute = cfg.LoginAttribute
	}
	if cfg.PasswordAttribute == "" {
		cfg.PasswordAttribute = "userPassword"
	}
	if !*cfg.ReadOnly && len(cfg.ObjectClasses) == 0 {
		bad("ObjectClasses", "required for a writable configuration")
	}
	if !*cfg.ReadOnly && cfg.CustomerIDAttribute == "" && cfg.FixedCustomerID == "" {
		bad("CustomerIDAttribute", "a writable configuration needs CustomerIDAttribute or FixedCustomerID")
	}
	cfg.UPNSuffix = strings.TrimPrefix(strings.TrimSpace(cfg.UPNSuffix), "@")
	if strings.ContainsAny(cfg.UPNSuffix, "@ ,;") {
		bad("UPNSuffix", "a DNS suffix such as corp.example.com (no @, spaces or separators)")
	}
	if len(cfg.SearchFields) == 0 {
		a := cfg.Attributes
		for _, f := range []string{cfg.LoginAttribute, a.FirstName, a.LastName, cfg.CustomerIDAttribute, cfg.CustomerIDsAttribute, a.Email} {
			if f != "" {
				cfg.SearchFields = append(cfg.SearchFields, f)
			}
		}
	}
	cfg.URLs = append([]string(nil), cfg.URLs...)
	cfg.SearchFields = append([]string(nil), cfg.SearchFields...)
	cfg.ExtraAttributes = append([]string(nil), cfg.ExtraAttributes...)
	cfg.ObjectClasses = append([]string(nil), cfg.ObjectClasses...)

	base, err := baseTLS(cfg.TLS)
	if err != nil {
		bad("TLS", "%v", err)
	}
	servers := make([]server, 0, len(cfg.URLs))
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			bad("URLs", "%q: %v", raw, err)
			continue
		}
		s := server{url: raw}
		port := u.Port()
		switch strings.ToLower(u.Scheme) {
		case "ldap":
			if port == "" {
				port = "389"
			}
		case "ldaps":
			s.ldaps = true
			if port == "" {
				port = "636"
			}
		default:
			bad("URLs", "%q: scheme must be ldap or ldaps", raw)
			continue
		}
		if u.Hostname() == "" {
			bad("URLs", "%q: no host", raw)
			continue
		}
		s.hostport = net.JoinHostPort(u.Hostname(), port)
		if (s.ldaps || cfg.StartTLS) && base != nil {
			s.tls = base.Clone()
			if s.tls.ServerName == "" {
				s.tls.ServerName = u.Hostname()
			}
		}
		if !*cfg.ReadOnly && cfg.PasswordEncoding == PasswordActiveDirectory && !s.ldaps && !cfg.StartTLS {
			bad("URLs", "%q: Active Directory takes passwords (unicodePwd) only over an encrypted connection: use ldaps:// or StartTLS", raw)
		}
		servers = append(servers, s)
	}
	if len(problems) > 0 {
		return Config{}, nil, backend.ConfigError(cfg.Name, problems...)
	}
	return cfg, servers, nil
}

func baseTLS(t TLSConfig) (*tls.Config, error) {
	c := &tls.Config{
		ServerName:         t.ServerName,
		MinVersion:         t.MinVersion,
		RootCAs:            t.RootCAs,
		InsecureSkipVerify: t.InsecureSkipVerifyDangerous, //nolint:gosec // explicit, loudly named opt-in
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	if len(t.CACertificatesPEM) > 0 {
		pool := t.RootCAs
		if pool == nil {
			pool = x509.NewCertPool()
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(t.CACertificatesPEM) {
			return nil, errors.New("CACertificatesPEM holds no certificate")
		}
		c.RootCAs = pool
	}
	if t.ClientCertificate != nil {
		c.Certificates = []tls.Certificate{*t.ClientCertificate}
	}
	return c, nil
}
