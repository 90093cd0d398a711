package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/tickets"
)

// Queue access and ticket visibility, computed from Config.Groups (which
// groups a customer is in, with which keys) and Config.Queues (which queue
// belongs to which group), with the OTRS rules:
//
//   - a queue is usable for key K (create: open a ticket in it; ro: read
//     it) iff it is valid and the customer holds K or rw on its group;
//   - a ticket is visible for K iff its queue's group gives K AND (its
//     customer user is the login, by the identity rule, OR its customer ID
//     is one of the user's, unless Config.DisableCompanyTicketAccess, OR one
//     of the user's customer IDs holds K on that group in context "other");
//   - a customer user who is not valid has no access at all.
//
// Config.Groups may be any backend.GroupResolver; a *groups.Resolver also
// gives the "other"-context grants, ExplainAccess's reasons, and the store
// that renames and grants go to.

// otherGranter is what a resolver offers for the "other" context.
type otherGranter interface {
	OtherGrants(ctx context.Context, u backend.CustomerUser) ([]groups.Grant, error)
}

// explainer is what a resolver offers for ExplainAccess.
type explainer interface {
	Explain(ctx context.Context, u backend.CustomerUser, group, key string) (groups.Explanation, error)
}

// storer gives the resolver's store, for grants and renames.
type storer interface{ Store() groups.Store }

// ErrNoGroups is returned by the access methods when the Directory has no
// Config.Groups or no Config.Queues.
var ErrNoGroups = errors.New("the Directory has no group resolver or queue source configured")

// checkPermKey refuses an empty or malformed permission key.
func checkPermKey(key string) error {
	if strings.TrimSpace(key) == "" {
		return &backend.ValidationError{Field: groups.FieldKey, Reason: "required"}
	}
	return backend.CheckText(groups.FieldKey, key, groups.MaxKeyLen, true)
}

// TicketScope is the ticket rule for one customer and one key as data, so
// that a product with many tickets builds its own query from it instead of
// filtering a slice (Allows is the same rule for one ticket; SQL gives a
// ready condition for the OTRS ticket table).
type TicketScope struct {
	// Login is the customer's login (tickets of this customer user).
	Login string
	// Key is the permission asked for.
	Key string
	// Queues are the valid queues whose group gives Key: no ticket outside
	// them is visible.
	Queues []tickets.Queue
	// CustomerIDs are the user's customer IDs, whose tickets are visible in
	// Queues; empty when company ticket access is disabled.
	CustomerIDs []string
	// OtherQueues are the queues of Queues whose group one of the user's
	// customer IDs holds Key on in context "other": every ticket in them is
	// visible, whatever its customer.
	OtherQueues []tickets.Queue

	// Identity-key sets of the above, built by index (Allows builds them
	// itself on a TicketScope made by hand).
	queueSet, otherSet, idSet map[string]bool
	loginKey                  string
}

// index builds the lookup sets Allows uses.
func (s *TicketScope) index() {
	s.queueSet = make(map[string]bool, len(s.Queues))
	for _, q := range s.Queues {
		s.queueSet[backend.IdentityKey(q.Name)] = true
	}
	s.otherSet = make(map[string]bool, len(s.OtherQueues))
	for _, q := range s.OtherQueues {
		s.otherSet[backend.IdentityKey(q.Name)] = true
	}
	s.idSet = make(map[string]bool, len(s.CustomerIDs))
	for _, id := range s.CustomerIDs {
		s.idSet[backend.IdentityKey(id)] = true
	}
	s.loginKey = backend.IdentityKey(s.Login)
}

// Empty reports whether no ticket at all is visible.
func (s TicketScope) Empty() bool { return len(s.Queues) == 0 }

// Allows applies the rule to one ticket (its Queue named as in Queues).
func (s TicketScope) Allows(t tickets.Ticket) bool {
	if s.queueSet == nil {
		s.index()
	}
	qk := backend.IdentityKey(t.Queue)
	if !s.queueSet[qk] {
		return false
	}
	if t.CustomerUser != "" && backend.IdentityKey(t.CustomerUser) == s.loginKey {
		return true
	}
	if t.CustomerID != "" && s.idSet[backend.IdentityKey(t.CustomerID)] {
		return true
	}
	return s.otherSet[qk]
}

