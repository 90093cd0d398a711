package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/policy"
	"github.com/helpdeskkit/customeruser/tickets"
)

// adminMaxFails failed admin logins in a row lock the admin login for
// adminLockFor.
const (
	adminMaxFails = 5
	adminLockFor  = time.Minute
)

// permKeys are the keys the groups screen grants and revokes.
var permKeys = []string{backend.PermRO, groups.PermCreate, backend.PermRW}

func (a *app) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/login", a.adminLoginPage)
	mux.HandleFunc("POST /admin/login", a.adminLoginPost)
	mux.HandleFunc("POST /admin/logout", a.admin(a.adminLogout))
	mux.HandleFunc("GET /admin/{$}", a.admin(func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/users", a.admin(a.users))
	mux.HandleFunc("GET /admin/users/new", a.admin(a.newUserPage))
	mux.HandleFunc("POST /admin/users", a.admin(a.createUser))
	mux.HandleFunc("GET /admin/users/{login}", a.admin(a.editUserPage))
	mux.HandleFunc("POST /admin/users/{login}", a.admin(a.updateUser))
	mux.HandleFunc("POST /admin/users/{login}/valid", a.admin(a.setValid))
	mux.HandleFunc("DELETE /admin/users/{login}", a.notDeleted)
	mux.HandleFunc("GET /admin/groups", a.admin(a.groupsPage))
	mux.HandleFunc("POST /admin/groups/member", a.admin(a.grantMember))
	mux.HandleFunc("POST /admin/groups/company", a.admin(a.grantCompany))
	mux.HandleFunc("GET /admin/access", a.admin(a.accessPage))
}

// adminHandler is a handler for the logged-in admin.
type adminHandler func(w http.ResponseWriter, r *http.Request, s *session)

// admin wraps h: without an admin password configured the interface says how
// to enable it (503); without an admin session the browser goes to the
// admin login.
func (a *app) admin(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.adminPW == "" {
			a.adminDisabled(w, r)
			return
		}
		s := a.lookup(r, "admin")
		if s == nil || s.login == "" {
			http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
			return
		}
		h(w, r, s)
	}
}

func (a *app) adminDisabled(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, http.StatusServiceUnavailable, "The admin interface is disabled. Start the portal with -admin-password or the environment variable PORTAL_ADMIN_PASSWORD to enable it.")
}

func (a *app) adminLoginPage(w http.ResponseWriter, r *http.Request) {
	if a.adminPW == "" {
		a.adminDisabled(w, r)
		return
	}
	a.anonPage(w, r, "admin", "adminlogin", view{Title: "Admin login"})
}

