package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/tickets"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/portal.css
var staticFS embed.FS

const (
	// maxBody bounds every request body (a form here is a few kilobytes).
	maxBody = 64 << 10
	// sessionTTL is how long a session lives without use.
	sessionTTL = 8 * time.Hour
	// maxSessions bounds the session table (anonymous ones included: every
	// visitor of a form gets one for its CSRF token).
	maxSessions = 20000
	// pageSize is the number of users per page of the admin search.
	pageSize = 20
	// The session cookies, one per area: a browser can be logged in to both.
	customerCookie = "portal_customer"
	adminCookie    = "portal_admin"
	// adminLogin is the admin interface's one user.
	adminLogin = "admin"
	// prefSessionEpoch is the portal's own preference counting a user's
	// password changes: in the preference store, so that on SQL every
	// instance of the portal ends the user's sessions, not only the one that
	// changed the password.
	prefSessionEpoch = "PortalSessionEpoch"
)

// appConfig is what newApp needs.
type appConfig struct {
	Backend backend.CustomerUserBackend
	// Prefs and Groups are the preference and group stores (nil: new ones
	// in memory).
	Prefs         policy.PreferenceStore
	Groups        groups.Store
	AdminPassword string // "" disables the admin interface
	Logger        *slog.Logger
	// GroupSupportOff, AlwaysGroups and CompanyAlwaysGroups are OTRS's
	// CustomerGroupSupport (turned off), CustomerGroupAlwaysGroups and
	// CustomerGroupCompanyAlwaysGroups, shown on the groups screen.
	GroupSupportOff                   bool
	AlwaysGroups, CompanyAlwaysGroups []string
}

// String, GoString and LogValue print appConfig without the admin password.
func (c appConfig) String() string {
	return fmt.Sprintf("appConfig{Backend: %s, AdminInterface: %t}", c.Backend.Name(), c.AdminPassword != "")
}

// GoString is String.
func (c appConfig) GoString() string { return c.String() }

