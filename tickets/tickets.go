package tickets

import (
	"context"
	"slices"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// Queue is an OTRS queue: tickets live in it, and its group decides who
// may use it. Only Valid queues are offered to customers.
type Queue struct {
	ID    int64
	Name  string
	Group string // the name of the queue's group; "" grants nothing
	Valid backend.ValidState
}

// Ticket is what the customer ticket permission of OTRS looks at.
type Ticket struct {
	ID     int64
	Number string // the ticket number (tn) shown to people
	Title  string
	// Queue is the name of the ticket's queue, compared with Queue.Name by
	// backend.IdentityKey.
	Queue string
	// CustomerID is the ticket's company; compared with the user's
	// customer IDs by backend.IdentityKey.
	CustomerID string
	// CustomerUser is the login of the ticket's customer user, compared by
	// backend.IdentityKey.
	CustomerUser string
}

// QueueSource gives the queues. Implementations are safe for concurrent
// use and return the queues ordered by name (IdentityKey), valid or not.
type QueueSource interface {
	Queues(ctx context.Context) ([]Queue, error)
}

// Versioned is implemented by a QueueSource that can tell cheaply whether
// its queues changed. QueuesVersion returns a number that differs whenever
// Queues would return something else (a source whose queues never change
// returns a constant). policy.Directory keeps its index of the queues
// between calls for a Versioned source and rebuilds it when the version
// changes; a source that is not Versioned is read on every call.
type Versioned interface {
	QueuesVersion(ctx context.Context) (uint64, error)
}

// StaticSource is a QueueSource over a fixed list (see Static). Its queues
// never change, so it is Versioned with a constant version.
type StaticSource struct {
	queues []Queue
}

var (
	_ QueueSource = (*StaticSource)(nil)
	_ Versioned   = (*StaticSource)(nil)
)

// QueuesVersion implements Versioned: a StaticSource never changes.
func (s *StaticSource) QueuesVersion(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, backend.OpError("tickets static", "queues", err)
	}
	return 1, nil
}

// Static returns a QueueSource holding a copy of queues, ordered by name.
// A queue with zero Valid is Valid.
func Static(queues ...Queue) *StaticSource {
	qs := slices.Clone(queues)
	for i := range qs {
		if qs[i].Valid == 0 {
			qs[i].Valid = backend.Valid
		}
	}
	SortQueues(qs)
	return &StaticSource{queues: qs}
}

// Queues implements QueueSource; the result is the caller's to change.
func (s *StaticSource) Queues(ctx context.Context) ([]Queue, error) {
	if err := ctx.Err(); err != nil {
		return nil, backend.OpError("tickets static", "queues", err)
	}
	return slices.Clone(s.queues), nil
}

// SortQueues orders queues by name (IdentityKey), then ID.
func SortQueues(qs []Queue) {
	slices.SortStableFunc(qs, func(a, b Queue) int {
		if c := strings.Compare(backend.IdentityKey(a.Name), backend.IdentityKey(b.Name)); c != 0 {
			return c
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}

// ByName indexes queues by backend.IdentityKey of their names (the first of
// equal names wins), for matching Ticket.Queue.
func ByName(qs []Queue) map[string]Queue {
	m := make(map[string]Queue, len(qs))
	for _, q := range qs {
		k := backend.IdentityKey(q.Name)
		if _, dup := m[k]; !dup {
			m[k] = q
		}
	}
	return m
}
