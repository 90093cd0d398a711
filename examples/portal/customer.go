package main

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/tickets"
)

// The customer's preference the account page sets (a product's own key).
const prefLanguage = "UserLanguage"

var languages = []string{"en", "de", "fr"}

// customerHandler is a handler for a logged-in customer: s is the session,
// u the user as the directory has them now.
type customerHandler func(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser)

func (a *app) customerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /customer/login", a.customerLoginPage)
	mux.HandleFunc("POST /customer/login", a.customerLogin)
	mux.HandleFunc("GET /customer/forgot", a.forgotPage)
	mux.HandleFunc("POST /customer/forgot", a.forgot)
	mux.HandleFunc("GET /customer/reset", a.resetPage)
	mux.HandleFunc("POST /customer/reset", a.reset)
	mux.HandleFunc("POST /customer/logout", a.customer(a.logout))
	mux.HandleFunc("GET /customer/{$}", a.customer(a.myTickets))
	mux.HandleFunc("GET /customer/tickets/new", a.customer(a.newTicketPage))
	mux.HandleFunc("POST /customer/tickets", a.customer(a.newTicket))
	mux.HandleFunc("GET /customer/tickets/{id}", a.customer(a.ticketPage))
	mux.HandleFunc("GET /customer/account", a.customer(a.accountPage))
	mux.HandleFunc("POST /customer/account", a.customer(a.saveAccount))
	mux.HandleFunc("POST /customer/password", a.customer(a.changePassword))
	mux.HandleFunc("DELETE /customer/account", a.notDeleted)
}

// customer wraps h: without a live session, or when the user is no longer
// valid or changed their password since the login, the session ends and
// the browser goes to the login page. Validity is checked on every request.
func (a *app) customer(h customerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := a.lookup(r, "customer")
		if s == nil || s.login == "" {
			a.toLogin(w, r, "")
			return
		}
		stale, err := a.stale(r.Context(), s)
		if err != nil {
			a.failErr(w, r, err)
			return
		}
		if stale {
			a.endSession(w, s)
			a.toLogin(w, r, "ended")
			return
		}
		u, err := a.dir.Get(r.Context(), s.login)
		switch {
		case errors.Is(err, backend.ErrNotFound) || err == nil && u.Valid != backend.Valid:
			a.endSession(w, s)
			a.toLogin(w, r, "ended")
			return
		case err != nil:
			a.failErr(w, r, err)
			return
		}
		h(w, r, s, u)
	}
}