// LogValue is String.
func (c appConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String, GoString and LogValue print a session without its ID and CSRF token.
func (s *session) String() string {
	return fmt.Sprintf("session{area: %s, login: %q}", s.area, s.login)
}

// GoString is String.
func (s *session) GoString() string { return s.String() }

// LogValue is String.
func (s *session) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String, GoString and LogValue print the app without its sessions or the
// admin password.
func (a *app) String() string { return "portal on " + a.dir.String() }

// GoString is String.
func (a *app) GoString() string { return a.String() }

// LogValue is String.
func (a *app) LogValue() slog.Value { return slog.StringValue(a.String()) }

// app is the portal: the Directory over the backend, the group store, the
// queues, the example's own tickets and the sessions.
type app struct {
	dir     *policy.Directory
	store   groups.Store
	prefs   policy.PreferenceStore
	res     *groups.Resolver
	gcfg    groups.Config
	queues  *tickets.StaticSource
	tickets *ticketStore
	policy  policy.PasswordPolicy
	log     *slog.Logger
	pages   map[string]*template.Template
	adminPW string

	mu       sync.Mutex
	sessions map[string]*session
	// stamps counts the password changes per login (by identity key); a
	// session made before the last change has ended.
	stamps map[string]uint64
	// adminFails counts failed admin logins in a row; adminLockedTill
	// refuses admin logins after too many.
	adminFails      int
	adminLockedTill time.Time
}

// session is one browser's state in one area. Login is "" before login.
type session struct {
	id, csrf string
	area     string // "customer" or "admin"
	login    string
	stamp    uint64
	epoch    int
	expires  time.Time
	flash    string
}

// The queues of the portal: a helpdesk's configuration, present with or
// without the demo data.
var portalQueues = []tickets.Queue{
	{ID: 1, Name: "Support", Group: "support"},
	{ID: 2, Name: "Billing", Group: "billing"},
	{ID: 3, Name: "Projects", Group: "projects"},
}

func newApp(ctx context.Context, cfg appConfig) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &app{
		store:    cfg.Groups,
		queues:   tickets.Static(portalQueues...),
		tickets:  newTicketStore(),
		policy:   policy.PasswordPolicy{MinLength: 8, RequireDigit: true},
		log:      cfg.Logger,
		adminPW:  cfg.AdminPassword,
		sessions: map[string]*session{},
		stamps:   map[string]uint64{},
		gcfg:     groups.Config{Support: !cfg.GroupSupportOff, AlwaysGroups: cfg.AlwaysGroups, CompanyAlwaysGroups: cfg.CompanyAlwaysGroups},
	}
	if a.store == nil {
		a.store = groups.NewMemoryStore()
	}
	if cfg.Prefs == nil {
		cfg.Prefs = policy.NewMemoryPreferences()
	}
	a.prefs = cfg.Prefs
	// The queues' groups, added when missing (a second start on the same
	// SQL database finds them).
	for _, q := range portalQueues {
		_, err := a.store.Group(ctx, q.Group)
		if errors.Is(err, backend.ErrNotFound) {
			_, err = a.store.AddGroup(ctx, groups.Group{Name: q.Group})
		}
		if err != nil {
			return nil, err
		}
	}
	var err error
	if a.res, err = groups.NewResolver(a.store, a.gcfg); err != nil {
		return nil, err
	}
	a.dir, err = policy.NewDirectory(policy.Config{
		Name:            "portal",
		Backends:        []backend.CustomerUserBackend{cfg.Backend},
		Hasher:          &hasher,
		Preferences:     cfg.Prefs,
		MaxFailedLogins: 5,
		PasswordPolicy:  a.policy,
		Groups:          a.res,
		Queues:          a.queues,
		Logger:          cfg.Logger,
		Observer:        policy.ObserverFunc(a.observe),
	})
	if err != nil {
		return nil, err
	}
	if a.pages, err = parsePages(); err != nil {
		return nil, err
	}
	return a, nil
}

// observe ends the sessions of a user whose password changed (by the user,
// a reset or an admin) or who was renamed, and logs the event (which never
// carries a password or token).
func (a *app) observe(ctx context.Context, e policy.Event) {
	if e.Type == policy.EventPasswordChanged {
		if _, err := a.prefs.Increment(context.WithoutCancel(ctx), e.Login, prefSessionEpoch, 1); err != nil {
			// This instance's sessions still end (the stamps below).
			a.log.Error("recording a password change for the other portal instances", "login", e.Login, "error", err)
		}
	}
	switch e.Type {
	case policy.EventPasswordChanged, policy.EventRenamed:
		a.mu.Lock()
		a.stamps[backend.IdentityKey(e.Login)]++
		if e.OldLogin != "" {
			a.stamps[backend.IdentityKey(e.OldLogin)]++
		}
		a.mu.Unlock()
	}
	a.log.Info("directory event", "event", e.Type.String(), "login", e.Login, "backend", e.Backend)
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"join": strings.Join,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// Handler gives the portal's routes wrapped in the security headers, the
// body limit and the request log.
func (a *app) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/customer/", http.StatusSeeOther)
	})
	a.customerRoutes(mux)
	a.adminRoutes(mux)
	return a.logRequests(secure(mux))
}

// secure sets the security headers and bounds the request body.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logRequests logs method, path (never the query, which may hold a reset
// token), status and duration. Form values and cookies are never logged.
func (a *app) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		a.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}

// view is what every page gets.
type view struct {
	Title string
	Area  string // "customer" or "admin": the navigation shown
	CSRF  string
	Login string // the logged-in customer or admin, "" before login
	Flash string // a one-time notice
	Error string // the page's error message
	// Errs holds one message per form field; Form the values to show again.
	Errs map[string]string
	Form map[string]string
	D    any // the page's own data
}

