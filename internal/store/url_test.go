package store

import (
	"errors"
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
			MSSQL, "", "sqlserver://u:p@h:1444?ApplicationIntent=ReadOnly&connection+timeout=15&database=d&encrypt=true"},
		{"mssql", "mssql://u:p%40ss@h/d", MSSQL, "", "sqlserver://u:p%40ss@h?database=d&encrypt=true"},
		{"named instance", "mssql+pyodbc://u:p@h%5CSQLEXPRESS/d", MSSQL, "", "sqlserver://u:p@h/SQLEXPRESS?database=d&encrypt=true"},
		{"odbc_connect", "mssql+pyodbc:///?odbc_connect=" + strings.NewReplacer("=", "%3D", ";", "%3B", " ", "+").Replace(
			"DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:srv.database.windows.net,1433;DATABASE=ade;UID=ade;PWD=pw;Encrypt=yes;TrustServerCertificate=no"),
			MSSQL, "", "sqlserver://ade:pw@srv.database.windows.net:1433?TrustServerCertificate=false&database=ade&encrypt=true"},
		{"native", "sqlserver://u:p@h:1433?database=d", MSSQL, "", "sqlserver://u:p@h:1433?database=d&encrypt=true"},
		{"native keeps encrypt", "sqlserver://u:p@h?database=d&encrypt=disable", MSSQL, "", "sqlserver://u:p@h?database=d&encrypt=disable"},
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
		"mssql+pyodbc://ade:s3cr@t@h/db":              "mssql+pyodbc://ade:***@h/db",
		"sqlserver://u:p@h?database=d":                "sqlserver://u:***@h?database=d",
		"Server=h;Database=d;Uid=u;Pwd=secret;X=1":    "Server=h;Database=d;Uid=u;Pwd=***;X=1",
		"odbc_connect=SERVER%3Dh%3BPWD%3Dsecret&x=1":  "odbc_connect=SERVER%3Dh%3BPWD%3D***&x=1",
		"sqlite:///./data/db/ade.sqlite":              "sqlite:///./data/db/ade.sqlite",
		"login error for user 'u' password=abc; more": "login error for user 'u' password=***; more",
	}
	for in, want := range cases {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