// SQL gives a condition on the OTRS ticket table (queue_id, customer_user_id,
// customer_id) selecting the tickets of the scope, with its arguments, for
// a query of the product's own: "SELECT ... FROM ticket WHERE " + cond. The
// comparisons use the columns' collation, which on an OTRS table is looser
// than the identity rule: the condition selects a superset, so re-check
// each row with Allows (or compare in Go) when the exact rule matters. With
// nothing visible it is "1 = 0".
func (s TicketScope) SQL() (string, []any) {
	if s.Empty() {
		return "1 = 0", nil
	}
	var args []any
	ids := func(qs []tickets.Queue) string {
		ph := make([]string, len(qs))
		for i, q := range qs {
			ph[i] = "?"
			args = append(args, q.ID)
		}
		return strings.Join(ph, ", ")
	}
	cond := "(queue_id IN (" + ids(s.Queues) + ") AND (customer_user_id = ?"
	args = append(args, s.Login)
	if len(s.CustomerIDs) > 0 {
		ph := make([]string, len(s.CustomerIDs))
		for i, id := range s.CustomerIDs {
			ph[i] = "?"
			args = append(args, id)
		}
		cond += " OR customer_id IN (" + strings.Join(ph, ", ") + ")"
	}
	cond += "))"
	if len(s.OtherQueues) > 0 {
		cond += " OR queue_id IN (" + ids(s.OtherQueues) + ")"
	}
	return "(" + cond + ")", args
}

// access holds what the rules need for one customer and key.
type access struct {
	user    backend.CustomerUser
	qi      *queueIndex   // the queues of the source
	granted []*queueGroup // the queue groups that give the key (may repeat)
}

// grants reports whether the group with this identity key gives the key.
func (a access) grants(groupKey string) bool {
	for _, g := range a.granted {
		if g.key == groupKey {
			return true
		}
	}
	return false
}

// queueIndex is the queues of Config.Queues with what access needs of them
// computed once: per group (by the name the queues spell it and by its
// identity key) the positions of its valid queues. It is read-only once
// built, so calls share it; for a tickets.Versioned source the Directory
// keeps it between calls until the source's version changes.
type queueIndex struct {
	version uint64
	queues  []tickets.Queue
	byName  map[string]*queueGroup // group name as the queues spell it
	byKey   map[string]*queueGroup // group identity key
}

// queueGroup is one group of the queues: its identity key and the
// positions of its valid queues.
type queueGroup struct {
	key   string
	valid []int32
}

func newQueueIndex(qs []tickets.Queue, version uint64) *queueIndex {
	qi := &queueIndex{version: version, queues: qs, byName: map[string]*queueGroup{}, byKey: map[string]*queueGroup{}}
	for i, q := range qs {
		if q.Group == "" {
			continue
		}
		g := qi.group(q.Group)
		if g == nil {
			k := backend.IdentityKey(q.Group)
			if g = qi.byKey[k]; g == nil {
				g = &queueGroup{key: k}
				qi.byKey[k] = g
			}
			qi.byName[q.Group] = g
		}
		if q.Valid == backend.Valid {
			g.valid = append(g.valid, int32(i))
		}
	}
	return qi
}

// group finds the queue group of a group name (any spelling of its
// identity), or nil when no queue is in it.
func (qi *queueIndex) group(name string) *queueGroup {
	if g, ok := qi.byName[name]; ok {
		return g
	}
	return qi.byKey[backend.IdentityKey(name)]
}

// queueIndex returns the index of the current queues: the kept one when the
// source is tickets.Versioned and its version has not changed, else a new
// one (kept for the next call when the source is Versioned).
func (d *Directory) queueIndex(ctx context.Context) (*queueIndex, error) {
	vs, versioned := d.cfg.Queues.(tickets.Versioned)
	var version uint64
	if versioned {
		v, err := vs.QueuesVersion(ctx)
		if err != nil {
			return nil, err
		}
		if cur := d.queues.Load(); cur != nil && cur.version == v {
			return cur, nil
		}
		version = v
	}
	// A change between QueuesVersion and Queues stores newer queues under
	// the older version: the next call sees a new version and rebuilds.
	qs, err := d.cfg.Queues.Queues(ctx)
	if err != nil {
		return nil, err
	}
	qi := newQueueIndex(qs, version)
	if versioned {
		d.queues.Store(qi)
	}
	return qi, nil
}