// render writes the page with status.
func (a *app) render(w http.ResponseWriter, status int, page string, v view) {
	t, ok := a.pages[page]
	if !ok {
		a.log.Error("no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		a.log.Error("rendering a page", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// fail renders the error page with a message that is safe to show.
func (a *app) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	area := "customer"
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		area = "admin"
	}
	a.render(w, status, "error", view{Title: http.StatusText(status), Area: area, Error: msg})
}

// failErr maps a library error to a status and a safe message and renders it.
func (a *app) failErr(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		a.log.Error("request failed", "path", r.URL.Path, "error", err)
	}
	a.fail(w, r, status, msg)
}

// statusOf maps the library's errors to HTTP. The messages are the
// portal's own: library errors name no password, but a page needs no
// backend names either.
func statusOf(err error) (int, string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "The form is too large."
	case errors.Is(err, backend.ErrUnavailable):
		return http.StatusServiceUnavailable, "The customer directory is not reachable at the moment. Please try again later."
	case errors.Is(err, backend.ErrConflict):
		return http.StatusConflict, "Someone else changed this customer user since you opened the form."
	case errors.Is(err, backend.ErrDuplicateLogin):
		return http.StatusConflict, "That login is taken."
	case errors.Is(err, backend.ErrDuplicateEmail):
		return http.StatusConflict, "That email address belongs to another customer user."
	case errors.Is(err, backend.ErrDeletionForbidden):
		return http.StatusMethodNotAllowed, "Customer users are never deleted, so that their tickets keep their history: set them invalid instead."
	case errors.Is(err, backend.ErrNotFound):
		return http.StatusNotFound, "Not found."
	case errors.Is(err, backend.ErrInvalidCredentials):
		return http.StatusUnauthorized, "Login failed: wrong login or password."
	case errors.Is(err, backend.ErrAccountInvalid):
		return http.StatusForbidden, "This account is not valid."
	case errors.Is(err, backend.ErrReadOnly):
		return http.StatusForbidden, "The customer directory is read-only."
	case errors.Is(err, policy.ErrInvalidToken):
		return http.StatusBadRequest, "This password-reset link is invalid, expired or used. Ask for a new one."
	case errors.Is(err, policy.ErrNoGroups):
		return http.StatusServiceUnavailable, "Queues are not configured."
	case errors.Is(err, backend.ErrInvalidInput):
		return http.StatusBadRequest, "The input was refused: " + safeReasons(err)
	}
	return http.StatusInternalServerError, "Internal error."
}

// safeReasons lists the reasons of validation errors ("FirstName:
// required"), which never quote a value.
func safeReasons(err error) string {
	var es backend.ValidationErrors
	if errors.As(err, &es) {
		parts := make([]string, len(es))
		for i, e := range es {
			parts[i] = e.Field + ": " + e.Reason
		}
		return strings.Join(parts, "; ")
	}
	var e *backend.ValidationError
	if errors.As(err, &e) {
		return e.Field + ": " + e.Reason
	}
	return "invalid input"
}

// fieldErrors gives one message per field of a validation error (several
// reasons for one field, as the password policy gives, are joined).
func fieldErrors(err error) map[string]string {
	out := map[string]string{}
	var es backend.ValidationErrors
	var one *backend.ValidationError
	switch {
	case errors.As(err, &es):
	case errors.As(err, &one):
		es = backend.ValidationErrors{one}
	default:
		return nil
	}
	for _, e := range es {
		if out[e.Field] != "" {
			out[e.Field] += "; "
		}
		out[e.Field] += e.Reason
	}
	return out
}

// randomToken gives 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

func cookieName(area string) string {
	if area == "admin" {
		return adminCookie
	}
	return customerCookie
}

