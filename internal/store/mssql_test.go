package store

import (
	"net/url"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// The connection string each accepted URL form becomes is one go-mssqldb
// parses, with encryption on unless the URL turns it off. Nothing here
// connects.
func TestEveryMSSQLFormMakesAConnectionStringTheDriverAccepts(t *testing.T) {
	forms := map[string]struct {
		enc  msdsn.Encryption
		dial time.Duration
	}{
		"mssql+pyodbc://ade:pw@db.example.com:1433/ade?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes": {msdsn.EncryptionRequired, 30 * time.Second},
		"mssql+pyodbc://ade:pw@h/ade?Encrypt=no":                                                              {msdsn.EncryptionOff, 30 * time.Second},
		"mssql+pyodbc://ade:pw@h/ade?Encrypt=strict":                                                          {msdsn.EncryptionStrict, 30 * time.Second},
		"mssql+pyodbc://ade:pw@h/ade?Connection+Timeout=7&ApplicationIntent=ReadOnly&MultiSubnetFailover=yes": {msdsn.EncryptionRequired, 7 * time.Second},
		"mssql+pyodbc:///?odbc_connect=" + url.QueryEscape("Driver={ODBC Driver 18 for SQL Server};Server=tcp:srv,1433;Database=ade;Uid=u;Pwd={a;b};Encrypt=yes"): {msdsn.EncryptionRequired, 30 * time.Second},
		"mssql://u:p@h/d":                              {msdsn.EncryptionRequired, 30 * time.Second},
		"sqlserver://u:p@h:1433?database=d":            {msdsn.EncryptionRequired, 30 * time.Second},
		"sqlserver://u:p@h?database=d&Encrypt=false":   {msdsn.EncryptionOff, 30 * time.Second},
		"sqlserver://u:p@h?database=d&encrypt=disable": {msdsn.EncryptionDisabled, 30 * time.Second},
	}
	for raw, want := range forms {
		target, err := ParseURL(raw, "")
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", raw, err)
		}
		dsn := mssqlDSN(target, Options{})
		cfg, err := msdsn.Parse(dsn)
		if err != nil {
			t.Errorf("%s: go-mssqldb refuses %s: %v", raw, MaskURL(dsn), err)
			continue
		}
		if cfg.Encryption != want.enc {
			t.Errorf("%s: encryption = %v, want %v", raw, cfg.Encryption, want.enc)
		}
		if cfg.DialTimeout != want.dial || cfg.ConnTimeout != 0 {
			t.Errorf("%s: dial timeout = %v, connection timeout = %v; want %v and none", raw, cfg.DialTimeout, cfg.ConnTimeout, want.dial)
		}
		if _, err := mssql.NewConnector(dsn); err != nil {
			t.Errorf("%s: NewConnector: %v", raw, err)
		}
	}
}

