package policy

import (
	"context"
	"strconv"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// EventType says what happened to a customer user.
type EventType int

// The events. Each is reported after the change is stored.
const (
	EventAdded           EventType = iota + 1 // a user was added
	EventUpdated                              // a user's record was updated (also with the events below)
	EventRenamed                              // the login changed (OldLogin holds the old one)
	EventValidChanged                         // the valid state changed (Valid holds the new one)
	EventPasswordChanged                      // a password was set, changed or reset
	EventLoginSucceeded                       // a login succeeded
	EventLoginFailed                          // a known user gave a wrong password (Count holds the failed logins in a row)
	EventLockedOut                            // too many failed logins: the user was set invalid-temporarily
)

var eventNames = [...]string{
	EventAdded: "added", EventUpdated: "updated", EventRenamed: "renamed", EventValidChanged: "valid-changed",
	EventPasswordChanged: "password-changed", EventLoginSucceeded: "login-succeeded", EventLoginFailed: "login-failed",
	EventLockedOut: "locked-out",
}

// String gives "added", "updated", "renamed", "valid-changed",
// "password-changed", "login-succeeded", "login-failed" or "locked-out".
func (t EventType) String() string {
	if t > 0 && int(t) < len(eventNames) {
		return eventNames[t]
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one change, for an audit trail. It never carries a password or a
// token.
type Event struct {
	Type EventType
	// Login is the user's login (after a rename, the new one).
	Login string
	// OldLogin is the login before a rename.
	OldLogin string
	// Backend names the backend that holds the user.
	Backend string
	// Valid is the new state, for EventValidChanged and EventLockedOut.
	Valid backend.ValidState
	// Count is the number of failed logins in a row, for EventLoginFailed
	// and EventLockedOut.
	Count int
	// Time is when the Directory reported it (Config.Now).
	Time time.Time
}

// Observer receives the Directory's events. Observe is called synchronously,
// after the change is stored, from the goroutine that made it; it must be
// safe for concurrent use and should return quickly (hand slow work to a
// queue of its own).
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc makes a function an Observer.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

// emit reports an event to the observer, if there is one.
func (d *Directory) emit(ctx context.Context, e Event) {
	if d.cfg.Observer == nil {
		return
	}
	e.Time = d.cfg.Now()
	d.cfg.Observer.Observe(ctx, e)
}
