package store

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURLForms(t *testing.T) {
	cases := []struct {
		name, raw  string
		dialect    Dialect
		sqlitePath string
		mssql      string // expected sqlserver:// URL
	}{
		{"default", "", SQLite, filepath.Join("/data", "db", "ade.sqlite"), ""},
		{"relative", "sqlite:///./data/db/ade.sqlite", SQLite, "./data/db/ade.sqlite", ""},
		{"relative bare", "sqlite:///ade.sqlite", SQLite, "ade.sqlite", ""},
		{"absolute", "sqlite:////var/lib/ade/ade.sqlite", SQLite, "/var/lib/ade/ade.sqlite", ""},
		{"memory", "sqlite:///:memory:", SQLite, ":memory:", ""},
		{"pysqlite", "sqlite+pysqlite:///x.db", SQLite, "x.db", ""},
		{"pyodbc", "mssql+pyodbc://ade:s3cret@db.example.com:1433/ade?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes",
			MSSQL, "", "sqlserver://ade:s3cret@db.example.com:1433?TrustServerCertificate=true&database=ade&encrypt=true"},
		{"pyodbc encrypt no", "mssql+pyodbc://ade:pw@h/ade?Encrypt=no&TrustServerCertificate=no",
			MSSQL, "", "sqlserver://ade:pw@h?TrustServerCertificate=false&database=ade&encrypt=false"},
		{"pyodbc strict", "mssql+pyodbc://ade:pw@h/ade?Encrypt=strict", MSSQL, "", "sqlserver://ade:pw@h?database=ade&encrypt=strict"},
		{"pyodbc timeout and intent", "mssql+pyodbc://u:p@h:1444/d?Connection+Timeout=15&ApplicationIntent=ReadOnly",
			MSSQL, "", "sqlserver://u:p@h:1444?ApplicationIntent=ReadOnly&database=d&dial+timeout=15&encrypt=true"},
		{"pyodbc as the API writes it", "mssql+pyodbc://ade:pw@sql.example.com:1433/ade?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes&TrustServerCertificate=no",
			MSSQL, "", "sqlserver://ade:pw@sql.example.com:1433?TrustServerCertificate=false&database=ade&encrypt=true"},
		{"pyodbc encrypt mandatory", "mssql+pyodbc://u:p@h/d?Encrypt=Mandatory", MSSQL, "", "sqlserver://u:p@h?database=d&encrypt=true"},
		{"pyodbc encrypt optional", "mssql+pyodbc://u:p@h/d?Encrypt=Optional", MSSQL, "", "sqlserver://u:p@h?database=d&encrypt=false"},
		{"pyodbc encrypt disable", "mssql+pyodbc://u:p@h/d?encrypt=disable", MSSQL, "", "sqlserver://u:p@h?database=d&encrypt=disable"},
		{"pyodbc options", "mssql+pyodbc://u:p@h/d?MultiSubnetFailover=Yes&HostNameInCertificate=*.database.windows.net&app=ade-worker&LoginTimeout=5&fast_executemany=True&Trusted_Connection=no",
			MSSQL, "", "sqlserver://u:p@h?MultiSubnetFailover=true&app+name=ade-worker&database=d&dial+timeout=5&encrypt=true&hostNameInCertificate=%2A.database.windows.net"},
		{"pyodbc database key wins", "mssql+pyodbc://u:p@h/first?database=second", MSSQL, "", "sqlserver://u:p@h?database=second&encrypt=true"},
		{"pyodbc no database", "mssql+pyodbc://u:p@h:1433", MSSQL, "", "sqlserver://u:p@h:1433?encrypt=true"},
		{"pymssql", "mssql+pymssql://u:p@h:1433/d", MSSQL, "", "sqlserver://u:p@h:1433?database=d&encrypt=true"},
		{"aioodbc", "mssql+aioodbc://u:p@h/d?TrustServerCertificate=yes", MSSQL, "", "sqlserver://u:p@h?TrustServerCertificate=true&database=d&encrypt=true"},
		{"scheme case", "MSSQL+PYODBC://u:p@h/d", MSSQL, "", "sqlserver://u:p@h?database=d&encrypt=true"},
		{"named instance and port", "mssql+pyodbc://u:p@h%5CSQLEXPRESS:1444/d", MSSQL, "", "sqlserver://u:p@h:1444/SQLEXPRESS?database=d&encrypt=true"},
		{"odbc_connect named instance", "mssql+pyodbc:///?odbc_connect=" + url.QueryEscape(`Driver={ODBC Driver 18 for SQL Server};Server=h\INST;Initial Catalog=ade;Uid=u;Pwd={p;w=}}x};Encrypt=no`),
			MSSQL, "", "sqlserver://u:p;w=%7Dx@h/INST?database=ade&encrypt=false"},
		{"odbc_connect no user", "mssql+pyodbc:///?odbc_connect=" + url.QueryEscape("Server=h,1433;Database=ade;;junk;Connection Timeout=9"),
			MSSQL, "", "sqlserver://h:1433?database=ade&dial+timeout=9&encrypt=true"},
		{"mssql", "mssql://u:p%40ss@h/d", MSSQL, "", "sqlserver://u:p%40ss@h?database=d&encrypt=true"},
		{"named instance", "mssql+pyodbc://u:p@h%5CSQLEXPRESS/d", MSSQL, "", "sqlserver://u:p@h/SQLEXPRESS?database=d&encrypt=true"},
		{"odbc_connect", "mssql+pyodbc:///?odbc_connect=" + strings.NewReplacer("=", "%3D", ";", "%3B", " ", "+").Replace(
			"DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:srv.database.windows.net,1433;DATABASE=ade;UID=ade;PWD=pw;Encrypt=yes;TrustServerCertificate=no"),
			MSSQL, "", "sqlserver://ade:pw@srv.database.windows.net:1433?TrustServerCertificate=false&database=ade&encrypt=true"},
		{"native", "sqlserver://u:p@h:1433?database=d", MSSQL, "", "sqlserver://u:p@h:1433?database=d&encrypt=true"},
		{"native keeps encrypt", "sqlserver://u:p@h?database=d&encrypt=disable", MSSQL, "", "sqlserver://u:p@h?database=d&encrypt=disable"},
		{"native keeps Encrypt in any case", "sqlserver://u:p@h?database=d&Encrypt=false", MSSQL, "", "sqlserver://u:p@h?Encrypt=false&database=d"},
		{"native instance", "sqlserver://u:p@h/SQLEXPRESS?database=d&TrustServerCertificate=true", MSSQL, "", "sqlserver://u:p@h/SQLEXPRESS?TrustServerCertificate=true&database=d&encrypt=true"},
		{"aiosqlite", "sqlite+aiosqlite:////srv/ade.sqlite", SQLite, "/srv/ade.sqlite", ""},
		{"sqlite escaped path", "sqlite:///data%20dir/ade.sqlite", SQLite, "data dir/ade.sqlite", ""},
		{"sqlite query ignored", "sqlite:///ade.sqlite?mode=rwc", SQLite, "ade.sqlite", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseURL(c.raw, "/data")
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", c.raw, err)
			}
			if got.Dialect != c.dialect {
				t.Fatalf("dialect = %s, want %s", got.Dialect, c.dialect)
			}
			if c.dialect == SQLite && got.SQLitePath != c.sqlitePath {
				t.Fatalf("path = %q, want %q", got.SQLitePath, c.sqlitePath)
			}
			if c.dialect == MSSQL {
				if got.MSSQL.String() != c.mssql {
					t.Fatalf("mssql URL = %s\n want %s", got.MSSQL, c.mssql)
				}
				if strings.Contains(got.Redacted, "s3cret") || strings.Contains(got.Redacted, ":pw@") || strings.Contains(got.Redacted, ":p@") {
					t.Fatalf("redacted form leaks the password: %s", got.Redacted)
				}
			}
		})
	}
}

