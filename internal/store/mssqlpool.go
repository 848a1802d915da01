package store

import (
	"database/sql"
	"errors"
	"math"
	"strconv"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
)

// openMSSQL opens a pool on the SQL Server (or Azure SQL) database of t,
// authenticating as o says.
func openMSSQL(t Target, o Options) (*sql.DB, error) {
	dsn := mssqlDSN(t, o)
	var (
		connector *mssql.Connector
		err       error
	)
	if o.AuthMode == "managed_identity" {
		connector, err = azuread.NewConnector(dsn)
	} else {
		connector, err = mssql.NewConnector(dsn)
	}
	if err != nil {
		return nil, errors.New(MaskURL(err.Error()))
	}
	sqldb := sql.OpenDB(connector)
	mssqlPool(o).apply(sqldb)
	return sqldb, nil
}

// mssqlDSN is the go-mssqldb connection URL for t under o: with managed
// identity the URL's user and password give way to an Azure token
// (fedauth), and the identity's client id, when set, picks a user-assigned
// identity. PoolTimeout bounds the dial unless the URL bounds it itself.
func mssqlDSN(t Target, o Options) string {
	u := *t.MSSQL
	q := u.Query()
	if firstKey(q, "dial timeout") == "" {
		q.Set("dial timeout", strconv.Itoa(int(math.Ceil(poolTimeout(o).Seconds()))))
	}
	if o.AuthMode == "managed_identity" {
		delKey(q, "fedauth")
		delKey(q, "user id")
		delKey(q, "password")
		q.Set("fedauth", azuread.ActiveDirectoryManagedIdentity)
		if o.MIClientID != "" {
			q.Set("user id", o.MIClientID)
		}
		u.User = nil
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Azure SQL closes a connection idle for 30 minutes, and Azure's load
// balancers drop an idle TCP flow after 4: a pooled connection is retired
// well before either, so no statement is ever sent down a dead one.
const (
	maxConnLifetime = 25 * time.Minute
	maxConnIdleTime = 3 * time.Minute
)

// poolSettings are what the ADE_DATABASE_POOL_* settings become on
// database/sql's pool.
type poolSettings struct {
	MaxIdle, MaxOpen      int
	MaxLifetime, MaxIdleT time.Duration
}

// mssqlPool maps the pool options the way the ADE API's SQLAlchemy pool
// reads them: PoolSize connections are kept, MaxOverflow more may open
// under load, and none lives longer than PoolRecycle (capped).
func mssqlPool(o Options) poolSettings {
	size := o.PoolSize
	if size <= 0 {
		size = 5
	}
	overflow := max(o.MaxOverflow, 0)
	life := o.PoolRecycle
	if life <= 0 || life > maxConnLifetime {
		life = maxConnLifetime
	}
	return poolSettings{MaxIdle: size, MaxOpen: size + overflow, MaxLifetime: life, MaxIdleT: min(life, maxConnIdleTime)}
}

func (p poolSettings) apply(d *sql.DB) {
	d.SetMaxIdleConns(p.MaxIdle)
	d.SetMaxOpenConns(p.MaxOpen)
	d.SetConnMaxLifetime(p.MaxLifetime)
	d.SetConnMaxIdleTime(p.MaxIdleT)
}

func poolTimeout(o Options) time.Duration {
	if o.PoolTimeout <= 0 {
		return 30 * time.Second
	}
	return o.PoolTimeout
}