func (a *app) adminLoginPost(w http.ResponseWriter, r *http.Request) {
	if a.adminPW == "" {
		a.adminDisabled(w, r)
		return
	}
	s := a.lookup(r, "admin")
	if !a.parseForm(w, r, s) {
		return
	}
	v := view{Title: "Admin login", Area: "admin", CSRF: s.csrf}
	a.mu.Lock()
	locked := time.Now().Before(a.adminLockedTill)
	a.mu.Unlock()
	if locked {
		v.Error = "Too many failed admin logins: try again in a minute."
		a.render(w, http.StatusForbidden, "adminlogin", v)
		return
	}
	// Compare hashes: constant time, whatever the lengths.
	got := sha256.Sum256([]byte(r.PostForm.Get("password")))
	want := sha256.Sum256([]byte(a.adminPW))
	ok := subtle.ConstantTimeCompare(got[:], want[:]) == 1 && r.PostForm.Get("login") == adminLogin
	a.mu.Lock()
	if ok {
		a.adminFails = 0
	} else if a.adminFails++; a.adminFails >= adminMaxFails {
		a.adminFails, a.adminLockedTill = 0, time.Now().Add(adminLockFor)
	}
	a.mu.Unlock()
	if !ok {
		a.log.Warn("admin login failed", "remote", r.RemoteAddr)
		v.Error = "Login failed."
		a.render(w, http.StatusUnauthorized, "adminlogin", v)
		return
	}
	a.dropSession(s)
	if _, err := a.newSession(w, r, "admin", adminLogin); err != nil {
		a.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func (a *app) adminLogout(w http.ResponseWriter, r *http.Request, s *session) {
	if !a.parseForm(w, r, s) {
		return
	}
	a.endSession(w, s)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// usersData is the search page's data.
type usersData struct {
	Users []backend.CustomerUser
	Next  template.URL // the next page, "" on the last
}

// users searches with the library's search language ("acme !hans",
// "huber*") and pages with the keyset cursor Query.After.
func (a *app) users(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	form := map[string]string{"q": q.Get("q"), "customer": q.Get("customer"), "invalid": q.Get("invalid")}
	query := backend.Query{Search: form["q"], CustomerID: form["customer"], IncludeInvalid: form["invalid"] != "",
		After: q.Get("after"), Limit: pageSize + 1}
	v := view{Title: "Customer Users", Area: "admin", CSRF: s.csrf, Login: adminLogin, Form: form, Flash: a.takeFlash(s)}
	users, err := a.dir.Search(r.Context(), query)
	if err != nil {
		status, msg := statusOf(err)
		if status != http.StatusBadRequest {
			a.failErr(w, r, err)
			return
		}
		v.Error = msg
		a.render(w, status, "users", v)
		return
	}
	d := usersData{Users: users}
	if len(users) > pageSize {
		d.Users = users[:pageSize]
		next := url.Values{"after": {d.Users[pageSize-1].Login}}
		for k, val := range form {
			if val != "" {
				next.Set(k, val)
			}
		}
		d.Next = template.URL("/admin/users?" + next.Encode())
	}
	v.D = d
	a.render(w, http.StatusOK, "users", v)
}

// userFields are the record's fields on the user form, in order, with the
// required ones marked.
var userFields = []struct {
	Name, Label string
	Required    bool
}{
	{backend.FieldLogin, "Login", true},
	{backend.FieldTitle, "Title", false},
	{backend.FieldFirstName, "First name", true},
	{backend.FieldLastName, "Last name", true},
	{backend.FieldEmail, "Email", true},
	{backend.FieldCustomerID, "Customer ID", true},
	{backend.FieldCustomerIDs, "Further customer IDs (comma-separated)", false},
	{backend.FieldPhone, "Phone", false},
	{backend.FieldMobile, "Mobile", false},
	{backend.FieldStreet, "Street", false},
	{backend.FieldZip, "Zip", false},
	{backend.FieldCity, "City", false},
	{backend.FieldCountry, "Country", false},
	{backend.FieldComment, "Comment", false},
}

// userData is the user form's data.
type userData struct {
	Fields    any
	New       bool
	User      backend.CustomerUser
	ChangedAt string
	Grants    []groups.Grant
	States    []backend.ValidState
}

func userForm(u backend.CustomerUser) map[string]string {
	return map[string]string{
		backend.FieldLogin: u.Login, backend.FieldTitle: u.Title, backend.FieldFirstName: u.FirstName,
		backend.FieldLastName: u.LastName, backend.FieldEmail: u.Email, backend.FieldCustomerID: u.CustomerID,
		backend.FieldCustomerIDs: strings.Join(u.CustomerIDs, ", "), backend.FieldPhone: u.Phone,
		backend.FieldMobile: u.Mobile, backend.FieldStreet: u.Street, backend.FieldZip: u.Zip,
		backend.FieldCity: u.City, backend.FieldCountry: u.Country, backend.FieldComment: u.Comment,
	}
}

// userFromForm reads the record's fields; on an edit, the fields the form
// does not show (Fax, Attributes) are kept from old.
func userFromForm(r *http.Request, old backend.CustomerUser) backend.CustomerUser {
	f := r.PostForm
	u := old.Clone()
	u.Title, u.FirstName, u.LastName, u.Email = f.Get(backend.FieldTitle), f.Get(backend.FieldFirstName), f.Get(backend.FieldLastName), f.Get(backend.FieldEmail)
	u.CustomerID, u.Phone, u.Mobile = f.Get(backend.FieldCustomerID), f.Get(backend.FieldPhone), f.Get(backend.FieldMobile)
	u.Street, u.Zip, u.City, u.Country, u.Comment = f.Get(backend.FieldStreet), f.Get(backend.FieldZip), f.Get(backend.FieldCity), f.Get(backend.FieldCountry), f.Get(backend.FieldComment)
	u.CustomerIDs = nil
	for _, id := range strings.Split(f.Get(backend.FieldCustomerIDs), ",") {
		if id = strings.TrimSpace(id); id != "" {
			u.CustomerIDs = append(u.CustomerIDs, id)
		}
	}
	return u
}

func (a *app) renderUser(w http.ResponseWriter, r *http.Request, status int, s *session, d userData, v view) {
	d.Fields, d.States = userFields, []backend.ValidState{backend.Valid, backend.Invalid, backend.InvalidTemporarily}
	if !d.New {
		grants, err := a.dir.MemberGrants(r.Context(), d.User.Login)
		if err != nil {
			a.failErr(w, r, err)
			return
		}
		d.Grants = grants
		d.ChangedAt = d.User.ChangedAt.Format(time.RFC3339Nano)
	}
	if v.Form == nil {
		v.Form = userForm(d.User)
	}
	v.Title, v.Area, v.CSRF, v.Login, v.D = "Edit customer user "+d.User.Login, "admin", s.csrf, adminLogin, d
	if d.New {
		v.Title = "Add customer user"
	}
	if v.Flash == "" {
		v.Flash = a.takeFlash(s)
	}
	a.render(w, status, "user", v)
}

func (a *app) newUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.renderUser(w, r, http.StatusOK, s, userData{New: true}, view{Form: map[string]string{}})
}

// createUser adds a user; every field error (the record's and the password
// policy's) is shown at once.
func (a *app) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	if !a.parseForm(w, r, s) {
		return
	}
	u := userFromForm(r, backend.CustomerUser{})
	u.Login = r.PostForm.Get(backend.FieldLogin)
	pw := r.PostForm.Get(backend.FieldPassword)
	form := userForm(u)
	form[backend.FieldLogin] = u.Login
	fail := func(err error) {
		status, msg := statusOf(err)
		errs := fieldErrors(err)
		if errs != nil {
			msg = "The customer user was not added: please correct the marked fields."
		}
		if errors.Is(err, backend.ErrDuplicateLogin) {
			errs = map[string]string{backend.FieldLogin: "taken"}
		} else if errors.Is(err, backend.ErrDuplicateEmail) {
			errs = map[string]string{backend.FieldEmail: "belongs to another customer user"}
		}
		a.renderUser(w, r, status, s, userData{New: true}, view{Form: form, Errs: errs, Error: msg})
	}
	// The Directory's Add lets a backend make up a missing login; the
	// portal wants one, so the record is checked with the login required,
	// together with the password, to show every error at once.
	var errs backend.ValidationErrors
	if _, err := backend.NormalizeUser(u, true); err != nil {
		if !errors.As(err, &errs) {
			fail(err)
			return
		}
	}
	if pw == "" {
		errs = append(errs, &backend.ValidationError{Field: backend.FieldPassword, Reason: "required"})
	} else if err := a.policy.Violations(u.Login, pw); err != nil {
		var pe backend.ValidationErrors
		if errors.As(err, &pe) {
			errs = append(errs, pe...)
		}
	}
	if len(errs) > 0 {
		fail(errs)
		return
	}
	added, err := a.dir.Add(r.Context(), u, pw)
	if err != nil {
		fail(err)
		return
	}
	a.setFlash(s, "Customer user "+added.Login+" added.")
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(added.Login), http.StatusSeeOther)
}