// lookup gives the live session of the request in area, or nil.
func (a *app) lookup(r *http.Request, area string) *session {
	c, err := r.Cookie(cookieName(area))
	if err != nil {
		return nil
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || s.area != area {
		return nil
	}
	if now.After(s.expires) {
		delete(a.sessions, s.id)
		return nil
	}
	s.expires = now.Add(sessionTTL)
	return s
}

// newSession stores a new session and sets its cookie: HttpOnly,
// SameSite=Lax, Secure over TLS, scoped to the area's path.
func (a *app) newSession(w http.ResponseWriter, r *http.Request, area, login string) (*session, error) {
	s := &session{id: randomToken(), csrf: randomToken(), area: area, login: login, expires: time.Now().Add(sessionTTL)}
	if area == "customer" && login != "" {
		var err error
		if s.epoch, err = a.prefs.Increment(r.Context(), login, prefSessionEpoch, 0); err != nil {
			return nil, err
		}
	}
	a.mu.Lock()
	if len(a.sessions) >= maxSessions {
		now := time.Now()
		for id, o := range a.sessions {
			if now.After(o.expires) || o.login == "" {
				delete(a.sessions, id)
			}
		}
	}
	if len(a.sessions) >= maxSessions {
		a.mu.Unlock()
		return nil, fmt.Errorf("session table full: %w", backend.ErrUnavailable)
	}
	s.stamp = a.stamps[backend.IdentityKey(login)]
	a.sessions[s.id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(area), Value: s.id, Path: "/" + area + "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	return s, nil
}

// anonSession gives the request's session in area, making an anonymous one
// (for the CSRF token of the login forms) when there is none.
func (a *app) anonSession(w http.ResponseWriter, r *http.Request, area string) (*session, error) {
	if s := a.lookup(r, area); s != nil {
		return s, nil
	}
	return a.newSession(w, r, area, "")
}

// dropSession forgets the session (its cookie is replaced by the caller).
func (a *app) dropSession(s *session) {
	a.mu.Lock()
	delete(a.sessions, s.id)
	a.mu.Unlock()
}

// anonPage renders a page of a login form: with the request's session, or
// a new anonymous one, for the CSRF token.
func (a *app) anonPage(w http.ResponseWriter, r *http.Request, area, page string, v view) {
	s, err := a.anonSession(w, r, area)
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	v.Area, v.CSRF = area, s.csrf
	a.render(w, http.StatusOK, page, v)
}

// endSession forgets the session and clears its cookie.
func (a *app) endSession(w http.ResponseWriter, s *session) {
	a.dropSession(s)
	http.SetCookie(w, &http.Cookie{Name: cookieName(s.area), Value: "", Path: "/" + s.area + "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns and clears the session's notice.
func (a *app) takeFlash(s *session) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

// setFlash stores a notice for the next page.
func (a *app) setFlash(s *session, msg string) {
	a.mu.Lock()
	s.flash = msg
	a.mu.Unlock()
}

// stale reports whether the user's password changed since the session
// began: here (the stamps) or, through the shared preference store, on
// another instance.
func (a *app) stale(ctx context.Context, s *session) (bool, error) {
	a.mu.Lock()
	changed := a.stamps[backend.IdentityKey(s.login)] != s.stamp
	a.mu.Unlock()
	if changed {
		return true, nil
	}
	epoch, err := a.prefs.Increment(ctx, s.login, prefSessionEpoch, 0)
	return epoch != s.epoch, err
}

// parseForm reads a POST form and checks its CSRF token against s. It
// writes the refusal itself and returns false when the request must stop.
func (a *app) parseForm(w http.ResponseWriter, r *http.Request, s *session) bool {
	if err := r.ParseForm(); err != nil {
		status, msg := statusOf(err)
		if status == http.StatusInternalServerError {
			status, msg = http.StatusBadRequest, "The form could not be read."
		}
		a.fail(w, r, status, msg)
		return false
	}
	got := r.PostForm.Get("csrf")
	if s == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
		a.fail(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and send it again.")
		return false
	}
	return true
}

// notDeleted answers a DELETE: customer users are never deleted.
func (a *app) notDeleted(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, POST")
	a.failErr(w, r, backend.ErrDeletionForbidden)
}