// loadAccess reads the user (never served for an invalid one), the groups
// that give key, and the queues.
func (d *Directory) loadAccess(ctx context.Context, op, login, key string) (access, error) {
	if d.cfg.Groups == nil || d.cfg.Queues == nil {
		return access{}, d.opErr(op, ErrNoGroups)
	}
	if err := checkPermKey(key); err != nil {
		return access{}, d.opErr(op, err)
	}
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return access{}, d.opErr(op, err)
	}
	f, err := d.lookup(ctx, op, l)
	if err != nil {
		return access{}, d.opErr(op, err)
	}
	a := access{user: f.user}
	if f.user.Valid != backend.Valid {
		return a, nil // an invalid customer user has no access
	}
	if a.qi, err = d.queueIndex(ctx); err != nil {
		return access{}, d.opErr(op, err)
	}
	perms, err := d.cfg.Groups.Groups(ctx, f.user)
	if err != nil {
		return access{}, d.opErr(op, err)
	}
	a.granted = make([]*queueGroup, 0, len(perms))
	for _, p := range perms {
		if p.Satisfies(key) {
			if g := a.qi.group(p.Group); g != nil {
				a.granted = append(a.granted, g)
			}
		}
	}
	return a, nil
}

// usable lists the valid queues whose group gives the key, in the source's
// order.
func (a access) usable() []tickets.Queue {
	if len(a.granted) == 0 {
		return nil
	}
	mark := make([]bool, len(a.qi.queues))
	n := 0
	for _, g := range a.granted {
		for _, i := range g.valid {
			if !mark[i] {
				mark[i] = true
				n++
			}
		}
	}
	out := make([]tickets.Queue, 0, n)
	for i, ok := range mark {
		if ok {
			out = append(out, a.qi.queues[i])
		}
	}
	return out
}

// Queues lists the valid queues the customer may use with key: "create"
// gives the queues of the new-ticket form, "ro" the ones whose tickets may
// be read. A customer user who is not valid gets none.
func (d *Directory) Queues(ctx context.Context, login, key string) ([]tickets.Queue, error) {
	a, err := d.loadAccess(ctx, "queues", login, key)
	if err != nil {
		return nil, err
	}
	return a.usable(), nil
}

// TicketScope gives the ticket rule for the customer and key as data (see
// TicketScope).
func (d *Directory) TicketScope(ctx context.Context, login, key string) (TicketScope, error) {
	const op = "ticket-scope"
	a, err := d.loadAccess(ctx, op, login, key)
	if err != nil {
		return TicketScope{}, err
	}
	s := TicketScope{Login: a.user.Login, Key: key, Queues: a.usable()}
	if len(s.Queues) == 0 || d.cfg.DisableCompanyTicketAccess {
		s.index()
		return s, nil
	}
	s.CustomerIDs = a.user.AllCustomerIDs()
	og, ok := d.cfg.Groups.(otherGranter)
	if !ok {
		s.index()
		return s, nil
	}
	others, err := og.OtherGrants(ctx, a.user)
	if err != nil {
		return TicketScope{}, d.opErr(op, err)
	}
	other := map[string]bool{}
	for _, g := range others {
		if (backend.GroupPermission{Permission: g.Key}).Satisfies(key) {
			other[backend.IdentityKey(g.Group)] = true
		}
	}
	for _, q := range s.Queues {
		if other[backend.IdentityKey(q.Group)] {
			s.OtherQueues = append(s.OtherQueues, q)
		}
	}
	s.index()
	return s, nil
}

// CanAccessTicket applies the ticket rule (see TicketScope) to one ticket.
func (d *Directory) CanAccessTicket(ctx context.Context, login string, t tickets.Ticket, key string) (bool, error) {
	s, err := d.TicketScope(ctx, login, key)
	if err != nil {
		return false, err
	}
	return s.Allows(t), nil
}