func TestParseURLErrorsNeverLeakPasswords(t *testing.T) {
	cases := []struct {
		raw, want string
		is        error
	}{
		{"postgresql://u:hunter2@h/db", "unsupported database URL scheme", ErrUnknownScheme},
		{"u:hunter2@h/db", "missing scheme", nil},
		{"sqlite://ade.sqlite", "three slashes", nil},
		{"sqlite:///", "missing SQLite file path", nil},
		{"mssql+pyodbc://u:hunter2@/db", "missing host", nil},
		{"mssql+pyodbc://u:hunter2@h/db?Encrypt=perhaps", "Encrypt", nil},
		{"mssql+pyodbc://u:hunter2@h/db?TrustServerCertificate=maybe", "TrustServerCertificate", nil},
		{"mssql+pyodbc://u:hunter2@h/db?timeout=soon", "whole number", nil},
		{"mssql+pyodbc:///?odbc_connect=UID%3Du%3BPWD%3Dhunter2", "missing Server", nil},
		{"mssql://u:hunter2@h:notaport/db", "", nil},
		{"sqlserver://u:hunter2@/x", "missing host", nil},
		{"sqlserver://u:hunter2@h:port/x", "", nil},
		{"mysql://u:hunter2@h/db", "unsupported database URL scheme", ErrUnknownScheme},
		{"sqlite:///a\x00b", "NUL byte", nil},
		{"mssql+pyodbc://u:hunter2@h/db?Connection+Timeout=-1", "whole number", nil},
		{"mssql+pyodbc://u:hunter2@h/db?MultiSubnetFailover=sometimes", "MultiSubnetFailover", nil},
		{"mssql+pyodbc:///?odbc_connect=" + url.QueryEscape("Server=h;PWD=hunter2;Encrypt=perhaps"), "Encrypt", nil},
		{"mssql+pyodbc:///?odbc_connect=" + url.QueryEscape("Server=h;UID=u;PWD={hunter2"), "never closed", nil},
		{"mssql+pyodbc:///?odbc_connect=" + url.QueryEscape("Database=ade;UID=u;PWD={hunter2;x}"), "missing Server", nil},
	}
	for _, c := range cases {
		_, err := ParseURL(c.raw, "/data")
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", c.raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURL(%q) = %v, want it to mention %q", c.raw, err, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("ParseURL(%q) = %v, want errors.Is %v", c.raw, err, c.is)
		}
	}
}

func TestMaskURL(t *testing.T) {
	cases := map[string]string{
		"mssql+pyodbc://ade:s3cr@t@h/db":                          "mssql+pyodbc://ade:***@h/db",
		"sqlserver://u:p@h?database=d":                            "sqlserver://u:***@h?database=d",
		"Server=h;Database=d;Uid=u;Pwd=secret;X=1":                "Server=h;Database=d;Uid=u;Pwd=***;X=1",
		"odbc_connect=SERVER%3Dh%3BPWD%3Dsecret&x=1":              "odbc_connect=SERVER%3Dh%3BPWD%3D***&x=1",
		"sqlite:///./data/db/ade.sqlite":                          "sqlite:///./data/db/ade.sqlite",
		"login error for user 'u' password=abc; more":             "login error for user 'u' password=***; more",
		"Server=h;PWD={se;cr}}et};X=1":                            "Server=h;PWD=***;X=1",
		"odbc_connect=SERVER%3Dh%3BPWD%3D%7Bse%3Bcret%7D%3BX%3D1": "odbc_connect=SERVER%3Dh%3BPWD%3D***%3BX%3D1",
	}
	for in, want := range cases {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
