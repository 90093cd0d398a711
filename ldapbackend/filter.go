package ldapbackend

import (
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// Filters are built here and only here; every user-supplied value passes
// through ldap.EscapeFilter exactly once, at the point where it is put into
// the filter text.

// criteria compiles the criteria of q into filter clauses that select every
// entry that can match, and possibly more (the client checks each one, see
// search.go). none reports that q cannot match anything (a customer ID
// other than the fixed one, an email lookup without an email attribute).
func (b *Backend) criteria(q backend.Query, expr backend.SearchExpr) (clauses []string, none bool) {
	if q.Login != "" {
		if p := backend.NewPattern(strings.TrimSpace(q.Login)); p.HasWildcard() {
			clauses = append(clauses, matchClause(b.cfg.LoginAttribute, p))
		} else {
			clauses = append(clauses, identityClause(b.cfg.LoginAttribute, p.Parts[0]))
		}
	}
	if q.Email != "" {
		if b.cfg.Attributes.Email == "" {
			return nil, true
		}
		// '*' is literal in an email lookup.
		clauses = append(clauses, identityClause(b.cfg.Attributes.Email, strings.TrimSpace(q.Email)))
	}
	if q.CustomerID != "" {
		p := backend.NewPattern(strings.TrimSpace(q.CustomerID))
		if b.cfg.FixedCustomerID != "" {
			fixed := backend.NewPattern(backend.IdentityKey(strings.TrimSpace(q.CustomerID)))
			if !fixed.Match(backend.IdentityKey(b.cfg.FixedCustomerID), true, true) {
				return nil, true
			}
		} else {
			var alts []string
			for _, a := range []string{b.cfg.CustomerIDAttribute, b.cfg.CustomerIDsAttribute} {
				switch {
				case a == "":
				case p.HasWildcard():
					alts = append(alts, matchClause(a, p))
				default:
					alts = append(alts, identityClause(a, p.Parts[0]))
				}
			}
			if len(alts) == 0 {
				return nil, true
			}
			clauses = append(clauses, or(alts))
		}
	}
	// Search words give candidate clauses that cannot
	// miss a match; the words are then checked exactly on the client.
	// Excluded words are checked on the client only: the negation of a
	// broad candidate clause would drop real matches.
	for _, t := range expr.Terms {
		if t.Negate {
			continue
		}
		if c := b.wordFilter(t.Pattern.Fold()); c != "" {
			clauses = append(clauses, c)
		}
	}
	return clauses, false
}

func or(alts []string) string {
	if len(alts) == 1 {
		return alts[0]
	}
	return "(|" + strings.Join(alts, "") + ")"
}

// matchClause matches attr exactly against p (equality) or, when p has
// wildcards, anchored at both ends (a substring filter).
func matchClause(attr string, p backend.Pattern) string {
	if !p.HasWildcard() {
		return "(" + attr + "=" + ldap.EscapeFilter(p.Parts[0]) + ")"
	}
	return substring(attr, p.Parts, true, true)
}

// substring builds (attr=initial*any*final) from the literal parts of a
// pattern. anchorStart/anchorEnd tie the first/last part to the start/end of
// the value. Empty parts (from "**" or a leading/trailing '*') add nothing;
// a pattern of wildcards only is a presence filter.
func substring(attr string, parts []string, anchorStart, anchorEnd bool) string {
	var lit []string
	for _, p := range parts {
		if p != "" {
			lit = append(lit, ldap.EscapeFilter(p))
		}
	}
	if len(lit) == 0 {
		if anchorStart && anchorEnd && len(parts) == 1 {
			return "(" + attr + "=)" // never reached: an empty word is rejected earlier
		}
		return "(" + attr + "=*)"
	}
	startsLit := anchorStart && parts[0] != ""
	endsLit := anchorEnd && parts[len(parts)-1] != ""
	var sb strings.Builder
	sb.WriteString("(" + attr + "=")
	if !startsLit {
		sb.WriteString("*")
	}
	sb.WriteString(strings.Join(lit, "*"))
	if !endsLit {
		sb.WriteString("*")
	}
	sb.WriteString(")")
	return sb.String()
}