func (a *app) editUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	u, err := a.dir.Get(r.Context(), r.PathValue("login"))
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	a.renderUser(w, r, http.StatusOK, s, userData{User: u}, view{})
}

// updateUser saves the form if the record is unchanged since the form was
// shown (ChangedAt is the optimistic check); a stale form gets 409 and the
// current record. A new password, when given, is set too.
func (a *app) updateUser(w http.ResponseWriter, r *http.Request, s *session) {
	if !a.parseForm(w, r, s) {
		return
	}
	cur, err := a.dir.Get(r.Context(), r.PathValue("login"))
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	changed, err := time.Parse(time.RFC3339Nano, r.PostForm.Get("changed_at"))
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, "The form is incomplete: reload the page.")
		return
	}
	u := userFromForm(r, cur)
	u.ChangedAt = changed
	form := userForm(u)
	pw := r.PostForm.Get(backend.FieldPassword)
	if pw != "" {
		if err := a.policy.Violations(u.Login, pw); err != nil {
			a.renderUser(w, r, http.StatusBadRequest, s, userData{User: cur}, view{Form: form, Errs: fieldErrors(err),
				Error: "Nothing was saved: please correct the marked fields."})
			return
		}
	}
	saved, err := a.dir.Update(r.Context(), cur.Login, u)
	if err != nil {
		status, msg := statusOf(err)
		v := view{Form: form, Errs: fieldErrors(err), Error: msg}
		if status == http.StatusConflict && errors.Is(err, backend.ErrConflict) {
			v.Form, v.Error = nil, msg+" Nothing was saved; the form now shows the current record: make your change again."
		} else if v.Errs != nil {
			v.Error = "Nothing was saved: please correct the marked fields."
		}
		a.renderUser(w, r, status, s, userData{User: cur}, v)
		return
	}
	if pw != "" {
		if err := a.dir.SetPassword(r.Context(), saved.Login, pw); err != nil {
			a.failErr(w, r, err)
			return
		}
	}
	a.setFlash(s, "Customer user "+saved.Login+" saved.")
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(saved.Login), http.StatusSeeOther)
}

