package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ade-dev/ade-worker/gen/db"
)

func TestIsTransient(t *testing.T) {
	for _, n := range []int32{1205, 40613, 40197, 40501, 40540, 49918, 49919, 49920, 4060, 10928, 10929, 10936} {
		e := mssql.Error{Number: n, Message: "transient"}
		if !IsTransient(e) {
			t.Errorf("error %d is not transient", n)
		}
		if !IsTransient(&e) {
			t.Errorf("*Error %d is not transient", n)
		}
		if !IsTransient(fmt.Errorf("claim: %w", e)) {
			t.Errorf("wrapped error %d is not transient", n)
		}
	}
	for _, err := range []error{
		nil,
		errors.New("deadlock 1205"), // not a server error, whatever it says
		mssql.Error{Number: 2627},   // duplicate key
		mssql.Error{Number: 547},    // constraint
		mssql.Error{Number: 50001},  // the migration lock's own THROW
		sql.ErrNoRows,
		context.DeadlineExceeded,
	} {
		if IsTransient(err) {
			t.Errorf("IsTransient(%v) = true", err)
		}
	}
	// A connection that dropped, however go-mssqldb reports it.
	for _, err := range []error{
		driver.ErrBadConn,
		io.EOF,
		io.ErrUnexpectedEOF,
		&net.OpError{Op: "read", Net: "tcp", Err: io.EOF},
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		fmt.Errorf("insert run: %w", syscall.EPIPE),
	} {
		if !IsTransient(err) {
			t.Errorf("IsTransient(%v) = false; a dropped connection is retried", err)
		}
	}
	// But not a context that ended, nor a commit whose outcome is unknown.
	for _, err := range []error{
		context.Canceled,
		fmt.Errorf("read: %w", errors.Join(io.EOF, context.DeadlineExceeded)),
		commitFailed(io.EOF),
		commitFailed(driver.ErrBadConn),
	} {
		if IsTransient(err) {
			t.Errorf("IsTransient(%v) = true", err)
		}
	}
	if err := commitFailed(io.EOF); !errors.Is(err, ErrCommitUnknown) || !errors.Is(err, io.EOF) {
		t.Errorf("commitFailed(io.EOF) = %v; want ErrCommitUnknown wrapping io.EOF", err)
	}
	if err := commitFailed(mssql.Error{Number: 547}); errors.Is(err, ErrCommitUnknown) {
		t.Errorf("a commit the server refused is not of unknown outcome: %v", err)
	}
	// A deadlock reported after an informational message still counts.
	batch := mssql.Error{Number: 3621, All: []mssql.Error{{Number: 1205}, {Number: 3621}}}
	if !IsTransient(batch) {
		t.Error("a batch whose errors include 1205 is not transient")
	}
}

// fastRetry keeps the unit tests quick; the shape is the production one.
var fastRetry = retryPolicy{attempts: 4, base: time.Millisecond, max: 4 * time.Millisecond}

func TestRetryStopsOnSuccessOrLastAttempt(t *testing.T) {
	ctx := context.Background()
	deadlock := mssql.Error{Number: 1205, Message: "deadlock victim"}
	cases := []struct {
		name      string
		failures  int
		err       error
		wantCalls int
		wantErr   bool
	}{
		{"succeeds at once", 0, deadlock, 1, false},
		{"succeeds after two deadlocks", 2, deadlock, 3, false},
		{"succeeds on the last attempt", 3, deadlock, 4, false},
		{"gives up after the last attempt", 10, deadlock, 4, true},
		{"never retries a lasting error", 10, mssql.Error{Number: 2627}, 1, true},
		{"never retries a non-server error", 10, errors.New("boom"), 1, true},
	}
	for _, c := range cases {
		calls := 0
		err := fastRetry.do(ctx, func() error {
			calls++
			if calls <= c.failures {
				return c.err
			}
			return nil
		})
		if calls != c.wantCalls || (err != nil) != c.wantErr {
			t.Errorf("%s: %d calls, err %v; want %d calls, error %v", c.name, calls, err, c.wantCalls, c.wantErr)
		}
		if c.wantErr && err.Error() != c.err.Error() {
			t.Errorf("%s: error %v does not carry the last failure %v", c.name, err, c.err)
		}
	}
}

func TestRetryStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	slow := retryPolicy{attempts: 100, base: time.Hour, max: time.Hour}
	calls := 0
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	err := slow.do(ctx, func() error {
		calls++
		return mssql.Error{Number: 40501}
	})
	if calls != 1 || !errors.Is(err, context.Canceled) || !IsTransient(err) {
		t.Fatalf("%d calls, err %v; want one call and an error naming both the failure and the cancellation", calls, err)
	}
}

// The backoff is capped and jittered: every sleep lies in [step/2,
// 3*step/2) of a step that doubles from base and stops at max.
func TestBackoffIsCappedAndJittered(t *testing.T) {
	p := defaultRetry
	step := p.base
	total := time.Duration(0)
	for range p.attempts - 1 {
		for range 200 {
			d := p.sleep(step)
			if d < step/2 || d >= step+step/2 {
				t.Fatalf("sleep %v for step %v is outside [step/2, 3*step/2)", d, step)
			}
		}
		total += step
		step = min(step*2, p.max)
	}
	if step != p.max {
		t.Fatalf("the step never reached the cap %v (ended at %v)", p.max, step)
	}
	// Long enough to ride out an Azure SQL reconfiguration, short enough
	// that a stuck claim loop notices within seconds.
	if total < 3*time.Second || total > 15*time.Second {
		t.Fatalf("the retries sleep %v in all (before jitter)", total)
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[p.sleep(time.Second)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("50 sleeps took only %d distinct values: no jitter", len(seen))
	}
}

// flakyDriver is a database/sql driver whose connections fail the first
// failures statements with err, as SQL Server does a deadlock victim, and
// then answer each query with one row holding 42.
type flakyDriver struct {
	failures int
	err      error
	calls    *int
}

func (d flakyDriver) Open(string) (driver.Conn, error) { return flakyConn{d}, nil }

type flakyConn struct{ d flakyDriver }

func (c flakyConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no prepare") }
func (c flakyConn) Close() error                        { return nil }
func (c flakyConn) Begin() (driver.Tx, error)           { return nil, errors.New("no transactions") }

func (c flakyConn) fail() error {
	*c.d.calls++
	if *c.d.calls <= c.d.failures {
		return c.d.err
	}
	return nil
}

func (c flakyConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func (c flakyConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return &oneRow{}, nil
}

type oneRow struct{ done bool }

func (r *oneRow) Columns() []string { return []string{"n"} }
func (r *oneRow) Close() error      { return nil }
func (r *oneRow) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(42)
	return nil
}

type flakyConnector struct{ d flakyDriver }

func (c flakyConnector) Connect(context.Context) (driver.Conn, error) { return flakyConn(c), nil }
func (c flakyConnector) Driver() driver.Driver                        { return c.d }

// flakyDB is a pool over flakyDriver and the number of statements it saw.
func flakyDB(t *testing.T, failures int, err error) (*sql.DB, *int) {
	t.Helper()
	calls := new(int)
	d := sql.OpenDB(flakyConnector{flakyDriver{failures: failures, err: err, calls: calls}})
	t.Cleanup(func() { d.Close() })
	return d, calls
}

func TestRetryingDBTXResendsTransientFailures(t *testing.T) {
	ctx := context.Background()
	victim := mssql.Error{Number: 1205, Message: "deadlock victim"}

	d, calls := flakyDB(t, 2, victim)
	res, err := retryingDBTX{inner: d, policy: fastRetry}.ExecContext(ctx, "UPDATE runs SET x = 1")
	if err != nil || *calls != 3 {
		t.Fatalf("exec: %d calls, %v; want 3 calls and success", *calls, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("exec result lost: %d rows", n)
	}

	d, calls = flakyDB(t, 3, victim)
	rows, err := retryingDBTX{inner: d, policy: fastRetry}.QueryContext(ctx, "SELECT 42")
	if err != nil || *calls != 4 {
		t.Fatalf("query: %d calls, %v; want 4 calls and success", *calls, err)
	}
	rows.Close()

	d, calls = flakyDB(t, 1, mssql.Error{Number: 40613})
	var n int
	if err := (retryingDBTX{inner: d, policy: fastRetry}).QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 || *calls != 2 {
		t.Fatalf("query row: %d calls, n=%d, %v; want 2 calls and 42", *calls, n, err)
	}

	// Past the last attempt the error is the caller's.
	d, calls = flakyDB(t, 10, victim)
	if err := (retryingDBTX{inner: d, policy: fastRetry}).QueryRowContext(ctx, "SELECT 42").Scan(&n); errNumber(err) != 1205 || *calls != fastRetry.attempts {
		t.Fatalf("query row: %d calls, %v; want %d calls and the deadlock", *calls, err, fastRetry.attempts)
	}

	// A lasting error is sent once.
	d, calls = flakyDB(t, 10, mssql.Error{Number: 208, Message: "invalid object name"})
	if _, err := (retryingDBTX{inner: d, policy: fastRetry}).ExecContext(ctx, "UPDATE nowhere SET x = 1"); err == nil || *calls != 1 {
		t.Fatalf("a lasting error was sent %d times (err %v), want once", *calls, err)
	}
}

// errNumber is the SQL Server error number err carries, or 0.
func errNumber(err error) int32 {
	var me mssql.Error
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// txDriver is a database/sql driver whose every commit fails with
// commitErr (nil: succeeds).
type txDriver struct {
	commitErr error
	commits   *int
}

func (d txDriver) Open(string) (driver.Conn, error)             { return txConn(d), nil }
func (d txDriver) Connect(context.Context) (driver.Conn, error) { return txConn(d), nil }
func (d txDriver) Driver() driver.Driver                        { return d }

type txConn txDriver

func (c txConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no prepare") }
func (c txConn) Close() error                        { return nil }
func (c txConn) Begin() (driver.Tx, error)           { return txTx(c), nil }

type txTx txConn

func (t txTx) Commit() error {
	*t.commits++
	return t.commitErr
}
func (t txTx) Rollback() error { return nil }

// txStore is a SQL Server store over txDriver.
func txStore(t *testing.T, commitErr error) (*Store, *int) {
	t.Helper()
	commits := new(int)
	d := sql.OpenDB(txDriver{commitErr: commitErr, commits: commits})
	t.Cleanup(func() { d.Close() })
	return &Store{db: d, dialect: MSSQL, counter: &StatementCounter{}}, commits
}

// A transaction whose connection dropped under it runs again; one whose
// commit failed with the connection does not: it may have committed.
func TestWriteRetriesALostConnectionButNotALostCommit(t *testing.T) {
	ctx := context.Background()
	s, commits := txStore(t, nil)
	runs := 0
	err := s.Write(ctx, func(*db.Queries) error {
		runs++
		if runs == 1 {
			return fmt.Errorf("insert run: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
		}
		return nil
	})
	if err != nil || runs != 2 || *commits != 1 {
		t.Fatalf("Write = %v after %d runs and %d commits; want it run again and committed once", err, runs, *commits)
	}

	s, commits = txStore(t, io.EOF)
	runs = 0
	err = s.Write(ctx, func(*db.Queries) error { runs++; return nil })
	if !errors.Is(err, ErrCommitUnknown) || runs != 1 || *commits != 1 {
		t.Fatalf("Write = %v after %d runs and %d commits; want ErrCommitUnknown after one", err, runs, *commits)
	}
}
