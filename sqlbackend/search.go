package sqlbackend

import (
	"context"
	"fmt"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// likeEscaper escapes the LIKE metacharacters of user input, so that '%',
// '_' and '\' match themselves (the ESCAPE character is '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likePattern turns a pattern into a LIKE pattern: its '*' wildcards become
// '%', everything else is literal. anchorStart and anchorEnd as in
// backend.Pattern.Match.
func likePattern(p backend.Pattern, anchorStart, anchorEnd bool) string {
	var sb strings.Builder
	if !anchorStart {
		sb.WriteByte('%')
	}
	for i, part := range p.Parts {
		if i > 0 {
			sb.WriteByte('%')
		}
		sb.WriteString(likeEscaper.Replace(part))
	}
	if !anchorEnd {
		sb.WriteByte('%')
	}
	return sb.String()
}

// where is a WHERE clause under construction: ANDed conditions and their
// arguments. User input only ever goes into args.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// compile turns a query into a WHERE clause. none is true when the query
// cannot match anything (a negated "*"), so no SQL needs to run.
func (b *Backend) compile(q backend.Query, expr backend.SearchExpr) (w where, none bool) {
	if !q.IncludeInvalid {
		w.add(b.validOnly)
	}
	for _, t := range expr.Terms {
		if t.Pattern.MatchAll() {
			if t.Negate {
				return w, true
			}
			continue
		}
		pat := likePattern(t.Pattern, b.cfg.MatchPrefix, false)
		parts := make([]string, len(b.searchLike))
		for i, like := range b.searchLike {
			if t.Negate {
				// A NULL column matches no word, so it passes the exclusion.
				parts[i] = fmt.Sprintf("(%s OR NOT (%s))", b.searchNull[i], like)
			} else {
				parts[i] = like
			}
			w.args = append(w.args, pat)
		}
		if t.Negate {
			w.conds = append(w.conds, "("+strings.Join(parts, " AND ")+")")
		} else {
			w.conds = append(w.conds, "("+strings.Join(parts, " OR ")+")")
		}
	}
	if q.Login != "" {
		if p := backend.NewPattern(strings.TrimSpace(q.Login)); p.HasWildcard() {
			if !p.MatchAll() {
				w.add(b.loginLike, likePattern(p, true, true))
			}
		} else {
			w.add(b.loginEq, strings.TrimSpace(q.Login))
		}
	}
	if q.CustomerID != "" {
		id := strings.TrimSpace(q.CustomerID)
		p := backend.NewPattern(id)
		switch {
		case p.MatchAll():
		case p.HasWildcard():
			pat := likePattern(p, true, true)
			if b.ids {
				w.add(fmt.Sprintf("(%s OR EXISTS (SELECT 1 FROM %s c WHERE c.user_id = t.%s AND %s))",
					b.custLike, b.idsTable, quote(b.cfg.cols[FieldLogin]), b.idsCustLike), pat, pat)
			} else {
				w.add(b.custLike, pat)
			}
		default:
			if b.ids {
				w.add(fmt.Sprintf("(%s OR EXISTS (SELECT 1 FROM %s c WHERE c.user_id = t.%s AND %s))",
					b.custEq, b.idsTable, quote(b.cfg.cols[FieldLogin]), b.idsCustEq), id, id)
			} else {
				w.add(b.custEq, id)
			}
		}
	}
	if q.Email != "" {
		w.add(b.emailEq, strings.TrimSpace(q.Email))
	}
	return w, false
}

// Search returns the users matching q, ordered by lower-cased login and
// capped by q.Limit (or Config.DefaultLimit). Each search word becomes one
// "(col1 LIKE ? OR col2 LIKE ? ...)" group with the word as a parameter, its
// '%', '_' and '\' escaped; in prefix mode the pattern has no leading '%',
// so MariaDB can use the columns' indexes.
func (b *Backend) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	const op = "search"
	expr, limit, err := backend.CheckQuery(q, b.cfg.DefaultLimit)
	if err != nil {
		return nil, backend.OpError(b.cfg.Name, op, err)
	}
	w, none := b.compile(q, expr)
	if none {
		if err := ctx.Err(); err != nil {
			return nil, backend.OpError(b.cfg.Name, op, err)
		}
		return []backend.CustomerUser{}, nil
	}
	query := fmt.Sprintf("SELECT %s FROM %s t%s %s LIMIT %d", b.selectList, b.table, w.sql(), b.orderBy, limit)
	rows, err := b.db.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, opError(ctx, b.cfg.Name, op, err)
	}
	defer rows.Close()
	users := []backend.CustomerUser{}
	for rows.Next() {
		r := b.newRow(false)
		if err := rows.Scan(r.dest...); err != nil {
			return nil, opError(ctx, b.cfg.Name, op, err)
		}
		users = append(users, b.user(r))
	}
	if err := rows.Err(); err != nil {
		return nil, opError(ctx, b.cfg.Name, op, err)
	}
	// MariaDB's LOWER and Go's may disagree on a few characters.
	backend.SortByLogin(users)
	return users, nil
}
