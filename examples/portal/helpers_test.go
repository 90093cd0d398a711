package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

func TestMain(m *testing.M) {
	hasher = password.Hasher{Cost: password.MinCost}
	os.Exit(testmysql.Run(m))
}

// testAdminPW is the admin password the tests start the portal with.
const testAdminPW = "Adm1n-test-secret"

// syncBuffer is a log sink the server goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// flaky is a backend that can be made unreachable.
type flaky struct {
	backend.CustomerUserBackend
	down atomic.Bool
}

func (f *flaky) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	if f.down.Load() {
		return backend.CustomerUser{}, backend.OpError(f.Name(), "get", backend.ErrUnavailable)
	}
	return f.CustomerUserBackend.Get(ctx, login)
}

func (f *flaky) Authenticate(ctx context.Context, login, pw string) (backend.CustomerUser, error) {
	if f.down.Load() {
		return backend.CustomerUser{}, backend.OpError(f.Name(), "authenticate", backend.ErrUnavailable)
	}
	return f.CustomerUserBackend.Authenticate(ctx, login, pw)
}

func (f *flaky) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	if f.down.Load() {
		return nil, backend.OpError(f.Name(), "search", backend.ErrUnavailable)
	}
	return f.CustomerUserBackend.Search(ctx, q)
}

// env is a seeded portal behind an httptest server, with its log.
type env struct {
	t   *testing.T
	app *app
	srv *httptest.Server
	log *syncBuffer
	be  *flaky
}

func newEnv(t *testing.T, adminPW string) *env {
	t.Helper()
	mb, err := memorybackend.New(memorybackend.Config{Name: "memory", Hasher: &hasher})
	require.NoError(t, err)
	e := &env{t: t, log: &syncBuffer{}, be: &flaky{CustomerUserBackend: mb}}
	e.app, err = newApp(t.Context(), appConfig{Backend: e.be, AdminPassword: adminPW,
		Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	require.NoError(t, err)
	require.NoError(t, e.app.seedDemo(t.Context()))
	e.srv = httptest.NewServer(e.app.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// client is one browser: its own cookies, redirects not followed.
type client struct {
	e    *env
	c    *http.Client
	last string // the body of the last response
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &client{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// resp is a response with its body read.
type resp struct {
	status int
	body   string
	h      http.Header
}

func (c *client) do(method, path string, body io.Reader, ctype string) resp {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	require.NoError(c.e.t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := c.c.Do(req)
	require.NoError(c.e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.e.t, err)
	c.last = string(b)
	return resp{status: res.StatusCode, body: string(b), h: res.Header}
}

func (c *client) get(path string) resp { return c.do(http.MethodGet, path, nil, "") }

// post sends the form as it is (no CSRF token added).
func (c *client) postRaw(path string, form url.Values) resp {
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token gives the CSRF token of the last page (fetching page first if given).
func (c *client) token(page string) string {
	c.e.t.Helper()
	if page != "" {
		c.get(page)
	}
	m := csrfRE.FindStringSubmatch(c.last)
	require.NotNil(c.e.t, m, "no CSRF token on the page:\n%s", c.last)
	return m[1]
}

// post sends the form with the CSRF token of page (fetched first).
func (c *client) post(page, path string, form url.Values) resp {
	c.e.t.Helper()
	form.Set("csrf", c.token(page))
	return c.postRaw(path, form)
}

// login logs a customer in and checks it worked.
func (c *client) login(login, pw string) {
	c.e.t.Helper()
	r := c.post("/customer/login", "/customer/login", url.Values{"login": {login}, "password": {pw}})
	require.Equal(c.e.t, http.StatusSeeOther, r.status, r.body)
	require.Equal(c.e.t, "/customer/", r.h.Get("Location"))
}

// adminLogin logs the admin in.
func (c *client) adminLogin() {
	c.e.t.Helper()
	r := c.post("/admin/login", "/admin/login", url.Values{"login": {"admin"}, "password": {testAdminPW}})
	require.Equal(c.e.t, http.StatusSeeOther, r.status, r.body)
}

// adminClient is a new browser with the admin logged in.
func (e *env) adminClient() *client {
	e.t.Helper()
	c := e.client()
	c.adminLogin()
	return c
}

// hiddenValue gives the value of the hidden input name on the last page.
func (c *client) hiddenValue(name string) string {
	c.e.t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(c.last)
	require.NotNil(c.e.t, m, "no field %s on the page", name)
	return m[1]
}
