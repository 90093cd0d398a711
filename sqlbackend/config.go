package sqlbackend

import (
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// Field names: the keys of Config.Columns and the values of
// Config.SearchFields (which also accepts the names of Config.Attributes).
const (
	FieldLogin      = "login"
	FieldEmail      = "email"
	FieldCustomerID = "customer_id"
	FieldPassword   = "password"
	FieldTitle      = "title"
	FieldFirstName  = "first_name"
	FieldLastName   = "last_name"
	FieldPhone      = "phone"
	FieldFax        = "fax"
	FieldMobile     = "mobile"
	FieldStreet     = "street"
	FieldZip        = "zip"
	FieldCity       = "city"
	FieldCountry    = "country"
	FieldComment    = "comment"
	FieldValid      = "valid"
	FieldCreateTime = "create_time"
	FieldCreateBy   = "create_by"
	FieldChangeTime = "change_time"
	FieldChangeBy   = "change_by"
)

// NoColumn, as the column of an optional field in Config.Columns, says that
// the table has no such column: the field is neither read nor written. The
// required fields (login, email, customer ID, first and last name, password,
// valid) cannot be left out. As Config.CustomerIDsTable it says that there is
// no table of further customer IDs.
const NoColumn = "-"

// DefaultColumns is the OTRS customer_user layout, field name -> column.
var DefaultColumns = map[string]string{
	FieldLogin: "login", FieldEmail: "email", FieldCustomerID: "customer_id", FieldPassword: "pw",
	FieldTitle: "title", FieldFirstName: "first_name", FieldLastName: "last_name", FieldPhone: "phone",
	FieldFax: "fax", FieldMobile: "mobile", FieldStreet: "street", FieldZip: "zip", FieldCity: "city",
	FieldCountry: "country", FieldComment: "comments", FieldValid: "valid_id",
	FieldCreateTime: "create_time", FieldCreateBy: "create_by", FieldChangeTime: "change_time", FieldChangeBy: "change_by",
}

var requiredFields = []string{FieldLogin, FieldEmail, FieldCustomerID, FieldPassword, FieldFirstName, FieldLastName, FieldValid}

// DefaultSearchFields are the fields a search word is matched against.
var DefaultSearchFields = []string{FieldLogin, FieldFirstName, FieldLastName, FieldCustomerID, FieldEmail}

// Defaults of Config.
const (
	DefaultName             = "sql"
	DefaultTable            = "customer_user"
	DefaultCustomerIDsTable = "customer_user_customer"
)

// Config configures a Backend. The zero value (apart from the database) is
// the OTRS layout: table customer_user, further customer IDs in
// customer_user_customer, substring search over login, names, customer ID and
// email, 250 results, OTRS-form bcrypt hashes of cost 12.
type Config struct {
	// Name appears in errors and in CustomerUser.Source. Default "sql".
	Name string
	// Table holds the customer users. Default "customer_user".
	Table string
	// CustomerIDsTable holds the further customer IDs of a user, one row
	// (user_id, customer_id) each. Default "customer_user_customer";
	// NoColumn means there is none (users then have only a primary ID).
	CustomerIDsTable string
	// Columns maps field names (the Field constants) to column names; a
	// field not given keeps its DefaultColumns column, NoColumn leaves an
	// optional field out.
	Columns map[string]string
	// Attributes maps the names of extra attributes (CustomerUser.Attributes)
	// to columns of Table.
	Attributes map[string]string
	// SearchFields are the fields (or attribute names) a search word must
	// match one of. Default DefaultSearchFields.
	SearchFields []string
	// MatchPrefix makes each search word match the start of a field value
	// instead of any part of it: index-friendly, OTRS matches substrings.
	MatchPrefix bool
	// DefaultLimit caps the results of a search without Query.Limit. Default 250.
	DefaultLimit int
	// ReadOnly makes every write return backend.ErrReadOnly; nothing is
	// written, not even a rehash on login.
	ReadOnly bool
	// AutoLoginPrefix, when not empty, makes Add generate a login
	// (backend.AutoLogin) for users without one.
	AutoLoginPrefix string
	// AllowDuplicateEmail lets several users share an email address.
	AllowDuplicateEmail bool
	// Hasher hashes new passwords and verifies stored ones (every OTRS
	// stored format). nil means &password.Hasher{Format:
	// password.FormatOTRS}: the OTRS bcrypt form "BCRYPT:cost:salt:hash",
	// which Znuny and OTOBO sharing the table can verify, at
	// password.DefaultCost. A non-nil Hasher means exactly what it says
	// (&password.Hasher{} writes standard "$2a$" hashes). New copies it.
	Hasher *password.Hasher
	// ChangeBy is the agent id written to create_by and change_by (the OTRS
	// columns are NOT NULL). Default 1, the OTRS admin.
	ChangeBy int
	// Collation is the collation of the tables CreateSchema creates. Default:
	// the first the server knows of utf8mb4_uca1400_as_ci (MariaDB 10.10+),
	// utf8mb4_0900_as_ci (MySQL 8) and utf8mb4_unicode_ci. Any collation
	// works, _bin ones included; see the package doc for the cost.
	Collation string
	// Pool is applied to the *sql.DB by New unless KeepPool is set.
	Pool Pool
	// KeepPool leaves the pool settings of the *sql.DB as the caller made them.
	KeepPool bool
	// ReadDB, when not nil, is a read replica of the database given to New
	// (MySQL/MariaDB replication). Get and Search read from it; writes, the
	// uniqueness checks and every other read inside a write, and the
	// password read of Authenticate use the primary. A replica that cannot
	// be reached leaves reads on the primary for ReplicaRetry, with a
	// warning (LogReplicaDown). Pool applies to it too. See "Read replicas"
	// in the package doc for how stale its reads may be.
	ReadDB *sql.DB
	// ReplicaRetry is how long reads stay on the primary after the replica
	// could not be reached, before one of them tries it again. Default 5 s.
	ReplicaRetry time.Duration
	// Logger receives the events the backend cannot return (a failed
	// rehash after a successful login, a row of another identity that a
	// loose collation returned), with the messages and attributes of
	// package backend (backend.Logger). Default slog.Default().
	Logger *slog.Logger
}

// String prints the configuration without anything that could be a secret
// (a Config holds none today: no DSN, no password), without the logger,
// and of ReadDB only whether it is set.
func (c Config) String() string {
	h := "nil (OTRS form)"
	if c.Hasher != nil {
		h = fmt.Sprintf("{Cost:%d Format:%s}", c.Hasher.Cost, c.Hasher.Format)
	}
	return fmt.Sprintf("sqlbackend.Config{Name:%q Table:%q CustomerIDsTable:%q MatchPrefix:%t ReadOnly:%t DefaultLimit:%d AutoLoginPrefix:%q AllowDuplicateEmail:%t Hasher:%s Collation:%q ReadDB:%t}",
		c.Name, c.Table, c.CustomerIDsTable, c.MatchPrefix, c.ReadOnly, c.DefaultLimit, c.AutoLoginPrefix, c.AllowDuplicateEmail, h, c.Collation, c.ReadDB != nil)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration as String does.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Pool holds the connection-pool settings New applies to the *sql.DB.
type Pool struct {
	// MaxOpenConns caps the connections. Default 16: enough for a busy
	// portal on a small server, few enough that many application instances
	// stay below max_connections (151 by default).
	MaxOpenConns int
	// MaxIdleConns keeps that many connections open between bursts.
	// Default MaxOpenConns, so that a steady load does not reconnect.
	MaxIdleConns int
	// ConnMaxLifetime retires connections before the server's wait_timeout
	// (or a proxy or firewall) drops them. Default 3 minutes, and never more
	// than half of the server's wait_timeout, which New reads.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes connections idle that long. Default 1 minute.
	ConnMaxIdleTime time.Duration
}

var identRe = regexp.MustCompile(`^[A-Za-z0-9_$]{1,64}$`)

// resolved is a validated Config with the defaults filled in.
type resolved struct {
	Config
	hasher     password.Hasher   // the copy of *Config.Hasher (or the OTRS default)
	cols       map[string]string // field -> column, NoColumn fields removed
	attrNames  []string          // sorted attribute names
	searchCols []string          // columns of SearchFields
}

func (c Config) resolve() (resolved, error) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.CustomerIDsTable == "" {
		c.CustomerIDsTable = DefaultCustomerIDsTable
	}
	if c.DefaultLimit == 0 {
		c.DefaultLimit = backend.DefaultLimit
	}
	if c.ChangeBy == 0 {
		c.ChangeBy = 1
	}
	hasher := password.Hasher{Format: password.FormatOTRS}
	if c.Hasher != nil {
		hasher = *c.Hasher
	}
	var problems []*backend.ValidationError
	add := func(field, format string, args ...any) {
		problems = append(problems, &backend.ValidationError{Field: "Config." + field, Reason: fmt.Sprintf(format, args...)})
	}
	if err := hasher.Check(); err != nil {
		add("Hasher", "%v", err)
	}
	if c.DefaultLimit < 0 {
		add("DefaultLimit", "negative")
	} else if c.DefaultLimit > backend.MaxLimit {
		add("DefaultLimit", "above backend.MaxLimit (%d)", backend.MaxLimit)
	}
	if !identRe.MatchString(c.Table) {
		add("Table", "%q is not a plain SQL name", c.Table)
	}
	if c.CustomerIDsTable != NoColumn && !identRe.MatchString(c.CustomerIDsTable) {
		add("CustomerIDsTable", "%q is not a plain SQL name", c.CustomerIDsTable)
	}
	if c.Collation != "" && !identRe.MatchString(c.Collation) {
		add("Collation", "%q is not a plain SQL name", c.Collation)
	}
	r := resolved{hasher: hasher, cols: make(map[string]string, len(DefaultColumns))}
	for f, col := range DefaultColumns {
		r.cols[f] = col
	}
	var unknown []string
	for f, col := range c.Columns {
		if _, ok := DefaultColumns[f]; !ok {
			unknown = append(unknown, f)
			continue
		}
		switch {
		case col == "":
		case col == NoColumn:
			for _, req := range requiredFields {
				if f == req {
					add("Columns", "field %s is required and cannot be %q", f, NoColumn)
				}
			}
			delete(r.cols, f)
		case !identRe.MatchString(col):
			add("Columns", "column %q of field %s is not a plain SQL name", col, f)
		default:
			r.cols[f] = col
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		add("Columns", "unknown fields %s", strings.Join(unknown, ", "))
	}
	used := map[string]string{}
	for f, col := range r.cols {
		used[strings.ToLower(col)] = f
	}
	for name, col := range c.Attributes {
		if strings.TrimSpace(name) == "" {
			add("Attributes", "an attribute has an empty name")
			continue
		}
		if !identRe.MatchString(col) {
			add("Attributes", "column %q of attribute %q is not a plain SQL name", col, name)
			continue
		}
		if f, dup := used[strings.ToLower(col)]; dup {
			add("Attributes", "column %q of attribute %q is already mapped to %s", col, name, f)
			continue
		}
		used[strings.ToLower(col)] = "attribute " + name
		r.attrNames = append(r.attrNames, name)
	}
	sort.Strings(r.attrNames)
	if len(c.SearchFields) == 0 {
		c.SearchFields = DefaultSearchFields
	}
	var badSearch []string
	for _, f := range c.SearchFields {
		switch col, ok := r.cols[f]; {
		case ok && f != FieldPassword && f != FieldValid && f != FieldCreateTime && f != FieldChangeTime &&
			f != FieldCreateBy && f != FieldChangeBy:
			r.searchCols = append(r.searchCols, col)
		case c.Attributes[f] != "":
			r.searchCols = append(r.searchCols, c.Attributes[f])
		default:
			badSearch = append(badSearch, f)
		}
	}
	if len(badSearch) > 0 {
		add("SearchFields", "unknown or unsearchable fields %s", strings.Join(badSearch, ", "))
	}
	if c.Pool.MaxOpenConns == 0 {
		c.Pool.MaxOpenConns = 16
	}
	if c.Pool.MaxIdleConns == 0 {
		c.Pool.MaxIdleConns = c.Pool.MaxOpenConns
	}
	if c.Pool.ConnMaxLifetime == 0 {
		c.Pool.ConnMaxLifetime = 3 * time.Minute
	}
	if c.Pool.ConnMaxIdleTime == 0 {
		c.Pool.ConnMaxIdleTime = time.Minute
	}
	if c.ReplicaRetry == 0 {
		c.ReplicaRetry = DefaultReplicaRetry
	} else if c.ReplicaRetry < 0 {
		add("ReplicaRetry", "negative")
	}
	if len(problems) > 0 {
		return resolved{}, backend.ConfigError(c.Name, problems...)
	}
	r.Config = c
	return r, nil
}