// toLogin sends the browser to the login page (303 after a POST too).
func (a *app) toLogin(w http.ResponseWriter, r *http.Request, why string) {
	target := "/customer/login"
	if why != "" {
		target += "?m=" + why
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// loginMessages are the notices the login page shows for ?m=.
var loginMessages = map[string]string{
	"ended":    "Your session has ended. Please log in again.",
	"password": "Your password was changed. Please log in with the new one.",
	"reset":    "Your password was set. Please log in with the new one.",
	"out":      "You are logged out.",
}

func (a *app) customerLoginPage(w http.ResponseWriter, r *http.Request) {
	if s := a.lookup(r, "customer"); s != nil && s.login != "" {
		http.Redirect(w, r, "/customer/", http.StatusSeeOther)
		return
	}
	a.anonPage(w, r, "customer", "login", view{Title: "Log in", Flash: loginMessages[r.URL.Query().Get("m")]})
}

func (a *app) customerLogin(w http.ResponseWriter, r *http.Request) {
	s := a.lookup(r, "customer")
	if !a.parseForm(w, r, s) {
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	u, err := a.dir.Authenticate(r.Context(), login, r.PostForm.Get("password"))
	if err != nil {
		status, msg := loginRefusal(err)
		if status >= 500 {
			a.log.Warn("customer login failed", "error", err)
		}
		a.render(w, status, "login", view{Title: "Log in", Area: "customer", CSRF: s.csrf, Error: msg,
			Form: map[string]string{"login": login}})
		return
	}
	// A new session ID at login: a session fixed before login is worthless.
	a.dropSession(s)
	ns, err := a.newSession(w, r, "customer", u.Login)
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	a.setFlash(ns, "Welcome, "+u.FullName()+".")
	http.Redirect(w, r, "/customer/", http.StatusSeeOther)
}

// loginRefusal gives the login page's status and message. The lockout is
// named only after a right password (Authenticate gives an
// AccountInvalidError only then), so the page tells nobody else whether
// the account exists.
func loginRefusal(err error) (int, string) {
	var inv *backend.AccountInvalidError
	switch {
	case errors.As(err, &inv) && inv.State == backend.InvalidTemporarily:
		return http.StatusForbidden, "Your account is temporarily locked. Ask your helpdesk to unlock it."
	case errors.As(err, &inv):
		return http.StatusForbidden, "Your account is disabled."
	case errors.Is(err, backend.ErrInvalidCredentials) && !errors.Is(err, backend.ErrUnavailable):
		return http.StatusUnauthorized, "Login failed: wrong login or password."
	case errors.Is(err, backend.ErrInvalidInput):
		return http.StatusUnauthorized, "Login failed: wrong login or password."
	}
	return statusOf(err)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request, s *session, _ backend.CustomerUser) {
	if !a.parseForm(w, r, s) {
		return
	}
	a.endSession(w, s)
	a.toLogin(w, r, "out")
}

func (a *app) forgotPage(w http.ResponseWriter, r *http.Request) {
	a.anonPage(w, r, "customer", "forgot", view{Title: "Forgot password"})
}

// forgot makes a reset token and "mails" the link by logging it. The page
// is the same whether the login exists or not.
func (a *app) forgot(w http.ResponseWriter, r *http.Request) {
	s := a.lookup(r, "customer")
	if !a.parseForm(w, r, s) {
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	token, err := a.dir.RequestPasswordReset(r.Context(), login)
	switch {
	case err == nil:
		link := baseURL(r) + "/customer/reset?token=" + url.QueryEscape(token)
		// The example's stand-in for the mail to the user's address.
		a.log.Info("password-reset mail (logged instead of sent)", "login", login, "link", link)
	case errors.Is(err, backend.ErrUnavailable):
		a.failErr(w, r, err)
		return
	default:
		a.log.Info("password reset refused", "error", err)
	}
	a.render(w, http.StatusOK, "forgot", view{Title: "Forgot password", Area: "customer", CSRF: s.csrf,
		Flash: "If that login exists and is active, a link to set a new password is on its way to its email address."})
}

func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (a *app) resetPage(w http.ResponseWriter, r *http.Request) {
	a.anonPage(w, r, "customer", "reset", view{Title: "Set a new password", Form: map[string]string{"token": r.URL.Query().Get("token")}})
}

func (a *app) reset(w http.ResponseWriter, r *http.Request) {
	s := a.lookup(r, "customer")
	if !a.parseForm(w, r, s) {
		return
	}
	token := r.PostForm.Get("token")
	v := view{Title: "Set a new password", Area: "customer", CSRF: s.csrf, Form: map[string]string{"token": token}}
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("confirm") {
		v.Errs = map[string]string{"Confirm": "the two passwords differ"}
		a.render(w, http.StatusBadRequest, "reset", v)
		return
	}
	if err := a.dir.ResetPassword(r.Context(), token, pw); err != nil {
		status, msg := statusOf(err)
		v.Error, v.Errs = msg, fieldErrors(err)
		if v.Errs != nil {
			v.Error = "The new password was refused."
		}
		a.render(w, status, "reset", v)
		return
	}
	a.toLogin(w, r, "reset")
}

// ticketsData is the ticket list's data.
type ticketsData struct {
	Tickets []ticket
	Queues  []tickets.Queue // where the customer may open tickets
	Company []string
}

func (a *app) myTickets(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	scope, err := a.dir.TicketScope(r.Context(), u.Login, backend.PermRO)
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	create, err := a.dir.Queues(r.Context(), u.Login, "create")
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	a.render(w, http.StatusOK, "tickets", view{Title: "My tickets", Area: "customer", CSRF: s.csrf, Login: u.FullName(),
		Flash: a.takeFlash(s), D: ticketsData{Tickets: a.tickets.visible(scope.Allows), Queues: create, Company: scope.CustomerIDs}})
}

func (a *app) ticketPage(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.fail(w, r, http.StatusNotFound, "No such ticket.")
		return
	}
	t, ok := a.tickets.get(id)
	if !ok {
		a.fail(w, r, http.StatusNotFound, "No such ticket.")
		return
	}
	allowed, err := a.dir.CanAccessTicket(r.Context(), u.Login, t.Ticket, backend.PermRO)
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	if !allowed {
		// The same answer as for a ticket that does not exist: the page
		// tells nobody which ticket numbers are taken.
		a.fail(w, r, http.StatusNotFound, "No such ticket.")
		return
	}
	a.render(w, http.StatusOK, "ticket", view{Title: t.Title, Area: "customer", CSRF: s.csrf, Login: u.FullName(),
		Flash: a.takeFlash(s), D: t})
}

func (a *app) newTicketPage(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	a.renderNewTicket(w, r, http.StatusOK, s, u, view{})
}

func (a *app) renderNewTicket(w http.ResponseWriter, r *http.Request, status int, s *session, u backend.CustomerUser, v view) {
	qs, err := a.dir.Queues(r.Context(), u.Login, "create")
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	v.Title, v.Area, v.CSRF, v.Login, v.D = "New ticket", "customer", s.csrf, u.FullName(), qs
	a.render(w, status, "newticket", v)
}

// newTicket opens a ticket in a queue the customer may create in; any other
// queue is refused here, whatever the form offered.
func (a *app) newTicket(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	if !a.parseForm(w, r, s) {
		return
	}
	f := r.PostForm
	form := map[string]string{"queue": f.Get("queue"), "title": f.Get("title"), "body": f.Get("body")}
	errs := map[string]string{}
	title, body := strings.TrimSpace(form["title"]), strings.TrimSpace(form["body"])
	if title == "" {
		errs["title"] = "required"
	} else if len(title) > 255 {
		errs["title"] = "at most 255 characters"
	}
	if body == "" {
		errs["body"] = "required"
	}
	qs, err := a.dir.Queues(r.Context(), u.Login, "create")
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	q, ok := tickets.ByName(qs)[backend.IdentityKey(form["queue"])]
	if !ok {
		if _, known := tickets.ByName(portalQueues)[backend.IdentityKey(form["queue"])]; !known || form["queue"] == "" {
			errs["queue"] = "choose a queue"
		} else {
			a.fail(w, r, http.StatusForbidden, "You may not open tickets in that queue.")
			return
		}
	}
	if len(errs) > 0 {
		a.renderNewTicket(w, r, http.StatusBadRequest, s, u, view{Errs: errs, Form: form, Error: "The ticket was not opened: please correct the marked fields."})
		return
	}
	t := a.tickets.add(ticket{Ticket: tickets.Ticket{Title: title, Queue: q.Name, CustomerID: u.CustomerID, CustomerUser: u.Login}, Body: body})
	a.setFlash(s, "Ticket "+t.Number+" opened.")
	http.Redirect(w, r, "/customer/tickets/"+strconv.FormatInt(t.ID, 10), http.StatusSeeOther)
}

// accountData is the account page's data.
type accountData struct {
	User      backend.CustomerUser
	ChangedAt string
	Languages []string
}

func (a *app) accountPage(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	a.renderAccount(w, r, http.StatusOK, s, u, view{Flash: a.takeFlash(s)})
}

func (a *app) renderAccount(w http.ResponseWriter, r *http.Request, status int, s *session, u backend.CustomerUser, v view) {
	if v.Form == nil {
		prefs, err := a.dir.Preferences(r.Context(), u.Login)
		if err != nil {
			a.failErr(w, r, err)
			return
		}
		v.Form = map[string]string{"FirstName": u.FirstName, "LastName": u.LastName, "Phone": u.Phone, "Mobile": u.Mobile, "language": prefs[prefLanguage]}
	}
	v.Title, v.Area, v.CSRF, v.Login = "My account", "customer", s.csrf, u.FullName()
	v.D = accountData{User: u, ChangedAt: u.ChangedAt.Format(time.RFC3339Nano), Languages: languages}
	a.render(w, status, "account", v)
}

// saveAccount changes the customer's own name, phone and language. The
// record read when the form was shown must still be current.
func (a *app) saveAccount(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	if !a.parseForm(w, r, s) {
		return
	}
	f := r.PostForm
	form := map[string]string{"FirstName": f.Get("FirstName"), "LastName": f.Get("LastName"), "Phone": f.Get("Phone"), "Mobile": f.Get("Mobile"), "language": f.Get("language")}
	changed, err := time.Parse(time.RFC3339Nano, f.Get("changed_at"))
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, "The form is incomplete: reload the page.")
		return
	}
	lang := form["language"]
	if lang != "" && !slices.Contains(languages, lang) {
		a.renderAccount(w, r, http.StatusBadRequest, s, u, view{Form: form, Errs: map[string]string{"language": "unknown language"}})
		return
	}
	nu := u
	nu.FirstName, nu.LastName, nu.Phone, nu.Mobile, nu.ChangedAt = form["FirstName"], form["LastName"], form["Phone"], form["Mobile"], changed
	_, err = a.dir.Update(r.Context(), u.Login, nu)
	if err == nil {
		err = a.dir.SetPreference(r.Context(), u.Login, prefLanguage, lang)
	}
	if err != nil {
		status, msg := statusOf(err)
		v := view{Form: form, Error: msg, Errs: fieldErrors(err)}
		if status == http.StatusConflict {
			// Show the current record; the customer's input is in no field.
			v.Form, v.Error = nil, msg+" Your changes were not saved; the form shows the current values."
			if cur, gerr := a.dir.Get(r.Context(), u.Login); gerr == nil {
				u = cur
			}
		} else if v.Errs != nil {
			v.Error = "Your settings were not saved: please correct the marked fields."
		}
		a.renderAccount(w, r, status, s, u, v)
		return
	}
	a.setFlash(s, "Your settings were saved.")
	http.Redirect(w, r, "/customer/account", http.StatusSeeOther)
}

// changePassword is the customer's own password change: the old password
// is required, the policy's messages go to the new-password field, and
// every session of the user (this one too) ends.
func (a *app) changePassword(w http.ResponseWriter, r *http.Request, s *session, u backend.CustomerUser) {
	if !a.parseForm(w, r, s) {
		return
	}
	f := r.PostForm
	errs := map[string]string{}
	if f.Get("old") == "" {
		errs["old"] = "required"
	}
	if f.Get("new") != f.Get("confirm") {
		errs["confirm"] = "the two new passwords differ"
	}
	if len(errs) == 0 {
		err := a.dir.ChangePassword(r.Context(), u.Login, f.Get("old"), f.Get("new"))
		switch {
		case err == nil:
			a.endSession(w, s)
			a.toLogin(w, r, "password")
			return
		case errors.Is(err, backend.ErrInvalidCredentials) && !errors.Is(err, backend.ErrUnavailable):
			errs["old"] = "wrong password"
		case errors.Is(err, backend.ErrInvalidInput):
			for k, m := range fieldErrors(err) {
				if k == backend.FieldPassword {
					k = "new"
				}
				errs[k] = m
			}
		case errors.Is(err, backend.ErrAccountInvalid):
			// A wrong old password may have been the one that locked the account.
			a.endSession(w, s)
			a.toLogin(w, r, "ended")
			return
		default:
			a.failErr(w, r, err)
			return
		}
	}
	status := http.StatusBadRequest
	if errs["old"] == "wrong password" {
		status = http.StatusUnauthorized
	}
	a.renderAccount(w, r, status, s, u, view{Errs: errs, Error: "Your password was not changed: please correct the marked fields."})
}