// setValid sets valid, invalid or invalid-temporarily: customer users are
// deactivated, never deleted. Their live sessions end at their next click.
func (a *app) setValid(w http.ResponseWriter, r *http.Request, s *session) {
	if !a.parseForm(w, r, s) {
		return
	}
	state, err := backend.ParseValidState(r.PostForm.Get("state"))
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, "Unknown state: want valid, invalid or invalid-temporarily.")
		return
	}
	login := r.PathValue("login")
	if err := a.dir.SetValid(r.Context(), login, state); err != nil {
		a.failErr(w, r, err)
		return
	}
	a.setFlash(s, "Customer user "+login+" is now "+state.String()+".")
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(login), http.StatusSeeOther)
}

// groupRow is one group on the groups screen with its stored rows.
type groupRow struct {
	Group  groups.Group
	Grants []groups.Grant
	Queues []string
}

// groupsData is the groups screen's data.
type groupsData struct {
	Config  groups.Config
	Groups  []groupRow
	Keys    []string
	Queues  []tickets.Queue
	Context []string
}

func (a *app) groupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.renderGroups(w, r, http.StatusOK, s, view{Flash: a.takeFlash(s)})
}

func (a *app) renderGroups(w http.ResponseWriter, r *http.Request, status int, s *session, v view) {
	gs, err := a.store.Groups(r.Context())
	if err != nil {
		a.failErr(w, r, err)
		return
	}
	d := groupsData{Config: a.gcfg, Keys: permKeys, Queues: portalQueues, Context: []string{groups.ContextSame, groups.ContextOther}}
	for _, g := range gs {
		grants, err := a.store.GroupGrants(r.Context(), g.Name)
		if err != nil {
			a.failErr(w, r, err)
			return
		}
		row := groupRow{Group: g, Grants: grants}
		for _, q := range portalQueues {
			if backend.IdentityKey(q.Group) == backend.IdentityKey(g.Name) {
				row.Queues = append(row.Queues, q.Name)
			}
		}
		d.Groups = append(d.Groups, row)
	}
	v.Title, v.Area, v.CSRF, v.Login, v.D = "Customer Users ↔ Groups", "admin", s.csrf, adminLogin, d
	a.render(w, status, "groups", v)
}

// permsFromForm gives every key of permKeys: checked true, unchecked
// false, so that the form grants and revokes in one go.
func permsFromForm(r *http.Request) map[string]bool {
	perms := map[string]bool{}
	for _, k := range permKeys {
		perms[k] = r.PostForm.Get("perm_"+k) != ""
	}
	return perms
}

