// Command portal is OTRS's customer interface and the admin's "Customer
// Users" and "Customer Users <-> Groups" screens as one small web program on
// the library: a customer logs in (with lockout), resets a forgotten
// password, sees their own and their company's tickets, opens tickets in the
// queues they may create in and changes their own settings and password; an
// admin searches, adds, edits and deactivates customer users (never deletes
// them), grants and revokes group permissions and asks why a customer cannot
// see a queue.
//
//	go run ./examples/portal                                   # memory backend, demo data
//	PORTAL_ADMIN_PASSWORD=... go run ./examples/portal          # with the admin interface
//	go run ./examples/portal -backend sql -dsn 'user:pw@tcp(127.0.0.1:3306)/otrs'
//	go run ./examples/portal -backend ldap -h                  # the LDAP flags
//
// The pages are plain html/template with one CSS file and no JavaScript,
// every form carries a CSRF token, session cookies are HttpOnly and
// SameSite=Lax (Secure with -tls-cert/-tls-key) and get a new ID at login,
// and a customer's session ends at the next request once the user is no
// longer valid or has changed their password. Sessions and the example's
// tickets live in memory; the customer users in the chosen backend; with
// -backend sql the failed-login counts, reset tokens and group permissions
// live in the same database (the OTRS tables customer_preferences and
// group_customer_user, group_customer and the groups table), elsewhere in
// memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
)

// stores are what an opener gives: the customer-user backend and, for SQL,
// the preference and group stores on the same database (nil: in memory).
type stores struct {
	Backend backend.CustomerUserBackend
	Prefs   policy.PreferenceStore
	Groups  groups.Store
	Close   func()
}

// opener builds the stores of one -backend value.
type opener func(ctx context.Context) (stores, error)

// hasher hashes the memory and SQL backends' passwords: the library's
// default (bcrypt, cost 12); the tests lower the cost.
var hasher password.Hasher

// openers holds one opener per -backend value; sql.go and ldap.go add theirs.
var openers = map[string]opener{
	"memory": func(context.Context) (stores, error) {
		b, err := memorybackend.New(memorybackend.Config{Name: "memory", Hasher: &hasher})
		return stores{Backend: b, Close: func() {}}, err
	},
}

var (
	addr          = flag.String("addr", "127.0.0.1:8080", "address to listen on")
	seed          = flag.Bool("seed", true, "add the demo companies, users, groups, queues and tickets")
	adminPassword = flag.String("admin-password", "", "password of the admin interface's user \"admin\" (default: $PORTAL_ADMIN_PASSWORD; none: the admin interface is disabled)")
	tlsCert       = flag.String("tls-cert", "", "PEM certificate file: serve HTTPS (with -tls-key)")
	tlsKey        = flag.String("tls-key", "", "PEM key file for -tls-cert")
	backendName   = flag.String("backend", "memory", "the customer-user backend: memory, sql or ldap")
	groupSupport  = flag.Bool("group-support", true, "CustomerGroupSupport: queue access by the group permissions (off: every valid queue for every valid customer)")
	alwaysGroups  = flag.String("always-groups", "", "CustomerGroupAlwaysGroups: comma-separated groups every customer holds with every key")
	companyAlways = flag.String("company-always-groups", "", "CustomerGroupCompanyAlwaysGroups: comma-separated groups every company holds")
)

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Stdout, logger, *backendName, nil); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

// run opens the backend, seeds it, listens on -addr and serves until ctx
// ends. ready, when not nil, gets the base URL once the server listens.
func run(ctx context.Context, out io.Writer, logger *slog.Logger, which string, ready func(baseURL string, a *app)) error {
	open, ok := openers[which]
	if !ok {
		names := make([]string, 0, len(openers))
		for n := range openers {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("unknown -backend %q (want %s)", which, strings.Join(names, ", "))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b := st.Backend
	adminPW := *adminPassword
	if adminPW == "" {
		adminPW = os.Getenv("PORTAL_ADMIN_PASSWORD")
	}
	a, err := newApp(ctx, appConfig{Backend: b, Prefs: st.Prefs, Groups: st.Groups, AdminPassword: adminPW, Logger: logger,
		GroupSupportOff: !*groupSupport, AlwaysGroups: splitList(*alwaysGroups), CompanyAlwaysGroups: splitList(*companyAlways)})
	if err != nil {
		return err
	}
	if *seed {
		if err := a.seedDemo(ctx); err != nil {
			return fmt.Errorf("seeding the demo data: %w", err)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String()
	fmt.Fprintf(out, "portal: listening on %s (backend %s)\n", base, b.Name())
	fmt.Fprintf(out, "  customer interface: %s/customer/\n", base)
	if adminPW == "" {
		fmt.Fprintf(out, "  admin interface:    disabled; enable it with -admin-password or $PORTAL_ADMIN_PASSWORD\n")
	} else {
		fmt.Fprintf(out, "  admin interface:    %s/admin/ (user admin, the password you gave)\n", base)
	}
	if *seed {
		fmt.Fprintln(out, "  demo customer logins:")
		for _, d := range demoUsers {
			fmt.Fprintf(out, "    %-5s / %-14s (%s, company %s)\n", d.u.Login, d.password, d.u.FullName(), d.u.CustomerID)
		}
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if ready != nil {
		ready(base, a)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}
