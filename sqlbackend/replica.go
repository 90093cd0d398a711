package sqlbackend

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// DefaultReplicaRetry is the default of Config.ReplicaRetry.
const DefaultReplicaRetry = 5 * time.Second

// LogReplicaDown is the message of the warning a read logs when it could
// not reach the read replica (Config.ReadDB) and was answered by the
// primary instead; reads then stay on the primary for Config.ReplicaRetry.
// It is logged at most once a minute however often the replica is tried.
const LogReplicaDown = "customeruser: the read replica is unavailable; reads go to the primary"

// LogReplicaBack is the message of the information a read logs when the
// replica answers again after LogReplicaDown.
const LogReplicaBack = "customeruser: the read replica answers again; reads go to it"

// replicaLogEvery rate-limits LogReplicaDown.
const replicaLogEvery = time.Minute

// replica is the read replica of a backend and what it knows of its health.
type replica struct {
	db        *sql.DB
	retry     time.Duration
	downUntil atomic.Int64 // UnixNano until which reads skip the replica; 0: healthy
	warned    atomic.Int64 // when LogReplicaDown was last logged (UnixNano)
	stmts     sync.Map     // query -> *sql.Stmt prepared on db (the lookups)
}

// setReplica takes Config.ReadDB (unless it is the primary's own pool)
// and applies the pool settings New applied to the primary.
func (b *Backend) setReplica() {
	db := b.cfg.ReadDB
	if db == nil || db == b.db {
		return
	}
	b.rep = &replica{db: db, retry: b.cfg.ReplicaRetry}
	if !b.cfg.KeepPool {
		db.SetMaxOpenConns(b.pool.MaxOpenConns)
		db.SetMaxIdleConns(b.pool.MaxIdleConns)
		db.SetConnMaxLifetime(b.pool.ConnMaxLifetime)
		db.SetConnMaxIdleTime(b.pool.ConnMaxIdleTime)
	}
}

// ReadDB returns the database Get and Search read from: the replica
// (Config.ReadDB), or the primary when there is none.
func (b *Backend) ReadDB() *sql.DB {
	if b.rep != nil {
		return b.rep.db
	}
	return b.db
}

// onReplica runs a read on the replica or, when there is none, it is
// known to be down, or it cannot be reached now, on the primary. Only an
// unreachable replica (a refused or broken connection, too many
// connections, a server shutting down) moves the read to the primary;
// any other error is the read's answer, and so is an error after ctx
// ended.
func onReplica[T any](ctx context.Context, b *Backend, read func(ctx context.Context, db *sql.DB) (T, error)) (T, error) {
	r := b.rep
	if r == nil {
		return read(ctx, b.db)
	}
	down := r.downUntil.Load()
	if down != 0 && time.Now().UnixNano() < down {
		return read(ctx, b.db)
	}
	v, err := read(ctx, r.db)
	if err == nil {
		if down != 0 && r.downUntil.CompareAndSwap(down, 0) {
			b.log.InfoContext(ctx, LogReplicaBack)
		}
		return v, nil
	}
	if ctx.Err() != nil || !(errors.Is(err, backend.ErrUnavailable) || unavailable(err)) {
		return v, err
	}
	now := time.Now().UnixNano()
	r.downUntil.Store(now + int64(r.retry))
	if last := r.warned.Load(); (last == 0 || now-last >= int64(replicaLogEvery)) && r.warned.CompareAndSwap(last, now) {
		b.log.WarnContext(ctx, LogReplicaDown, "error", classify(err).Error(), "retry", r.retry)
	}
	return read(ctx, b.db)
}

// readerKey is the context key of the database a search reads from.
type readerKey struct{}

// reader is the database the search in progress reads from (Search puts
// it into ctx): the replica, or the primary.
func (b *Backend) reader(ctx context.Context) *sql.DB {
	if db, ok := ctx.Value(readerKey{}).(*sql.DB); ok {
		return db
	}
	return b.db
}

// Search returns the users matching q in login order (backend.CompareLogins),
// after q.After, capped by q.Limit (or Config.DefaultLimit); "Search" in the
// package doc tells how it matches. With Config.ReadDB it reads from the
// replica, as stale as the replica's replication lag, or from the primary
// while the replica cannot be reached ("Read replicas" in the package doc).
func (b *Backend) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	return onReplica(ctx, b, func(ctx context.Context, db *sql.DB) ([]backend.CustomerUser, error) {
		return b.searchOn(context.WithValue(ctx, readerKey{}, db), q)
	})
}

// stmtsOf is the prepared statements of db, when it is the backend's
// primary or replica (nil otherwise: a transaction, another pool).
func (b *Backend) stmtsOf(q queryer) *sync.Map {
	db, ok := q.(*sql.DB)
	switch {
	case !ok:
		return nil
	case db == b.db:
		return &b.stmts
	case b.rep != nil && db == b.rep.db:
		return &b.rep.stmts
	}
	return nil
}

// closeStmts closes and forgets the statements of m.
func closeStmts(m *sync.Map) {
	m.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		m.Delete(k)
		return true
	})
}