// grantMember sets a customer user's own keys on a group.
func (a *app) grantMember(w http.ResponseWriter, r *http.Request, s *session) {
	if !a.parseForm(w, r, s) {
		return
	}
	login, group := strings.TrimSpace(r.PostForm.Get("login")), r.PostForm.Get("group")
	perms := permsFromForm(r)
	// OTRS's GroupMemberAdd semantics: "rw" true stores "rw" alone, so the
	// other keys are only changed when rw is not granted.
	if perms[backend.PermRW] {
		perms = map[string]bool{backend.PermRW: true}
	}
	if err := a.dir.SetMemberPermissions(r.Context(), group, login, perms); err != nil {
		a.grantFailed(w, r, s, err)
		return
	}
	a.setFlash(s, "Permissions of "+login+" on "+group+" saved.")
	http.Redirect(w, r, "/admin/groups", http.StatusSeeOther)
}

// grantCompany sets a customer ID's keys on a group in a context.
func (a *app) grantCompany(w http.ResponseWriter, r *http.Request, s *session) {
	if !a.parseForm(w, r, s) {
		return
	}
	company, group, ctxName := strings.TrimSpace(r.PostForm.Get("customer_id")), r.PostForm.Get("group"), r.PostForm.Get("context")
	if company == "" {
		a.renderGroups(w, r, http.StatusBadRequest, s, view{Error: "Nothing was saved: the customer ID is required."})
		return
	}
	if err := a.dir.SetCompanyPermissions(r.Context(), group, company, ctxName, permsFromForm(r)); err != nil {
		a.grantFailed(w, r, s, err)
		return
	}
	a.setFlash(s, "Permissions of customer "+company+" on "+group+" ("+ctxName+") saved.")
	http.Redirect(w, r, "/admin/groups", http.StatusSeeOther)
}

func (a *app) grantFailed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		a.failErr(w, r, err)
		return
	}
	a.renderGroups(w, r, status, s, view{Error: "Nothing was saved. " + msg})
}

// accessRow is one queue's answer on the access page.
type accessRow struct {
	Queue        string
	Create, Read policy.Access
}

// accessData is the access page's data.
type accessData struct {
	User   *backend.CustomerUser
	Rows   []accessRow
	Queues []tickets.Queue
	Scope  *policy.TicketScope
}

// accessPage answers "why can't this customer see queue Q?" with
// ExplainAccess, for one queue or all of them.
func (a *app) accessPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	form := map[string]string{"login": strings.TrimSpace(q.Get("login")), "queue": q.Get("queue")}
	v := view{Title: "Why can't this customer see a queue?", Area: "admin", CSRF: s.csrf, Login: adminLogin, Form: form}
	d := accessData{Queues: portalQueues}
	if form["login"] != "" {
		u, err := a.dir.Get(r.Context(), form["login"])
		if err != nil {
			status, msg := statusOf(err)
			if status >= 500 {
				a.failErr(w, r, err)
				return
			}
			v.Error, v.D = msg, d
			a.render(w, status, "access", v)
			return
		}
		d.User = &u
		for _, qu := range portalQueues {
			if form["queue"] != "" && backend.IdentityKey(form["queue"]) != backend.IdentityKey(qu.Name) {
				continue
			}
			row := accessRow{Queue: qu.Name}
			if row.Create, err = a.dir.ExplainAccess(r.Context(), u.Login, qu.Name, groups.PermCreate); err == nil {
				row.Read, err = a.dir.ExplainAccess(r.Context(), u.Login, qu.Name, backend.PermRO)
			}
			if err != nil {
				a.failErr(w, r, err)
				return
			}
			d.Rows = append(d.Rows, row)
		}
		scope, err := a.dir.TicketScope(r.Context(), u.Login, backend.PermRO)
		if err != nil {
			a.failErr(w, r, err)
			return
		}
		d.Scope = &scope
	}
	v.D = d
	a.render(w, http.StatusOK, "access", v)
}
