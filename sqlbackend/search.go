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

// maxFurtherIDUsers caps the logins a further-customer-ID match is inlined
// as ("login IN (...)", index-friendly); beyond it the query uses EXISTS.
const maxFurtherIDUsers = 500

// furtherIDUsers returns the logins whose further customer IDs match pred
// (on alias c) with arg; ok is false when there are more than
// maxFurtherIDUsers of them.
func (b *Backend) furtherIDUsers(ctx context.Context, pred string, arg any) (logins []any, ok bool, err error) {
	rows, err := b.db.QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT c.user_id FROM %s c WHERE %s LIMIT %d",
		b.idsTable, pred, maxFurtherIDUsers+1), arg)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, false, err
		}
		logins = append(logins, l)
	}
	return logins, len(logins) <= maxFurtherIDUsers, rows.Err()
}

// furtherIDCond gives the condition "one of the user's further customer IDs
// matches pred with arg". The matching logins are looked up first and put
// into the query as "login IN (...)", so that the whole OR stays answerable
// from indexes (MariaDB cannot merge an EXISTS into an index_merge); "" when
// no user matches.
func (b *Backend) furtherIDCond(ctx context.Context, w *where, pred string, arg any) (string, error) {
	logins, ok, err := b.furtherIDUsers(ctx, pred, arg)
	if err != nil {
		return "", err
	}
	if !ok {
		w.args = append(w.args, arg)
		return fmt.Sprintf("EXISTS (SELECT 1 FROM %s c WHERE c.user_id = t.%s AND %s)", b.idsTable, quote(b.cfg.cols[FieldLogin]), pred), nil
	}
	if len(logins) == 0 {
		return "", nil
	}
	w.args = append(w.args, logins...)
	return fmt.Sprintf("t.%s IN (%s)", quote(b.cfg.cols[FieldLogin]), strings.TrimSuffix(strings.Repeat("?, ", len(logins)), ", ")), nil
}

// compile turns a query into a WHERE clause. none is true when the query
// cannot match anything (a negated "*"), so no SQL needs to run.
func (b *Backend) compile(ctx context.Context, q backend.Query, expr backend.SearchExpr) (w where, none bool, err error) {
	if !q.IncludeInvalid {
		w.add(b.validOnly)
	}
	for _, t := range expr.Terms {
		if t.Pattern.MatchAll() {
			if t.Negate {
				return w, true, nil
			}
			continue
		}
		pat := likePattern(t.Pattern, b.cfg.MatchPrefix, false)
		var parts []string
		for i, like := range b.searchLike {
			if t.Negate {
				// A NULL column matches no word, so it passes the exclusion.
				parts = append(parts, fmt.Sprintf("(%s OR NOT (%s))", b.searchNull[i], like))
			} else {
				parts = append(parts, like)
			}
			w.args = append(w.args, pat)
		}
		if t.Negate {
			if b.searchIDs {
				parts = append(parts, fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s c WHERE c.user_id = t.%s AND %s)",
					b.idsTable, quote(b.cfg.cols[FieldLogin]), b.idsCustLike))
				w.args = append(w.args, pat)
			}
			w.conds = append(w.conds, "("+strings.Join(parts, " AND ")+")")
			continue
		}
		if b.searchIDs {
			cond, err := b.furtherIDCond(ctx, &w, b.idsCustLike, pat)
			if err != nil {
				return w, false, err
			}
			if cond != "" {
				parts = append(parts, cond)
			}
		}
		w.conds = append(w.conds, "("+strings.Join(parts, " OR ")+")")
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
	if id := strings.TrimSpace(q.CustomerID); id != "" {
		p := backend.NewPattern(id)
		if !p.MatchAll() {
			own, further, arg := b.custEq, b.idsCustEq, any(id)
			if p.HasWildcard() {
				own, further, arg = b.custLike, b.idsCustLike, likePattern(p, true, true)
			}
			cond := own
			w.args = append(w.args, arg)
			if b.ids {
				fc, err := b.furtherIDCond(ctx, &w, further, arg)
				if err != nil {
					return w, false, err
				}
				if fc != "" {
					cond = "(" + own + " OR " + fc + ")"
				}
			}
			w.conds = append(w.conds, cond)
		}
	}
	if q.Email != "" {
		w.add(b.emailEq, strings.TrimSpace(q.Email))
	}
	return w, false, nil
}

// searchSQL generates the query of a search; "" when nothing can match.
func (b *Backend) searchSQL(ctx context.Context, q backend.Query, expr backend.SearchExpr, limit int) (string, []any, error) {
	w, none, err := b.compile(ctx, q, expr)
	if err != nil || none {
		return "", nil, err
	}
	return fmt.Sprintf("SELECT %s FROM %s t%s %s LIMIT %d", b.selectList, b.table, w.sql(), b.orderBy, limit), w.args, nil
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
	query, args, err := b.searchSQL(ctx, q, expr, limit)
	if err != nil {
		return nil, opError(ctx, b.cfg.Name, op, err)
	}
	if query == "" {
		if err := ctx.Err(); err != nil {
			return nil, backend.OpError(b.cfg.Name, op, err)
		}
		return []backend.CustomerUser{}, nil
	}
	rows, err := b.db.QueryContext(ctx, query, args...)
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
