package policy

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/tickets"
)

// Config configures a Directory. Its zero value is not usable (it has no
// backends); every other zero field means the default documented on it.
// NewDirectory copies what it needs, so a caller changing its Config (or the
// slice of backends) afterwards changes nothing.
type Config struct {
	// Name is the Directory's name in errors and logs (default "directory").
	Name string
	// Backends are combined in this order, like OTRS's CustomerUser,
	// CustomerUser1, ...: an earlier backend wins when two hold one login.
	// At least one; names must be unique.
	Backends []backend.CustomerUserBackend

	// FailClosed makes a Search with any failed backend return no results,
	// only the error. The default returns the other backends' results
	// together with a *multierror.Error naming the failed ones.
	FailClosed bool
	// AllowDegradedLogin lets Get and Authenticate answer from a later
	// backend while an earlier one is down. The default refuses with
	// ErrUnavailable: the earlier backend might hold the same login, and
	// it would win (a different person, with another password). Allowing it
	// keeps customers of the healthy backends logging in during an outage,
	// at the risk that someone whose login is shadowed by the failed
	// backend logs in as the later backend's user.
	AllowDegradedLogin bool
	// AllowDuplicateEmail lets two users (in one backend or in two) share an
	// email address. Default: Add and Update refuse a duplicate.
	AllowDuplicateEmail bool

	// Preferences is where the Directory keeps failed-login counts, reset
	// tokens and password history, and where products keep preferences.
	// Default: a new MemoryPreferences (lockout works out of the box, but
	// counts are lost on restart: use NewSQLPreferences on the OTRS table to
	// share them between instances and with a Znuny).
	Preferences PreferenceStore
	// MaxFailedLogins is the number of failed logins after which a user is
	// set invalid-temporarily (OTRS PasswordMaxLoginFailed). 0 turns lockout
	// off (the count is still kept).
	MaxFailedLogins int
	// ResetTokenTTL is how long a password-reset token stays usable
	// (default 1 hour).
	ResetTokenTTL time.Duration
	// PasswordPolicy applies to every password the Directory sets.
	PasswordPolicy PasswordPolicy
	// Observer gets an Event after every change is stored (nil: none).
	Observer Observer
	// Logger receives the Directory's log records (nil: slog.Default()).
	Logger *slog.Logger
	// Hasher is used for the dummy verification of an unknown login and the
	// password history (nil: password.Hasher{}, DefaultCost). Give it the
	// cost your backends hash with, so that an unknown login costs what a
	// known one does.
	Hasher *password.Hasher
	// Now is the clock (nil: time.Now); tests inject one to expire tokens.
	Now func() time.Time
	// HedgeAfter (default 2 ms): Get and Authenticate ask backends one
	// after another, which costs least when they answer fast; before asking
	// a backend whose Get typically takes longer than this, they ask every
	// later backend in parallel too, so that the slow one's "not found" does
	// not add its time to theirs.
	HedgeAfter time.Duration
	// DefaultLimit is the number of search results when Query.Limit is 0
	// (default backend.DefaultLimit).
	DefaultLimit int

	// Groups tells which customer groups a user is in (a *groups.Resolver
	// also gives "other"-context grants, ExplainAccess's reasons and the
	// store that grants and renames go to). Queues lists the queues and
	// their groups. Both are needed by Queues, TicketScope, CanAccessTicket,
	// VisibleTickets and ExplainAccess; nil leaves those returning
	// ErrNoGroups.
	Groups backend.GroupResolver
	Queues tickets.QueueSource
	// DisableCompanyTicketAccess limits a customer to the tickets of their
	// own login (OTRS Ticket::Frontend::CustomerDisableCompanyTicketAccess):
	// neither their customer IDs nor "other" grants show tickets.
	DisableCompanyTicketAccess bool
}

// defaults.
const (
	defaultName          = "directory"
	defaultResetTokenTTL = time.Hour
	defaultHedgeAfter    = 2 * time.Millisecond
)

// check validates c and fills in the defaults; it returns all problems at once.
func (c Config) check() (Config, error) {
	if c.Name == "" {
		c.Name = defaultName
	}
	var problems []*backend.ValidationError
	bad := func(field, format string, args ...any) {
		problems = append(problems, &backend.ValidationError{Field: "Config." + field, Reason: fmt.Sprintf(format, args...)})
	}
	if len(c.Backends) == 0 {
		bad("Backends", "at least one backend is required")
	}
	seen := map[string]bool{}
	for i, b := range c.Backends {
		if b == nil {
			bad("Backends", "backend %d is nil", i)
			continue
		}
		if seen[b.Name()] {
			bad("Backends", "two backends are named %q (names must be unique: they are the users' Source)", b.Name())
		}
		seen[b.Name()] = true
	}
	c.Backends = append([]backend.CustomerUserBackend(nil), c.Backends...)
	if c.MaxFailedLogins < 0 {
		bad("MaxFailedLogins", "negative (0 turns lockout off)")
	}
	if c.ResetTokenTTL < 0 {
		bad("ResetTokenTTL", "negative")
	} else if c.ResetTokenTTL == 0 {
		c.ResetTokenTTL = defaultResetTokenTTL
	}
	if c.HedgeAfter < 0 {
		bad("HedgeAfter", "negative")
	} else if c.HedgeAfter == 0 {
		c.HedgeAfter = defaultHedgeAfter
	}
	if c.DefaultLimit < 0 || c.DefaultLimit > backend.MaxLimit {
		bad("DefaultLimit", "outside 0..%d", backend.MaxLimit)
	}
	if c.Hasher == nil {
		c.Hasher = &password.Hasher{}
	} else {
		h := *c.Hasher
		c.Hasher = &h
	}
	if err := c.Hasher.Check(); err != nil {
		bad("Hasher", "%v", err)
	}
	if err := c.PasswordPolicy.check(); err != nil {
		bad("PasswordPolicy", "%v", err)
	}
	if c.Preferences == nil {
		c.Preferences = NewMemoryPreferences()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(problems) > 0 {
		return Config{}, backend.ConfigError(c.Name, problems...)
	}
	return c, nil
}
