package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/internal/testmysql"
)

// setFlag gives a flag variable a value for one test.
func setFlag[T any](t *testing.T, p *T, v T) {
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// startPortal runs the example as main does (run), on a random loopback
// port, until the test ends. It gives the base URL and what run printed.
func startPortal(t *testing.T, which, adminPW string) (string, *syncBuffer) {
	t.Helper()
	base, out, _ := startStoppable(t, which, adminPW)
	return base, out
}

// startStoppable is startPortal that can also be stopped before the test ends.
func startStoppable(t *testing.T, which, adminPW string) (string, *syncBuffer, func()) {
	t.Helper()
	setFlag(t, addr, "127.0.0.1:0")
	setFlag(t, adminPassword, adminPW)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, out, slog.New(slog.NewTextHandler(io.Discard, nil)), which, func(base string, _ *app) { ready <- base })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		cancel()
		require.NoError(t, err, "run ended before it listened:\n%s", out.String())
		t.Fatal("run ended before it listened")
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the portal did not start within 30 s")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			assert.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return base, out, stop
}

// TestSQLSecondStart: a second start on the same database finds the demo
// data (users, groups, grants) and still works.
func TestSQLSecondStart(t *testing.T) {
	db := testmysql.NewDatabase(t)
	setFlag(t, sqlDSN, db.DSN())
	for i := range 2 {
		base, _, stop := startStoppable(t, "sql", testAdminPW)
		e := &env{t: t, srv: &httptest.Server{URL: base}}
		c := e.client()
		c.login("anna", "anna-demo-1")
		r := c.get("/customer/tickets/new")
		assert.Contains(t, r.body, `<option value="Support"`, "start %d", i+1)
		a := e.client()
		a.adminLogin()
		r = a.get("/admin/groups")
		assert.Equal(t, 1, strings.Count(r.body, "customer ACME (same): rw"), "start %d", i+1)
		stop()
	}
	var n int
	require.NoError(t, db.DB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM customer_user").Scan(&n))
	assert.Equal(t, len(demoUsers), n)
}

// TestRunPrintsWhereAndWho: run prints where it listens and the demo
// logins, and says how to enable the admin interface when it is off.
func TestRunPrintsWhereAndWho(t *testing.T) {
	setFlag(t, addr, "127.0.0.1:0")
	t.Setenv("PORTAL_ADMIN_PASSWORD", "")
	base, out := startPortal(t, "memory", "")
	text := out.String()
	assert.Contains(t, text, "portal: listening on "+base)
	assert.Contains(t, text, "anna  / anna-demo-1")
	assert.Contains(t, text, "admin interface:    disabled; enable it with -admin-password or $PORTAL_ADMIN_PASSWORD")
	res, err := http.Get(base + "/customer/login")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// -seed=false starts empty.
	setFlag(t, seed, false)
	base, out, _ = startStoppable(t, "memory", "")
	assert.NotContains(t, out.String(), "demo customer logins")
	e := &env{t: t, srv: &httptest.Server{URL: base}}
	c := e.client()
	r := c.post("/customer/login", "/customer/login", url.Values{"login": {"anna"}, "password": {"anna-demo-1"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)

	err = run(t.Context(), io.Discard, slog.Default(), "nosuch", nil)
	assert.ErrorContains(t, err, `unknown -backend "nosuch"`)
	setFlag(t, sqlDSN, "")
	assert.ErrorContains(t, run(t.Context(), io.Discard, slog.Default(), "sql", nil), "-backend sql needs the flag -dsn")
	assert.ErrorContains(t, run(t.Context(), io.Discard, slog.Default(), "ldap", nil), "-ldap-url and -ldap-base-dn")
}

// chromium is where Debian's chromium package puts the browser.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser test needs Chromium; -short leaves it out")
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("the browser test needs headless Chromium: install Debian's package `chromium` " +
		"(apt-get install --no-install-recommends chromium, or scripts/install-deps.sh); go test -short leaves this test out")
	return ""
}

// tab is one browser tab of the walk-through.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	mu   *sync.Mutex // one screenshot file name at a time
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...))
}

func (b *tab) open(path string) { b.t.Helper(); b.do(chromedp.Navigate(b.base + path)) }

// submit clicks the button and waits for the page it leads to, giving its
// HTTP status.
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(b.t, err, "clicking %s", sel)
	require.NotNil(b.t, res, "clicking %s led nowhere", sel)
	return res.Status
}

// fill sets form fields by CSS selector.
func (b *tab) fill(fields ...string) {
	b.t.Helper()
	var acts []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		acts = append(acts, chromedp.SetValue(chromedp.CSS(fields[i]), fields[i+1]))
	}
	b.do(acts...)
}

