package backend

import (
	"context"
	"fmt"
	"iter"
)

// All lists every user matching q, in result order (CompareLogins), however
// many there are, by keyset paging: it searches one page of q.Limit users
// (0: MaxLimit) at a time and continues each page with Query.After set to
// the last login of the one before, starting after q.After. Only one page
// is held at a time, so listing a million users takes the memory of one
// page.
//
// Paging stops at the first page shorter than the page size. An error (a
// failed search, a backend whose page does not advance) is yielded once,
// with a zero CustomerUser, and ends the sequence; so does ctx being done.
// Users changed while All runs may be seen in their old or new state, once
// (a user renamed to a login not yet reached may be seen twice, under both
// logins, and one renamed backwards not at all), as with any keyset paging.
//
//	for u, err := range backend.All(ctx, b, backend.Query{IncludeInvalid: true}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(u.Login)
//	}
func All(ctx context.Context, b CustomerUserBackend, q Query) iter.Seq2[CustomerUser, error] {
	return func(yield func(CustomerUser, error) bool) {
		if q.Limit == 0 {
			q.Limit = MaxLimit
		}
		for {
			if err := ctx.Err(); err != nil {
				yield(CustomerUser{}, fmt.Errorf("customeruser all: %w", err))
				return
			}
			page, err := b.Search(ctx, q)
			if err != nil {
				yield(CustomerUser{}, err)
				return
			}
			for i, u := range page {
				// A page must continue the keyset: otherwise a faulty
				// backend would make the listing loop for ever.
				if q.After != "" && i == 0 && CompareLogins(u.Login, q.After) <= 0 {
					yield(CustomerUser{}, fmt.Errorf("customeruser all: backend %s: the page after %q does not advance (it starts at %q): %w",
						b.Name(), q.After, u.Login, ErrUnavailable))
					return
				}
				if !yield(u, nil) {
					return
				}
			}
			if len(page) < q.Limit {
				return
			}
			q.After = page[len(page)-1].Login
		}
	}
}