// ADE_DATABASE_POOL_TIMEOUT bounds each dial (rounded up to whole seconds),
// unless the URL states its own; go-mssqldb's "connection timeout", a
// deadline on every read, is never set for it.
func TestPoolTimeoutBoundsTheDial(t *testing.T) {
	target, err := ParseURL("mssql+pyodbc://u:p@h/d", "")
	if err != nil {
		t.Fatal(err)
	}
	dsn := mssqlDSN(target, Options{PoolTimeout: 2500 * time.Millisecond})
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DialTimeout != 3*time.Second || cfg.ConnTimeout != 0 {
		t.Fatalf("dial timeout %v, connection timeout %v; want 3s and none", cfg.DialTimeout, cfg.ConnTimeout)
	}
	own, _ := ParseURL("mssql+pyodbc://u:p@h/d?LoginTimeout=4", "")
	cfg, err = msdsn.Parse(mssqlDSN(own, Options{PoolTimeout: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DialTimeout != 4*time.Second {
		t.Fatalf("dial timeout %v, want the URL's 4s", cfg.DialTimeout)
	}
}

// With ADE_DATABASE_AUTH_MODE=managed_identity the URL's credentials give
// way to an Azure token: fedauth names the managed identity flow and
// "user id" carries the client id of a user-assigned identity, or nothing
// for the system-assigned one. go-mssqldb's azuread connector accepts the
// result without connecting.
func TestManagedIdentityConnectionString(t *testing.T) {
	target, err := ParseURL("mssql+pyodbc://ade:s3cret@srv.database.windows.net:1433/ade?Encrypt=yes", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ clientID, wantUser string }{
		{"", ""},
		{"8f1c2d3e-0000-4000-8000-000000000001", "8f1c2d3e-0000-4000-8000-000000000001"},
	}
	for _, c := range cases {
		dsn := mssqlDSN(target, Options{AuthMode: "managed_identity", MIClientID: c.clientID})
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.User != nil || strings.Contains(dsn, "s3cret") || q.Get("password") != "" {
			t.Errorf("managed identity DSN keeps the URL's credentials: %s", MaskURL(dsn))
		}
		if got := q.Get("fedauth"); got != azuread.ActiveDirectoryManagedIdentity {
			t.Errorf("fedauth = %q, want %q", got, azuread.ActiveDirectoryManagedIdentity)
		}
		if got := q.Get("user id"); got != c.wantUser {
			t.Errorf("user id = %q, want %q", got, c.wantUser)
		}
		if q.Get("database") != "ade" || q.Get("encrypt") != "true" || u.Host != "srv.database.windows.net:1433" {
			t.Errorf("managed identity DSN lost the server, database or encryption: %s", dsn)
		}
		if _, err := azuread.NewConnector(dsn); err != nil {
			t.Errorf("azuread.NewConnector(%s): %v", dsn, err)
		}
	}

	// The README's Azure form, with no user at all.
	bare, err := ParseURL("mssql+pyodbc://@myserver.database.windows.net:1433/ade", "")
	if err != nil {
		t.Fatal(err)
	}
	if dsn := mssqlDSN(bare, Options{AuthMode: "managed_identity"}); strings.Contains(dsn, "@") {
		t.Errorf("managed identity DSN keeps an empty user: %s", dsn)
	} else if _, err := azuread.NewConnector(dsn); err != nil {
		t.Errorf("azuread.NewConnector(%s): %v", dsn, err)
	}

	// A native URL that names a user in its query loses it too, in any case.
	native, _ := ParseURL("sqlserver://h?database=d&User+ID=sa&Password=x", "")
	dsn := mssqlDSN(native, Options{AuthMode: "managed_identity"})
	if strings.Contains(strings.ToLower(dsn), "password") || strings.Contains(dsn, "sa") {
		t.Errorf("native URL kept its credentials under managed identity: %s", MaskURL(dsn))
	}
	if _, err := msdsn.Parse(dsn); err != nil {
		t.Errorf("go-mssqldb refuses %s: %v", dsn, err)
	}
}

// The pool settings map the way the ADE API's SQLAlchemy pool reads them,
// and no connection outlives Azure SQL's idle cut-off.
func TestPoolSettings(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want poolSettings
	}{
		{"defaults", Options{}, poolSettings{MaxIdle: 5, MaxOpen: 5, MaxLifetime: maxConnLifetime, MaxIdleT: maxConnIdleTime}},
		{"the worker's defaults", Options{PoolSize: 5, MaxOverflow: 10, PoolRecycle: 1800 * time.Second},
			poolSettings{MaxIdle: 5, MaxOpen: 15, MaxLifetime: maxConnLifetime, MaxIdleT: maxConnIdleTime}},
		{"short recycle", Options{PoolSize: 2, MaxOverflow: 1, PoolRecycle: 90 * time.Second},
			poolSettings{MaxIdle: 2, MaxOpen: 3, MaxLifetime: 90 * time.Second, MaxIdleT: 90 * time.Second}},
		{"recycle off still below the cut-off", Options{PoolSize: 1, MaxOverflow: -3, PoolRecycle: 0},
			poolSettings{MaxIdle: 1, MaxOpen: 1, MaxLifetime: maxConnLifetime, MaxIdleT: maxConnIdleTime}},
	}
	for _, c := range cases {
		if got := mssqlPool(c.o); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if maxConnLifetime >= 30*time.Minute || maxConnIdleTime >= 4*time.Minute {
		t.Fatalf("connections may outlive Azure's idle cut-offs: lifetime %v, idle %v", maxConnLifetime, maxConnIdleTime)
	}

	// And they reach database/sql (opening does not connect).
	target, _ := ParseURL("sqlserver://u:p@127.0.0.1:1?database=d", "")
	sqldb, err := openMSSQL(target, Options{PoolSize: 3, MaxOverflow: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	if got := sqldb.Stats().MaxOpenConnections; got != 7 {
		t.Fatalf("MaxOpenConnections = %d, want 3+4", got)
	}
}
