package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ade-dev/ade-worker/gen/db"
)

// transientCodes are SQL Server errors after which a statement or a whole
// transaction may simply be run again: deadlock victim (1205), and Azure
// SQL's reconfiguration, failover and throttling errors. Each of them means
// the server rolled the work back.
var transientCodes = map[int32]bool{
	1205:  true, // chosen as deadlock victim
	40613: true, // database not currently available (failover)
	40197: true, // error processing the request (reconfiguration)
	40501: true, // service busy
	40540: true, // the service has encountered an error processing the request
	49918: true, // not enough resources to process the request
	49919: true, // too many create or update operations in progress
	49920: true, // too many operations in progress
	4060:  true, // cannot open database (during failover)
	10928: true, // resource limit reached
	10929: true, // minimum resources not guaranteed
	10936: true, // request limit of the elastic pool reached
}

// IsTransient reports whether err is worth retrying: a SQL Server error of
// transientCodes, or a connection that dropped (see connectionLost). A
// failed commit never is: see ErrCommitUnknown.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, ErrCommitUnknown) {
		return false
	}
	var me mssql.Error
	if errors.As(err, &me) {
		return transientError(me)
	}
	var mp *mssql.Error
	if errors.As(err, &mp) && mp != nil {
		return transientError(*mp)
	}
	return connectionLost(err)
}

// connectionLost reports whether err says the connection to the server
// went away (a failover, a network drop, a killed session) rather than that
// the server refused the work: go-mssqldb reports it as driver.ErrBadConn,
// io.EOF, a net.Error or a reset connection, never as a numbered error. The
// server rolls back the open transaction of a session it loses. A context
// that ended is not a lost connection, though the read it stopped may look
// like one.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

// ErrCommitUnknown is a commit that failed without the server saying how it
// ended: the connection dropped while the commit was on its way, so the
// transaction may have committed or not. It is never retried (the work
// might happen twice); the caller's fences and the lease sort it out, as
// for a worker that died at that moment.
var ErrCommitUnknown = errors.New("commit failed, outcome unknown")

// commitFailed wraps the error of a failed commit.
func commitFailed(err error) error {
	if connectionLost(err) {
		return fmt.Errorf("%w: %w", ErrCommitUnknown, err)
	}
	return fmt.Errorf("commit: %w", err)
}

// transientError looks at the error and every error of its batch: a
// deadlock can arrive after an informational message.
func transientError(e mssql.Error) bool {
	if transientCodes[e.Number] {
		return true
	}
	for _, each := range e.All {
		if transientCodes[each.Number] {
			return true
		}
	}
	return false
}

// retryPolicy is how often and how patiently transient errors are retried:
// up to attempts tries, sleeping a jittered delay (between half and one and
// a half times the step) that starts at base and doubles up to max.
type retryPolicy struct {
	attempts  int
	base, max time.Duration
}

// defaultRetry rides out a deadlock in milliseconds and an Azure failover
// or throttling episode in seconds (about 6s of sleep in all).
var defaultRetry = retryPolicy{attempts: 8, base: 50 * time.Millisecond, max: 5 * time.Second}

// retryTransient runs fn with defaultRetry.
func retryTransient(ctx context.Context, fn func() error) error {
	return defaultRetry.do(ctx, fn)
}

// do runs fn until it succeeds, fails with an error that is not transient,
// has been tried p.attempts times, or ctx ends.
func (p retryPolicy) do(ctx context.Context, fn func() error) error {
	step := p.base
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= p.attempts || !IsTransient(err) {
			return err
		}
		t := time.NewTimer(p.sleep(step))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		step = min(step*2, p.max)
	}
}

// sleep is step jittered to [step/2, 3*step/2), so workers that failed
// together do not retry together.
func (p retryPolicy) sleep(step time.Duration) time.Duration {
	if step <= 0 {
		return 0
	}
	return step/2 + rand.N(step)
}

// retryingDBTX sends each statement again, under policy, while SQL Server
// answers it with a transient error or the connection drops. It is only
// ever used outside transactions: after a deadlock SQL Server has rolled the
// whole transaction back, and a statement sent again on that connection
// would run on its own, outside it (Store.Write retries the transaction
// instead).
//
// Every statement the worker sends outside a transaction may be sent again:
// a statement that failed with a numbered error changed nothing; one whose
// connection dropped may have run, and sending it again does no harm, as
// these are reads, heartbeats and idempotent writes (the multi-statement
// twins either run in their own transaction, UpsertConfiguration, or are
// idempotent, the batched deletes). An error that arrives after the first
// result row is read (inside rows.Next or Row.Scan) is the caller's to
// handle.
type retryingDBTX struct {
	inner  db.DBTX
	policy retryPolicy
}

func (r retryingDBTX) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := r.policy.do(ctx, func() error {
		var err error
		res, err = r.inner.ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

func (r retryingDBTX) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return r.inner.PrepareContext(ctx, q)
}

func (r retryingDBTX) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := r.policy.do(ctx, func() error {
		var err error
		rows, err = r.inner.QueryContext(ctx, q, args...)
		return err
	})
	return rows, err
}

// QueryRowContext retries on the error the query itself returned, which
// Row.Err reports without consuming the row.
func (r retryingDBTX) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	var row *sql.Row
	_ = r.policy.do(ctx, func() error {
		row = r.inner.QueryRowContext(ctx, q, args...)
		return row.Err()
	})
	return row
}
