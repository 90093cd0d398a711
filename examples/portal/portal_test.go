package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/policy"
)

func TestCustomerLoginAndTickets(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()

	r := c.get("/")
	assert.Equal(t, http.StatusSeeOther, r.status)
	r = c.get("/customer/")
	assert.Equal(t, http.StatusSeeOther, r.status, "no session: to the login")
	assert.Equal(t, "/customer/login", r.h.Get("Location"))

	r = c.post("/customer/login", "/customer/login", url.Values{"login": {"anna"}, "password": {"wrong-1"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Login failed: wrong login or password.")
	r = c.post("/customer/login", "/customer/login", url.Values{"login": {"nobody"}, "password": {"wrong-1"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Login failed: wrong login or password.", "an unknown login gets the same answer")

	c.login("anna", "anna-demo-1")
	r = c.get("/customer/")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "Welcome, Anna Albers.")
	assert.Contains(t, r.body, "Printer on fire", "her own ticket")
	assert.Contains(t, r.body, "Mail quota", "her company's ticket in a queue she may read")
	assert.NotContains(t, r.body, "Invoice 4711", "ACME holds nothing on billing")
	assert.NotContains(t, r.body, "VPN down", "another company's ticket")
	r = c.get("/customer/")
	assert.NotContains(t, r.body, "Welcome", "the notice shows once")

	r = c.get("/customer/tickets/1")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "The printer on floor 2 smokes")
	for _, id := range []string{"2", "5", "99", "x"} { // billing, BETA, missing, not a number
		r = c.get("/customer/tickets/" + id)
		assert.Equal(t, http.StatusNotFound, r.status, id)
		assert.Contains(t, r.body, "No such ticket.", id)
		assert.NotContains(t, r.body, "Invoice", id)
	}

	r = c.post("/customer/", "/customer/logout", url.Values{})
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "/customer/login?m=out", r.h.Get("Location"))
	r = c.get("/customer/")
	assert.Equal(t, http.StatusSeeOther, r.status, "logged out")
}

func TestSessionCookieRotatedAndFlagged(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	r := c.get("/customer/login")
	before := r.h.Get("Set-Cookie")
	require.Contains(t, before, customerCookie+"=")
	assert.Contains(t, before, "HttpOnly")
	assert.Contains(t, before, "SameSite=Lax")
	assert.Contains(t, before, "Path=/customer/")
	assert.NotContains(t, before, "Secure", "plain HTTP")
	r = c.postRaw("/customer/login", url.Values{"csrf": {c.token("")}, "login": {"anna"}, "password": {"anna-demo-1"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	after := r.h.Values("Set-Cookie")
	require.Len(t, after, 1)
	assert.NotEqual(t, cookieValue(before), cookieValue(after[0]), "a new session ID at login")
	// The pre-login session ID is worthless now.
	old := e.client()
	u, _ := url.Parse(e.srv.URL + "/customer/")
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: customerCookie, Value: cookieValue(before), Path: "/customer/"}})
	assert.Equal(t, http.StatusSeeOther, old.get("/customer/").status)

	// Over TLS the cookie is Secure and HSTS is sent.
	ts := httptest.NewTLSServer(e.app.Handler())
	defer ts.Close()
	res, err := ts.Client().Get(ts.URL + "/customer/login")
	require.NoError(t, err)
	res.Body.Close()
	assert.Contains(t, res.Header.Get("Set-Cookie"), "; Secure")
	assert.NotEmpty(t, res.Header.Get("Strict-Transport-Security"))
}

func cookieValue(setCookie string) string {
	v, _, _ := strings.Cut(setCookie, ";")
	_, v, _ = strings.Cut(v, "=")
	return v
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	for _, p := range []string{"/customer/login", "/admin/login", "/customer/tickets/1", "/static/portal.css", "/nope"} {
		r := c.get(p)
		csp := r.h.Get("Content-Security-Policy")
		assert.Contains(t, csp, "frame-ancestors 'none'", p)
		assert.NotContains(t, csp, "unsafe-inline", p)
		assert.Contains(t, csp, "default-src 'none'", p)
		assert.Equal(t, "nosniff", r.h.Get("X-Content-Type-Options"), p)
		assert.Equal(t, "DENY", r.h.Get("X-Frame-Options"), p)
	}
	r := c.get("/customer/login")
	assert.NotContains(t, r.body, "<script", "no JavaScript")
	assert.NotContains(t, r.body, "style=", "no inline styles (the CSP forbids them)")
	r = c.get("/static/portal.css")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.h.Get("Content-Type"), "text/css")
}

func TestCSRFRefused(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	c.get("/customer/login")
	for _, form := range []url.Values{
		{"login": {"anna"}, "password": {"anna-demo-1"}},
		{"login": {"anna"}, "password": {"anna-demo-1"}, "csrf": {"forged"}},
	} {
		r := c.postRaw("/customer/login", form)
		assert.Equal(t, http.StatusForbidden, r.status)
		assert.Contains(t, r.body, "This form has expired or did not come from this site.")
	}
	// Another browser's token does not fit this session.
	other := e.client()
	r := c.postRaw("/customer/login", url.Values{"csrf": {other.token("/customer/login")}, "login": {"anna"}, "password": {"anna-demo-1"}})
	assert.Equal(t, http.StatusForbidden, r.status)

	c.login("anna", "anna-demo-1")
	r = c.postRaw("/customer/tickets", url.Values{"queue": {"Support"}, "title": {"forged"}, "body": {"x"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.NotContains(t, c.get("/customer/").body, "forged", "no ticket was opened")
	r = c.postRaw("/customer/logout", url.Values{})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, http.StatusOK, c.get("/customer/").status, "still logged in")

	a := e.adminClient()
	r = a.postRaw("/admin/users/anna/valid", url.Values{"state": {"invalid"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	u, err := e.app.dir.Get(t.Context(), "anna")
	require.NoError(t, err)
	assert.Equal(t, backend.Valid, u.Valid, "nothing changed")
}

func TestLockout(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	for i := range 5 {
		r := c.post("/customer/login", "/customer/login", url.Values{"login": {"bert"}, "password": {fmt.Sprintf("wrong-%d", i)}})
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.NotContains(t, r.body, "locked", "the lockout is not told to a wrong password")
	}
	r := c.post("/customer/login", "/customer/login", url.Values{"login": {"bert"}, "password": {"wrong-x"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.NotContains(t, r.body, "locked")
	r = c.post("/customer/login", "/customer/login", url.Values{"login": {"bert"}, "password": {"bert-demo-2"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, r.body, "Your account is temporarily locked.")

	// The admin sets bert valid again; the login works.
	a := e.adminClient()
	r = a.post("/admin/users/bert", "/admin/users/bert/valid", url.Values{"state": {"valid"}})
	assert.Equal(t, http.StatusSeeOther, r.status)
	c.login("bert", "bert-demo-2")

	// An account set invalid says disabled (after a right password only).
	require.NoError(t, e.app.dir.SetValid(t.Context(), "carl", backend.Invalid))
	c = e.client()
	r = c.post("/customer/login", "/customer/login", url.Values{"login": {"carl"}, "password": {"carl-demo-3"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, r.body, "Your account is disabled.")
}

func TestNewTicketQueues(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	c.login("anna", "anna-demo-1")
	r := c.get("/customer/tickets/new")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `<option value="Support"`)
	assert.NotContains(t, r.body, `<option value="Billing"`, "only the queues anna may create in")
	assert.NotContains(t, r.body, `<option value="Projects"`)

	r = c.post("/customer/tickets/new", "/customer/tickets", url.Values{"queue": {"Billing"}, "title": {"Let me in"}, "body": {"please"}})
	assert.Equal(t, http.StatusForbidden, r.status, "a queue she may not create in, refused server-side")
	assert.Contains(t, r.body, "You may not open tickets in that queue.")
	r = c.post("/customer/tickets/new", "/customer/tickets", url.Values{"queue": {"Nowhere"}, "title": {""}, "body": {""}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	for _, want := range []string{"choose a queue", "The ticket was not opened"} {
		assert.Contains(t, r.body, want)
	}
	assert.Equal(t, 2, strings.Count(r.body, `<p class="field-error">required</p>`), "title and body")
	assert.NotContains(t, c.get("/customer/").body, "Let me in")

	r = c.post("/customer/tickets/new", "/customer/tickets", url.Values{"queue": {"support"}, "title": {"Monitor flickers"}, "body": {"Since <Monday>."}})
	require.Equal(t, http.StatusSeeOther, r.status)
	loc := r.h.Get("Location")
	r = c.get(loc)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "Monitor flickers")
	assert.Contains(t, r.body, "Since &lt;Monday&gt;.", "escaped by html/template")
	assert.Contains(t, r.body, "opened.")

	// Bert, of the same company, sees it; Carl does not.
	b := e.client()
	b.login("bert", "bert-demo-2")
	assert.Contains(t, b.get("/customer/").body, "Monitor flickers")
	assert.Equal(t, http.StatusOK, b.get(loc).status)
	k := e.client()
	k.login("carl", "carl-demo-3")
	assert.NotContains(t, k.get("/customer/").body, "Monitor flickers")
	assert.Equal(t, http.StatusNotFound, k.get(loc).status)
}

func TestDeactivatedUsersSessionEnds(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	c.login("anna", "anna-demo-1")
	require.Equal(t, http.StatusOK, c.get("/customer/").status)

	a := e.adminClient()
	r := a.post("/admin/users/anna", "/admin/users/anna/valid", url.Values{"state": {"invalid-temporarily"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Contains(t, a.get("/admin/users/anna").body, "Customer user anna is now invalid-temporarily.")

	r = c.get("/customer/account")
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "/customer/login?m=ended", r.h.Get("Location"))
	assert.Contains(t, r.h.Get("Set-Cookie"), "Max-Age=0", "the cookie is cleared")
	assert.Contains(t, c.get("/customer/login?m=ended").body, "Your session has ended.")

	// Valid again, the old session stays ended: a new login is needed.
	r = a.post("/admin/users/anna", "/admin/users/anna/valid", url.Values{"state": {"valid"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, http.StatusSeeOther, c.get("/customer/").status)
	c.login("anna", "anna-demo-1")
	assert.Equal(t, http.StatusOK, c.get("/customer/").status)

	r = a.post("/admin/users/anna", "/admin/users/anna/valid", url.Values{"state": {"deleted"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = a.post("/admin/users/anna", "/admin/users/nobody/valid", url.Values{"state": {"invalid"}})
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c, other := e.client(), e.client()
	c.login("anna", "anna-demo-1")
	other.login("anna", "anna-demo-1")

	r := c.post("/customer/account", "/customer/password", url.Values{"old": {"wrong-pw-1"}, "new": {"Fresh-pass-22"}, "confirm": {"Fresh-pass-22"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, `<p class="field-error">wrong password</p>`)
	r = c.post("/customer/account", "/customer/password", url.Values{"old": {"anna-demo-1"}, "new": {"short"}, "confirm": {"short"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Regexp(t, `field-error">[^<]*8[^<]*digit|field-error">[^<]*digit[^<]*8`, r.body, "every policy message on the new-password field")
	r = c.post("/customer/account", "/customer/password", url.Values{"old": {"anna-demo-1"}, "new": {"Fresh-pass-22"}, "confirm": {"Fresh-pass-23"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "the two new passwords differ")

	r = c.post("/customer/account", "/customer/password", url.Values{"old": {"anna-demo-1"}, "new": {"Fresh-pass-22"}, "confirm": {"Fresh-pass-22"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, "/customer/login?m=password", r.h.Get("Location"))
	assert.Equal(t, http.StatusSeeOther, c.get("/customer/").status, "this session ended")
	assert.Equal(t, http.StatusSeeOther, other.get("/customer/").status, "and the other one")
	r = c.post("/customer/login", "/customer/login", url.Values{"login": {"anna"}, "password": {"anna-demo-1"}})
	assert.Equal(t, http.StatusUnauthorized, r.status, "the old password is gone")
	c.login("anna", "Fresh-pass-22")
	assert.NotContains(t, e.log.String(), "Fresh-pass-22", "no password in the log")
}

func TestAccountSettings(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	c.login("anna", "anna-demo-1")
	r := c.get("/customer/account")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `value="&#43;49 30 1234"`)
	stamp := c.hiddenValue("changed_at")
	form := url.Values{"changed_at": {stamp}, "FirstName": {"Anne"}, "LastName": {"Albers"}, "Phone": {"+49 30 9999"}, "language": {"de"}}
	r = c.post("/customer/account", "/customer/account", form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	r = c.get("/customer/account")
	assert.Contains(t, r.body, "Your settings were saved.")
	assert.Contains(t, r.body, `value="&#43;49 30 9999"`)
	assert.Contains(t, r.body, `<option value="de" selected>`)
	assert.Contains(t, r.body, "Anne Albers")

	// The same (now stale) form again: someone else changed the record.
	r = c.post("/customer/account", "/customer/account", form)
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Contains(t, r.body, "Someone else changed this customer user")

	form.Set("changed_at", c.hiddenValue("changed_at"))
	form.Set("FirstName", "")
	form.Set("language", "xx")
	r = c.post("/customer/account", "/customer/account", form)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "unknown language")
	form.Set("language", "en")
	r = c.post("/customer/account", "/customer/account", form)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, `<p class="field-error">required</p>`)
	form.Set("changed_at", "yesterday")
	assert.Equal(t, http.StatusBadRequest, c.post("/customer/account", "/customer/account", form).status)

	r = c.do(http.MethodDelete, "/customer/account", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Contains(t, r.body, "never deleted")
}

var linkRE = regexp.MustCompile(`link="?(http://[^"\s]+)`)

func TestForgotAndResetPassword(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	r := c.post("/customer/forgot", "/customer/forgot", url.Values{"login": {"nobody"}})
	assert.Equal(t, http.StatusOK, r.status)
	same := "If that login exists and is active, a link"
	assert.Contains(t, r.body, same)
	r = c.post("/customer/forgot", "/customer/forgot", url.Values{"login": {"carl"}})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, same, "the same page for a real login")
	m := linkRE.FindStringSubmatch(e.log.String())
	require.NotNil(t, m, "the reset link is logged:\n%s", e.log.String())
	link, err := url.Parse(m[1])
	require.NoError(t, err)
	token := link.Query().Get("token")
	require.NotEmpty(t, token)
	assert.NotContains(t, r.body, token, "the token is never shown on the page that asked")

	r = c.get(link.RequestURI())
	require.Equal(t, http.StatusOK, r.status)
	r = c.post("", "/customer/reset", url.Values{"token": {token}, "password": {"nodigits"}, "confirm": {"nodigits"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "digit")
	r = c.post("", "/customer/reset", url.Values{"token": {token}, "password": {"Brand-new-7"}, "confirm": {"Brand-new-8"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = c.post("", "/customer/reset", url.Values{"token": {token}, "password": {"Brand-new-7"}, "confirm": {"Brand-new-7"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, "/customer/login?m=reset", r.h.Get("Location"))
	r = c.post("/customer/reset?token="+token, "/customer/reset", url.Values{"token": {token}, "password": {"Brand-new-9"}, "confirm": {"Brand-new-9"}})
	assert.Equal(t, http.StatusBadRequest, r.status, "single use")
	assert.Contains(t, r.body, "invalid, expired or used")
	c.login("carl", "Brand-new-7")

	// The request log never holds the token (only the "mail" line does)
	// nor a password.
	for _, line := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(line, "msg=request") {
			assert.NotContains(t, line, token)
		}
	}
	assert.NotContains(t, e.log.String(), "Brand-new-7")
}

func TestAdminDisabledWithoutPassword(t *testing.T) {
	e := newEnv(t, "")
	c := e.client()
	for _, p := range []string{"/admin/", "/admin/login", "/admin/users", "/admin/groups"} {
		r := c.get(p)
		assert.Equal(t, http.StatusServiceUnavailable, r.status, p)
		assert.Contains(t, r.body, "-admin-password", p)
		assert.Contains(t, r.body, "PORTAL_ADMIN_PASSWORD", p)
	}
	r := c.postRaw("/admin/login", url.Values{"login": {"admin"}, "password": {""}})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
}

func TestAdminLogin(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	r := c.get("/admin/users")
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "/admin/login", r.h.Get("Location"))
	r = c.post("/admin/login", "/admin/login", url.Values{"login": {"admin"}, "password": {"guess"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	// A customer session is no admin session.
	c.login("anna", "anna-demo-1")
	assert.Equal(t, http.StatusSeeOther, c.get("/admin/users").status)
	c.adminLogin()
	r = c.get("/admin/")
	assert.Equal(t, http.StatusSeeOther, r.status)
	r = c.get("/admin/users")
	require.Equal(t, http.StatusOK, r.status)
	for _, login := range []string{"anna", "bert", "carl"} {
		assert.Contains(t, r.body, `href="/admin/users/`+login+`"`)
	}
	assert.NotContains(t, strings.ToLower(r.body), "delete", "no delete button anywhere")
	assert.NotContains(t, strings.ToLower(c.get("/admin/users/anna").body), ">delete")
	r = c.post("/admin/users", "/admin/logout", url.Values{})
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, http.StatusSeeOther, c.get("/admin/users").status)

	// Five wrong passwords lock the admin login for a minute.
	for range adminMaxFails {
		c.post("/admin/login", "/admin/login", url.Values{"login": {"admin"}, "password": {"guess"}})
	}
	r = c.post("/admin/login", "/admin/login", url.Values{"login": {"admin"}, "password": {testAdminPW}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, r.body, "Too many failed admin logins")
}

func TestAdminCreateUser(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.adminClient()
	r := c.get("/admin/users/new")
	require.Equal(t, http.StatusOK, r.status)
	for _, label := range []string{"Login *", "First name *", "Last name *", "Email *", "Customer ID *", "Password *"} {
		assert.Contains(t, r.body, label, "required fields are marked")
	}
	assert.NotContains(t, r.body, "Phone *")

	form := url.Values{"Login": {"dora"}, "FirstName": {"Dora"}, "LastName": {""}, "Email": {"not-an-address"}, "CustomerID": {""}, "Password": {"dora"}, "City": {"Köln"}}
	r = c.post("/admin/users/new", "/admin/users", form)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "please correct the marked fields")
	errs := regexp.MustCompile(`<p class="field-error">`).FindAllStringIndex(r.body, -1)
	assert.Len(t, errs, 4, "LastName, Email, CustomerID and Password, all at once:\n%s", r.body)
	assert.Contains(t, r.body, `value="Köln"`, "the input is kept")
	assert.NotContains(t, r.body, `value="dora"`+" type", "the password is not echoed")
	_, err := e.app.dir.Get(t.Context(), "dora")
	assert.ErrorIs(t, err, backend.ErrNotFound)

	form.Set("LastName", "Diaz")
	form.Set("Email", "dora@gamma.example.org")
	form.Set("CustomerID", "GAMMA")
	form.Set("Password", "Dora-start-1")
	r = c.post("/admin/users/new", "/admin/users", form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, "/admin/users/dora", r.h.Get("Location"))
	r = c.get("/admin/users/dora")
	assert.Contains(t, r.body, "Customer user dora added.")
	assert.Contains(t, r.body, `value="Diaz"`)

	r = c.post("/admin/users/new", "/admin/users", form)
	assert.Equal(t, http.StatusConflict, r.status, "the same login again")
	form.Set("Login", "dora2")
	r = c.post("/admin/users/new", "/admin/users", form)
	assert.Equal(t, http.StatusConflict, r.status, "the same email again")
	assert.Contains(t, r.body, "belongs to another customer user")

	d := e.client()
	d.login("dora", "Dora-start-1")
	assert.Contains(t, d.get("/customer/").body, "You have no tickets.")
}

func TestAdminEditAndStaleForm(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c, other := e.client(), e.client()
	c.adminLogin()
	other.adminLogin()
	r := c.get("/admin/users/bert")
	require.Equal(t, http.StatusOK, r.status)
	stamp := c.hiddenValue("changed_at")
	form := url.Values{"changed_at": {stamp}, "FirstName": {"Bert"}, "LastName": {"Brandt"}, "Email": {"bert@acme.example.org"},
		"CustomerID": {"ACME"}, "CustomerIDs": {"ACME-EU"}, "City": {"Bonn"}}

	// Someone else saves first.
	r = other.get("/admin/users/bert")
	f2 := url.Values{"changed_at": {other.hiddenValue("changed_at")}, "FirstName": {"Bertram"}, "LastName": {"Brandt"},
		"Email": {"bert@acme.example.org"}, "CustomerID": {"ACME"}}
	r = other.post("/admin/users/bert", "/admin/users/bert", f2)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)

	form.Set("csrf", c.token(""))
	r = c.postRaw("/admin/users/bert", form)
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Contains(t, r.body, "Someone else changed this customer user since you opened the form.")
	assert.Contains(t, r.body, `value="Bertram"`, "the form shows the current record")
	u, err := e.app.dir.Get(t.Context(), "bert")
	require.NoError(t, err)
	assert.Equal(t, "Bertram", u.FirstName)
	assert.Empty(t, u.City, "the stale form saved nothing")

	// Made again on the fresh form, it is saved, with a new password; the
	// live session of bert ends.
	live := e.client()
	live.login("bert", "bert-demo-2")
	form.Set("changed_at", c.hiddenValue("changed_at"))
	form.Set("Password", "Bert-new-pw-4")
	form.Set("csrf", c.token(""))
	r = c.postRaw("/admin/users/bert", form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	u, err = e.app.dir.Get(t.Context(), "bert")
	require.NoError(t, err)
	assert.Equal(t, "Bonn", u.City)
	assert.Equal(t, []string{"ACME-EU"}, u.CustomerIDs)
	r = live.get("/customer/")
	assert.Equal(t, "/customer/login?m=ended", r.h.Get("Location"), "a password set by the admin ends the sessions")
	b := e.client()
	b.login("bert", "Bert-new-pw-4")

	// Field errors and a weak password save nothing.
	r = c.get("/admin/users/bert")
	form.Set("changed_at", c.hiddenValue("changed_at"))
	form.Set("Email", "")
	form.Set("Password", "")
	form.Set("csrf", c.token(""))
	r = c.postRaw("/admin/users/bert", form)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, `<p class="field-error">required</p>`)
	form.Set("Email", "bert@acme.example.org")
	form.Set("Password", "weak")
	r = c.postRaw("/admin/users/bert", form)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "digit")

	assert.Equal(t, http.StatusNotFound, c.get("/admin/users/nobody").status)
	form.Set("Password", "")
	assert.Equal(t, http.StatusNotFound, c.postRaw("/admin/users/nobody", form).status)
	form.Set("changed_at", "")
	assert.Equal(t, http.StatusBadRequest, c.postRaw("/admin/users/bert", form).status)
}

func TestDeleteIsRefused(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.adminClient()
	for _, cl := range []*client{c, e.client()} { // logged in or not
		r := cl.do(http.MethodDelete, "/admin/users/anna", nil, "")
		assert.Equal(t, http.StatusMethodNotAllowed, r.status)
		assert.Contains(t, r.body, "Customer users are never deleted")
		assert.Contains(t, r.body, "set them invalid instead")
		assert.Equal(t, "GET, POST", r.h.Get("Allow"))
	}
	_, err := e.app.dir.Get(t.Context(), "anna")
	assert.NoError(t, err)
	r := c.do(http.MethodPut, "/customer/login", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, r.status, "other methods too")
}

func TestAdminSearchAndPaging(t *testing.T) {
	e := newEnv(t, testAdminPW)
	for i := range 25 {
		_, err := e.app.dir.Add(t.Context(), backend.CustomerUser{Login: fmt.Sprintf("user%02d", i), FirstName: "Many", LastName: fmt.Sprintf("User%02d", i),
			Email: fmt.Sprintf("u%02d@many.example.org", i), CustomerID: "MANY"}, "")
		require.NoError(t, err)
	}
	c := e.adminClient()
	r := c.get("/admin/users?customer=MANY")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "user00")
	assert.Contains(t, r.body, "user19")
	assert.NotContains(t, r.body, "user20")
	next := regexp.MustCompile(`href="(/admin/users\?[^"]+)">Next page`).FindStringSubmatch(r.body)
	require.NotNil(t, next)
	r = c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	require.Equal(t, http.StatusOK, r.status)
	assert.NotContains(t, r.body, "user19")
	assert.Contains(t, r.body, "user20")
	assert.Contains(t, r.body, "user24")
	assert.NotContains(t, r.body, "Next page")

	r = c.get("/admin/users?" + url.Values{"q": {"acme !anna"}}.Encode())
	assert.Contains(t, r.body, "bert")
	assert.NotContains(t, r.body, `href="/admin/users/anna"`)
	r = c.get("/admin/users?q=nothing-matches-this")
	assert.Contains(t, r.body, "No customer users match.")

	require.NoError(t, e.app.dir.SetValid(t.Context(), "carl", backend.Invalid))
	assert.NotContains(t, c.get("/admin/users").body, `href="/admin/users/carl"`)
	r = c.get("/admin/users?invalid=1")
	assert.Contains(t, r.body, `href="/admin/users/carl"`)
	assert.Contains(t, r.body, "<td>invalid</td>")

	r = c.get("/admin/users?q=" + url.QueryEscape(strings.Repeat("x", 5000)))
	assert.Equal(t, http.StatusBadRequest, r.status, "a refused search")
	assert.Contains(t, r.body, "The input was refused")
}

func TestGroupsGrantRevokeAndExplain(t *testing.T) {
	e := newEnv(t, testAdminPW)
	a := e.adminClient()
	r := a.get("/admin/groups")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "on: groups come from the rows below")
	assert.Contains(t, r.body, "CustomerGroupAlwaysGroups</dt><dd>(none)")
	assert.Contains(t, r.body, "customer ACME (same): rw")

	r = a.get("/admin/access?login=carl&queue=Billing")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `class="no"`)
	assert.Contains(t, r.body, "denied: neither the user nor any of their customer IDs holds")

	r = a.post("/admin/groups", "/admin/groups/company", url.Values{"customer_id": {"BETA"}, "group": {"billing"}, "context": {"same"}, "perm_create": {"1"}, "perm_ro": {"1"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	r = a.get("/admin/groups")
	assert.Contains(t, r.body, "customer BETA (same): create")
	r = a.get("/admin/access?login=carl&queue=Billing")
	assert.Contains(t, r.body, "granted: customer ID &#34;BETA&#34; holds &#34;create&#34;")
	assert.NotContains(t, r.body, `class="no"`)
	k := e.client()
	k.login("carl", "carl-demo-3")
	assert.Contains(t, k.get("/customer/tickets/new").body, `<option value="Billing"`)

	// Revoke: every box unchecked.
	r = a.post("/admin/groups", "/admin/groups/company", url.Values{"customer_id": {"BETA"}, "group": {"billing"}, "context": {"same"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.NotContains(t, k.get("/customer/tickets/new").body, `<option value="Billing"`)

	// A user's own grant, and its revocation.
	r = a.post("/admin/groups", "/admin/groups/member", url.Values{"login": {"anna"}, "group": {"billing"}, "perm_ro": {"1"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Contains(t, a.get("/admin/users/anna").body, "<li>billing: ro</li>")
	c := e.client()
	c.login("anna", "anna-demo-1")
	assert.Contains(t, c.get("/customer/").body, "Invoice 4711", "anna now reads her company's billing tickets")
	r = a.post("/admin/groups", "/admin/groups/member", url.Values{"login": {"anna"}, "group": {"billing"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.NotContains(t, c.get("/customer/").body, "Invoice 4711")

	// On a group the company holds a key on ("same"), an "other" grant
	// shows every ticket of the group's queues, whatever its customer.
	r = a.post("/admin/groups", "/admin/groups/company", url.Values{"customer_id": {"ACME"}, "group": {"projects"}, "context": {"same"}, "perm_ro": {"1"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.NotContains(t, c.get("/customer/").body, "Rollout plan", "BETA's ticket in Projects")
	r = a.post("/admin/groups", "/admin/groups/company", url.Values{"customer_id": {"ACME"}, "group": {"projects"}, "context": {"other"}, "perm_ro": {"1"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Contains(t, c.get("/customer/").body, "Rollout plan", "BETA's ticket in Projects")
	assert.Contains(t, a.get("/admin/groups").body, "customer ACME (other): ro")

	r = a.post("/admin/groups", "/admin/groups/member", url.Values{"login": {"nobody"}, "group": {"billing"}, "perm_ro": {"1"}})
	assert.Equal(t, http.StatusNotFound, r.status)
	r = a.post("/admin/groups", "/admin/groups/company", url.Values{"customer_id": {""}, "group": {"billing"}, "perm_ro": {"1"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = a.post("/admin/groups", "/admin/groups/company", url.Values{"customer_id": {"ACME"}, "group": {"billing"}, "context": {"sideways"}, "perm_ro": {"1"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = a.get("/admin/access?login=nobody")
	assert.Equal(t, http.StatusNotFound, r.status)
	r = a.get("/admin/access?login=anna")
	assert.Equal(t, 3, strings.Count(r.body, "<tr><td>"), "every queue when none is chosen")
}

func TestBoundedBodyAndUnavailable(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	tok := c.token("/customer/login")
	big := url.Values{"csrf": {tok}, "login": {"anna"}, "password": {strings.Repeat("p", maxBody)}}
	r := c.postRaw("/customer/login", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	assert.NotContains(t, r.body, "ppppp")

	c.login("anna", "anna-demo-1")
	a := e.adminClient()
	e.be.down.Store(true)
	r = c.get("/customer/")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, r.body, "not reachable at the moment")
	r = a.get("/admin/users")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	r = a.get("/admin/users/anna")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	l := e.client()
	r = l.post("/customer/login", "/customer/login", url.Values{"login": {"bert"}, "password": {"bert-demo-2"}})
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "a login while the directory is down")
	assert.Contains(t, r.body, "not reachable at the moment")
	r = l.post("/customer/forgot", "/customer/forgot", url.Values{"login": {"bert"}})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	e.be.down.Store(false)
	assert.Equal(t, http.StatusOK, c.get("/customer/").status, "the session survived the outage")
	assert.Zero(t, mustFailed(t, e, "bert"), "an outage is no failed login")
}

func TestGroupConfigShownAndApplied(t *testing.T) {
	mb, err := memorybackend.New(memorybackend.Config{Name: "memory", Hasher: &hasher})
	require.NoError(t, err)
	for _, tc := range []struct {
		cfg       appConfig
		shown     []string
		annaMayIn []string
	}{
		{appConfig{AlwaysGroups: []string{"billing"}, CompanyAlwaysGroups: []string{"projects"}},
			[]string{"on: groups come from the rows below", "CustomerGroupAlwaysGroups</dt><dd>billing", "CustomerGroupCompanyAlwaysGroups</dt><dd>projects"},
			[]string{"Support", "Billing", "Projects"}},
		{appConfig{GroupSupportOff: true},
			[]string{"off: every valid group grants every key"},
			[]string{"Support", "Billing", "Projects"}},
	} {
		tc.cfg.Backend, tc.cfg.AdminPassword, tc.cfg.Logger = mb, testAdminPW, slog.New(slog.DiscardHandler)
		a, err := newApp(t.Context(), tc.cfg)
		require.NoError(t, err)
		e := &env{t: t, app: a, srv: httptest.NewServer(a.Handler())}
		t.Cleanup(e.srv.Close)
		if _, err := a.dir.Get(t.Context(), "anna"); err != nil {
			require.NoError(t, a.seedDemo(t.Context()))
		}
		r := e.adminClient().get("/admin/groups")
		for _, s := range tc.shown {
			assert.Contains(t, r.body, s)
		}
		c := e.client()
		c.login("anna", "anna-demo-1")
		r = c.get("/customer/tickets/new")
		for _, q := range tc.annaMayIn {
			assert.Contains(t, r.body, `<option value="`+q+`"`)
		}
	}
}

func mustFailed(t *testing.T, e *env, login string) int {
	t.Helper()
	n, err := e.app.dir.FailedLogins(t.Context(), login)
	require.NoError(t, err)
	return n
}

// TestPasswordChangeEndsSessionsOnOtherInstances: two portals on one
// directory and one preference store (as two instances on one SQL
// database); a password changed on one ends the sessions on the other.
func TestPasswordChangeEndsSessionsOnOtherInstances(t *testing.T) {
	mb, err := memorybackend.New(memorybackend.Config{Name: "memory", Hasher: &hasher})
	require.NoError(t, err)
	prefs := policy.NewMemoryPreferences()
	var envs [2]*env
	for i := range envs {
		a, err := newApp(t.Context(), appConfig{Backend: mb, Prefs: prefs, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		envs[i] = &env{t: t, app: a, srv: httptest.NewServer(a.Handler())}
		t.Cleanup(envs[i].srv.Close)
	}
	require.NoError(t, envs[0].app.seedDemo(t.Context()))
	here, there := envs[0].client(), envs[1].client()
	here.login("anna", "anna-demo-1")
	there.login("anna", "anna-demo-1")
	r := here.post("/customer/account", "/customer/password", url.Values{"old": {"anna-demo-1"}, "new": {"Other-inst-5"}, "confirm": {"Other-inst-5"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	r = there.get("/customer/")
	assert.Equal(t, "/customer/login?m=ended", r.h.Get("Location"))
	there.login("anna", "Other-inst-5")
	assert.Equal(t, http.StatusOK, there.get("/customer/").status)
}

// TestPrintingIsSafe: the types holding the admin password, session IDs
// and CSRF tokens print none of them.
func TestPrintingIsSafe(t *testing.T) {
	e := newEnv(t, testAdminPW)
	c := e.client()
	c.login("anna", "anna-demo-1")
	e.app.mu.Lock()
	var s *session
	for _, x := range e.app.sessions {
		s = x
	}
	e.app.mu.Unlock()
	require.NotNil(t, s)
	cfg := appConfig{Backend: e.be, AdminPassword: testAdminPW}
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	for _, v := range []any{cfg, &cfg, s, e.app} {
		log.Info("x", "v", v)
		for _, out := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), buf.String()} {
			assert.NotContains(t, out, testAdminPW)
			assert.NotContains(t, out, s.id)
			assert.NotContains(t, out, s.csrf)
		}
	}
	assert.Contains(t, fmt.Sprint(s), `login: "anna"`)
}