// VisibleTickets keeps the tickets the customer may see with key, in their order.
func (d *Directory) VisibleTickets(ctx context.Context, login string, ts []tickets.Ticket, key string) ([]tickets.Ticket, error) {
	s, err := d.TicketScope(ctx, login, key)
	if err != nil {
		return nil, err
	}
	var out []tickets.Ticket
	for _, t := range ts {
		if s.Allows(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// AccessReason names why ExplainAccess decided as it did.
type AccessReason string

// The reasons of ExplainAccess, beyond the group rules of groups.Rule.
const (
	ReasonUserInvalid  AccessReason = "user invalid"
	ReasonUnknownQueue AccessReason = "unknown queue"
	ReasonQueueInvalid AccessReason = "queue invalid"
	ReasonNoGroup      AccessReason = "queue has no group"
)

// Access is ExplainAccess's answer: whether the customer may use the queue
// with the key, the reason as data, and as a sentence (String).
type Access struct {
	Granted bool
	Login   string
	Queue   string
	Key     string
	// Reason is one of the Reason constants, or the groups.Rule that decided.
	Reason AccessReason
	// Group is the decision of the group rules, when they were reached.
	Group *groups.Explanation
}

// String gives the answer as a sentence.
func (a Access) String() string {
	who := fmt.Sprintf("%q may", a.Login)
	if !a.Granted {
		who = fmt.Sprintf("%q may not", a.Login)
	}
	head := fmt.Sprintf("%s use queue %q with %q: ", who, a.Queue, a.Key)
	switch a.Reason {
	case ReasonUserInvalid:
		return head + "the customer user is not valid"
	case ReasonUnknownQueue:
		return head + "there is no such queue"
	case ReasonQueueInvalid:
		return head + "the queue is not valid"
	case ReasonNoGroup:
		return head + "the queue belongs to no group"
	}
	if a.Group != nil {
		return head + a.Group.String()
	}
	return head + string(a.Reason)
}

// ExplainAccess answers "why can (or can't) this customer use queue Q with
// key K?": user invalid, unknown or invalid queue, or the group rule that
// decided (own membership, company membership, always-group, support off,
// group invalid, no grant). The group reasons need a *groups.Resolver (any
// resolver with Explain); with another resolver the answer says only
// whether a membership gives the key.
func (d *Directory) ExplainAccess(ctx context.Context, login, queue, key string) (Access, error) {
	const op = "explain-access"
	a, err := d.loadAccess(ctx, op, login, key)
	if err != nil {
		return Access{}, err
	}
	out := Access{Login: a.user.Login, Queue: queue, Key: key}
	if a.user.Valid != backend.Valid {
		out.Reason = ReasonUserInvalid
		return out, nil
	}
	q, ok := tickets.ByName(a.qi.queues)[backend.IdentityKey(queue)]
	switch {
	case !ok:
		out.Reason = ReasonUnknownQueue
		return out, nil
	case q.Valid != backend.Valid:
		out.Queue, out.Reason = q.Name, ReasonQueueInvalid
		return out, nil
	case q.Group == "":
		out.Queue, out.Reason = q.Name, ReasonNoGroup
		return out, nil
	}
	out.Queue = q.Name
	if ex, ok := d.cfg.Groups.(explainer); ok {
		e, err := ex.Explain(ctx, a.user, q.Group, key)
		if err != nil {
			return Access{}, d.opErr(op, err)
		}
		out.Granted, out.Reason, out.Group = e.Granted, AccessReason(e.Rule), &e
		return out, nil
	}
	out.Granted = a.grants(backend.IdentityKey(q.Group))
	out.Reason = AccessReason(groups.RuleNoGrant)
	if out.Granted {
		out.Reason = "membership"
	}
	return out, nil
}

// groupStore gives the store behind Config.Groups, or an error.
func (d *Directory) groupStore(op string) (groups.Store, error) {
	s, ok := d.cfg.Groups.(storer)
	if !ok {
		return nil, d.opErr(op, fmt.Errorf("%w (memberships need a *groups.Resolver)", ErrNoGroups))
	}
	return s.Store(), nil
}

// SetMemberPermissions grants and revokes a customer user's own permissions
// on a group, as OTRS GroupMemberAdd does (see groups.Store); the user must
// exist.
func (d *Directory) SetMemberPermissions(ctx context.Context, group, login string, perms map[string]bool) error {
	const op = "set-member-permissions"
	st, err := d.groupStore(op)
	if err != nil {
		return err
	}
	u, err := d.Get(ctx, login)
	if err != nil {
		return err
	}
	if err := st.SetMemberPermissions(ctx, group, u.Login, perms); err != nil {
		return d.opErr(op, err)
	}
	return nil
}

// SetCompanyPermissions replaces a customer ID's permissions on a group in
// a context ("same" or "other"), as OTRS GroupCustomerAdd does.
func (d *Directory) SetCompanyPermissions(ctx context.Context, group, customerID, context string, perms map[string]bool) error {
	const op = "set-company-permissions"
	st, err := d.groupStore(op)
	if err != nil {
		return err
	}
	if err := st.SetCompanyPermissions(ctx, group, customerID, context, perms); err != nil {
		return d.opErr(op, err)
	}
	return nil
}

// MemberGrants lists a customer user's own stored permission rows.
func (d *Directory) MemberGrants(ctx context.Context, login string) ([]groups.Grant, error) {
	const op = "member-grants"
	st, err := d.groupStore(op)
	if err != nil {
		return nil, err
	}
	gs, err := st.UserGrants(ctx, login)
	if err != nil {
		return nil, d.opErr(op, err)
	}
	return gs, nil
}

// renameMemberships moves the group rows of a renamed user (OTRS forgets
// to); without a group store there is nothing to move.
func (d *Directory) renameMemberships(ctx context.Context, oldLogin, newLogin string) error {
	s, ok := d.cfg.Groups.(storer)
	if !ok {
		return nil
	}
	return s.Store().RenameMember(ctx, oldLogin, newLogin)
}