// text gives the visible text of the page's main element.
func (b *tab) text() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(b.t, err)
	return s
}

func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	return strings.TrimPrefix(loc, b.base)
}

// shot saves a PNG of the whole page under the test's directory.
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644))
}

func evaluate[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	require.NoError(b.t, err)
	return v
}

// TestBrowserWalkThrough drives headless Chromium through the portal on
// the memory backend.
func TestBrowserWalkThrough(t *testing.T) {
	walkThrough(t, "memory")
}

// TestBrowserWalkThroughSQL is the same walk on -backend sql, on a
// throwaway MariaDB.
func TestBrowserWalkThroughSQL(t *testing.T) {
	path := chromium(t)
	db := testmysql.NewDatabase(t)
	setFlag(t, sqlDSN, db.DSN())
	walkThroughWith(t, "sql", path)
}

func walkThrough(t *testing.T, which string) { walkThroughWith(t, which, chromium(t)) }

func walkThroughWith(t *testing.T, which, chromiumPath string) {
	base, out := startPortal(t, which, testAdminPW)
	require.Contains(t, out.String(), "backend "+which)
	dir := t.TempDir()
	if d := os.Getenv("PORTAL_SCREENSHOT_DIR"); d != "" {
		dir = filepath.Join(d, which)
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	t.Logf("screenshots in %s", dir)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1024, 768), chromedp.Flag("disable-extensions", true), chromedp.Flag("no-first-run", true))
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// The first Run starts the browser: no timeout on it (see chromedp.Run).
	_, err := chromedp.Run(browserCtx, chromedp.Location())
	require.NoError(t, err, "starting %s", chromiumPath)
	mu := &sync.Mutex{}
	cust := &tab{t: t, ctx: browserCtx, base: base, dir: dir, mu: mu}
	adminCtx, cancelAdmin := chromedp.NewContext(browserCtx) // a second tab, same browser
	defer cancelAdmin()
	_, err = chromedp.Run(adminCtx, chromedp.Location()) // opens the tab, again without a timeout
	require.NoError(t, err)
	adm := &tab{t: t, ctx: adminCtx, base: base, dir: dir, mu: mu}

	// The customer logs in and sees only their own and their company's tickets.
	cust.open("/customer/login")
	cust.shot("01-customer-login")
	cust.fill("#login", "anna", "#password", "anna-demo-1")
	require.EqualValues(t, http.StatusOK, cust.submit(`form[action="/customer/login"] button`))
	txt := cust.text()
	assert.Contains(t, txt, "Welcome, Anna Albers.")
	assert.Contains(t, txt, "Printer on fire")
	assert.Contains(t, txt, "Mail quota")
	assert.NotContains(t, txt, "VPN down")
	assert.NotContains(t, txt, "Invoice 4711")
	cust.shot("02-customer-tickets")

	// Readable on a phone: nothing wider than the screen.
	cust.do(chromedp.EmulateViewport(390, 844))
	assert.LessOrEqual(t, evaluate[float64](cust, "document.documentElement.scrollWidth"), 390.0, "no sideways scrolling on a phone")
	cust.shot("03-customer-tickets-phone")
	cust.do(chromedp.EmulateViewport(1024, 768))

	// A new ticket, in the one queue anna may create in.
	require.EqualValues(t, http.StatusOK, cust.submit(`nav a[href="/customer/tickets/new"]`))
	queues := cust.text()
	assert.Contains(t, queues, "Support")
	assert.NotContains(t, queues, "Billing")
	cust.fill("#title", "Scanner jams", "#body", "Every second page.")
	cust.shot("04-customer-new-ticket")
	require.EqualValues(t, http.StatusOK, cust.submit(`form[action="/customer/tickets"] button`))
	txt = cust.text()
	assert.Contains(t, txt, "Scanner jams")
	assert.Contains(t, txt, "Every second page.")
	assert.Contains(t, txt, "opened.")
	cust.shot("05-customer-ticket")

	// The password change ends the session; the new password logs in.
	cust.open("/customer/account")
	assert.Contains(t, cust.text(), "My password")
	cust.shot("06-customer-account")
	cust.fill("#old", "anna-demo-1", "#new", "Anna-fresh-7", "#confirm", "Anna-fresh-7")
	require.EqualValues(t, http.StatusOK, cust.submit(`form[action="/customer/password"] button`))
	assert.Equal(t, "/customer/login?m=password", cust.location())
	assert.Contains(t, cust.text(), "Your password was changed. Please log in with the new one.")
	cust.fill("#login", "anna", "#password", "Anna-fresh-7")
	require.EqualValues(t, http.StatusOK, cust.submit(`form[action="/customer/login"] button`))
	assert.Contains(t, cust.text(), "Scanner jams")

	// The admin adds a user with missing fields, sees every error, fixes them.
	adm.open("/admin/login")
	adm.fill("#password", testAdminPW)
	require.EqualValues(t, http.StatusOK, adm.submit(`form[action="/admin/login"] button`))
	txt = adm.text()
	for _, login := range []string{"anna", "bert", "carl"} {
		assert.Contains(t, txt, login)
	}
	adm.shot("07-admin-users")
	require.EqualValues(t, http.StatusOK, adm.submit(`a[href="/admin/users/new"]`))
	adm.fill("#Login", "dora", "#FirstName", "Dora", "#Email", "dora@gamma.example.org", "#Password", "Dora-start-1")
	assert.EqualValues(t, http.StatusBadRequest, adm.submit(`form[action="/admin/users"] button`))
	txt = adm.text()
	assert.Contains(t, txt, "The customer user was not added: please correct the marked fields.")
	assert.EqualValues(t, 2, evaluate[float64](adm, "document.querySelectorAll('.field-error').length"), "LastName and CustomerID, at once")
	assert.Equal(t, "required", evaluate[string](adm, "document.querySelector('#LastName ~ .field-error, #LastName + .field-error').textContent"))
	adm.shot("08-admin-user-errors")
	adm.fill("#LastName", "Diaz", "#CustomerID", "GAMMA", "#Password", "Dora-start-1")
	require.EqualValues(t, http.StatusOK, adm.submit(`form[action="/admin/users"] button`))
	assert.Contains(t, adm.text(), "Customer user dora added.")
	adm.shot("09-admin-user")
	adm.fill("#City", "Köln")
	require.EqualValues(t, http.StatusOK, adm.submit(`form[action="/admin/users/dora"] button`))
	assert.Contains(t, adm.text(), "Customer user dora saved.")
	assert.Equal(t, "Köln", evaluate[string](adm, "document.querySelector('#City').value"))

	// dora logs in: no queue to open tickets in yet.
	require.EqualValues(t, http.StatusOK, cust.submit(`form[action="/customer/logout"] button`))
	cust.fill("#login", "dora", "#password", "Dora-start-1")
	require.EqualValues(t, http.StatusOK, cust.submit(`form[action="/customer/login"] button`))
	cust.open("/customer/tickets/new")
	assert.Contains(t, cust.text(), "You may not open tickets in any queue at the moment.")

	// The admin grants dora's company the billing group.
	adm.open("/admin/groups")
	adm.fill("#c-id", "GAMMA", "#c-group", "billing", "#c-context", "same")
	adm.do(chromedp.Click(chromedp.CSS(`form[action="/admin/groups/company"] input[name="perm_create"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/admin/groups/company"] input[name="perm_ro"]`)))
	require.EqualValues(t, http.StatusOK, adm.submit(`form[action="/admin/groups/company"] button`))
	txt = adm.text()
	assert.Contains(t, txt, "Permissions of customer GAMMA on billing (same) saved.")
	assert.Contains(t, txt, "customer GAMMA (same): create")
	adm.shot("10-admin-groups")
	adm.open("/admin/access?login=dora&queue=Billing")
	assert.Contains(t, adm.text(), `"dora" may use queue "Billing" with "create"`)
	adm.shot("11-admin-access")

	// ... and dora sees the queue.
	cust.open("/customer/tickets/new")
	assert.Contains(t, cust.text(), "Billing")
	cust.shot("12-customer-new-ticket-billing")
	cust.open("/customer/")

	// The admin sets dora invalid-temporarily: her next click lands on the login.
	adm.open("/admin/users/dora")
	require.EqualValues(t, http.StatusOK, adm.submit(`form[action="/admin/users/dora/valid"]:has(input[value="invalid-temporarily"]) button`))
	assert.Contains(t, adm.text(), "Customer user dora is now invalid-temporarily.")
	require.EqualValues(t, http.StatusOK, cust.submit(`nav a[href="/customer/account"]`))
	assert.Equal(t, "/customer/login?m=ended", cust.location())
	assert.Contains(t, cust.text(), "Your session has ended. Please log in again.")
	cust.shot("13-customer-session-ended")

	shots, err := filepath.Glob(filepath.Join(dir, "*.png"))
	require.NoError(t, err)
	assert.Len(t, shots, 13)
}
