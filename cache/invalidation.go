package cache

import "github.com/helpdeskkit/customeruser/backend"

// Invalidation says which cached results a write made stale. Config.OnInvalidate
// receives one per write through a Cache; another instance's Cache applies
// it with Invalidate. It has only exported, JSON-friendly fields, so that a
// product can send it over whatever bus it has. It holds logins and emails,
// never a password.
type Invalidation struct {
	// Logins are the logins whose Get entries are stale (any spelling of
	// an identity: the identity rule applies).
	Logins []string `json:"logins,omitempty"`
	// Emails are the emails whose email lookups are stale.
	Emails []string `json:"emails,omitempty"`
	// Searches makes every cached search result stale (every write sets it:
	// any search could contain the record).
	Searches bool `json:"searches,omitempty"`
	// All makes everything cached stale (a write that could not tell what
	// it changed, or a bulk import done past the cache).
	All bool `json:"all,omitempty"`
}

// normalize drops empty values and spellings of one identity given twice,
// keeping the first.
func (inv Invalidation) normalize() Invalidation {
	dedupe := func(vals []string) []string {
		var out []string
		seen := make(map[string]bool, len(vals))
		for _, v := range vals {
			k := backend.IdentityKey(v)
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, v)
		}
		return out
	}
	inv.Logins, inv.Emails = dedupe(inv.Logins), dedupe(inv.Emails)
	return inv
}

// Invalidate applies an invalidation, typically one another instance's
// Cache gave its OnInvalidate: the entries it names are stale from now on,
// and a lookup that is under way for one of them does not store what it
// read. It never calls OnInvalidate (an invalidation received is not sent
// on again) and never blocks on I/O.
func (c *Cache) Invalidate(inv Invalidation) { c.apply(inv.normalize()) }

func (c *Cache) apply(inv Invalidation) {
	if inv.All {
		c.s.bump(kindGet)
		c.s.bump(kindEmail)
		c.s.bump(kindSearch)
	}
	for _, l := range inv.Logins {
		c.s.invalidate(kindGet, backend.IdentityKey(l))
	}
	for _, e := range inv.Emails {
		c.s.invalidate(kindEmail, backend.IdentityKey(e))
	}
	if inv.Searches {
		c.s.bump(kindSearch)
	}
	c.s.invalidations.Add(1)
}
