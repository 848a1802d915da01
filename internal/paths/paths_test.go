package paths

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tree is a data folder with one workspace "ws", some documents, and links
// that point outside it.
type tree struct {
	layout  Layout
	docs    string // documents folder of "ws", symlinks resolved
	outside string // a folder outside the data folder
}

func newTree(tb testing.TB) tree {
	tb.Helper()
	base := tb.TempDir()
	outside := filepath.Join(base, "outside")
	data := filepath.Join(base, "data")
	docs := filepath.Join(data, "workspaces", "ws", "documents")
	for _, dir := range []string{outside, filepath.Join(docs, "sub"), filepath.Join(docs, "dir")} {
		must(tb, os.MkdirAll(dir, 0o755))
	}
	files := map[string]string{
		filepath.Join(outside, "secret"):     "secret",
		filepath.Join(docs, "a.xlsx"):        "a",
		filepath.Join(docs, "sub", "b.xlsx"): "b",
		filepath.Join(docs, "odd name.xlsx"): "odd",
		filepath.Join(docs, "100%.csv"):      "percent",
	}
	if runtime.GOOS != "windows" {
		// A backslash is an ordinary character of a name here.
		files[filepath.Join(docs, `back\slash.csv`)] = "backslash"
	}
	for name, content := range files {
		must(tb, os.WriteFile(name, []byte(content), 0o644))
	}
	must(tb, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(docs, "evil")))
	must(tb, os.Symlink(outside, filepath.Join(docs, "linkdir")))
	must(tb, os.Symlink("a.xlsx", filepath.Join(docs, "inner")))
	must(tb, os.Symlink(filepath.FromSlash("../../../../outside/secret"), filepath.Join(docs, "relevil")))
	must(tb, os.Symlink("loop", filepath.Join(docs, "loop")))

	layout, err := New(data)
	must(tb, err)
	realDocs, err := filepath.EvalSymlinks(docs)
	must(tb, err)
	return tree{layout: layout, docs: realDocs, outside: outside}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Error(`New("") succeeded, want an error`)
	}
	t.Chdir(t.TempDir())
	wd, _ := os.Getwd()
	l, err := New("./data/../data/")
	must(t, err)
	if want := filepath.Join(wd, "data"); l.DataDir != want {
		t.Errorf("DataDir = %q, want %q", l.DataDir, want)
	}
	if got, want := l.DBPath(), filepath.Join(wd, "data", "db", "ade.sqlite"); got != want {
		t.Errorf("DBPath() = %q, want %q", got, want)
	}
	if got, want := l.PipCacheDir(), filepath.Join(wd, "data", "cache", "pip"); got != want {
		t.Errorf("PipCacheDir() = %q, want %q", got, want)
	}
}

func TestLayoutPaths(t *testing.T) {
	l := Layout{DataDir: filepath.FromSlash("/data")}
	// p is a path of the layout as it is on this system.
	p := filepath.FromSlash
	cfg, err := l.ConfigPackageDir("w1", "c1")
	must(t, err)
	if cfg != p("/data/workspaces/w1/config_packages/c1") {
		t.Errorf("ConfigPackageDir = %q", cfg)
	}
	docs, err := l.DocumentsDir("w1")
	must(t, err)
	if docs != p("/data/workspaces/w1/documents") {
		t.Errorf("DocumentsDir = %q", docs)
	}
	run, err := l.Run("w1", "r1")
	must(t, err)
	want := RunPaths{
		Dir:    p("/data/workspaces/w1/runs/r1"),
		Input:  p("/data/workspaces/w1/runs/r1/input"),
		Output: p("/data/workspaces/w1/runs/r1/output"),
		Logs:   p("/data/workspaces/w1/runs/r1/logs"),
		Events: p("/data/workspaces/w1/runs/r1/logs/events.ndjson"),
	}
	if run != want {
		t.Errorf("Run = %+v, want %+v", run, want)
	}
	if dir, _ := l.RunDir("w1", "r1"); dir != want.Dir {
		t.Errorf("RunDir = %q", dir)
	}
	if got := run.StagedInput("../../C:\\Users\\me\\Book 1.xlsx"); got != p("/data/workspaces/w1/runs/r1/input/Book 1.xlsx") {
		t.Errorf("StagedInput = %q", got)
	}
	env, err := l.Env("w1", "c1", "sha256:AbC+/=.9", "e1")
	must(t, err)
	wantEnv := EnvPaths{
		Dir:    p("/data/venvs/w1/c1/deps-AbC____9/e1"),
		Venv:   p("/data/venvs/w1/c1/deps-AbC____9/e1/.venv"),
		Python: VenvPython(p("/data/venvs/w1/c1/deps-AbC____9/e1/.venv")),
		Logs:   p("/data/venvs/w1/c1/deps-AbC____9/e1/logs"),
		Events: p("/data/venvs/w1/c1/deps-AbC____9/e1/logs/events.ndjson"),
	}
	if env != wantEnv {
		t.Errorf("Env = %+v, want %+v", env, wantEnv)
	}
	if dir, _ := l.EnvDir("w1", "c1", "sha256:AbC+/=.9", "e1"); dir != wantEnv.Dir {
		t.Errorf("EnvDir = %q", dir)
	}
}

func TestUnsafeSegments(t *testing.T) {
	l := Layout{DataDir: "/data"}
	bad := map[string]string{
		"":                       "is empty",
		".":                      "is a relative path element",
		"..":                     "is a relative path element",
		"a/b":                    "contains a path separator",
		"../etc":                 "contains a path separator",
		`a\b`:                    "contains a path separator",
		"a\x00b":                 "contains a NUL byte",
		"a\nb":                   "contains control characters",
		"a\x7fb":                 "contains control characters",
		"a\u0085b":               "contains control characters",
		"\xff":                   "is not valid UTF-8",
		strings.Repeat("x", 256): "is longer than 255 bytes",
		"ws:1":                   `contains a character Windows does not allow in a file name (one of <>:"|?*)`,
		"C:":                     `contains a character Windows does not allow in a file name (one of <>:"|?*)`,
		"a?b":                    `contains a character Windows does not allow in a file name (one of <>:"|?*)`,
		`a"b`:                    `contains a character Windows does not allow in a file name (one of <>:"|?*)`,
		"trailing.":              "ends with a dot or a space, which Windows drops",
		"trailing ":              "ends with a dot or a space, which Windows drops",
		"NUL":                    "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"con":                    "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"Aux.txt":                "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"com1.tar.gz":            "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"LPT9":                   "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"prn .csv":               "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"conin$":                 "is a device name on Windows (CON, NUL, COM1, LPT1...)",
		"COM²":                   "is a device name on Windows (CON, NUL, COM1, LPT1...)",
	}
	calls := []struct {
		what string
		call func(id string) error
	}{
		{"workspace id", func(id string) error { _, err := l.WorkspaceDir(id); return err }},
		{"workspace id", func(id string) error { _, err := l.DocumentsDir(id); return err }},
		{"workspace id", func(id string) error { _, err := l.DocumentPath(id, "file:a"); return err }},
		{"workspace id", func(id string) error { _, err := l.ConfigPackageDir(id, "c"); return err }},
		{"configuration id", func(id string) error { _, err := l.ConfigPackageDir("w", id); return err }},
		{"workspace id", func(id string) error { _, err := l.RunDir(id, "r"); return err }},
		{"run id", func(id string) error { _, err := l.RunDir("w", id); return err }},
		{"run id", func(id string) error { _, err := l.Run("w", id); return err }},
		{"workspace id", func(id string) error { _, err := l.EnvDir(id, "c", "sha256:d", "e"); return err }},
		{"configuration id", func(id string) error { _, err := l.EnvDir("w", id, "sha256:d", "e"); return err }},
		{"environment id", func(id string) error { _, err := l.EnvDir("w", "c", "sha256:d", id); return err }},
		{"environment id", func(id string) error { _, err := l.Env("w", "c", "sha256:d", id); return err }},
	}
	for value, reason := range bad {
		for _, c := range calls {
			err := c.call(value)
			var pathErr *Error
			if !errors.As(err, &pathErr) || !errors.Is(err, ErrUnsafe) {
				t.Errorf("%s %q: err = %v, want a *paths.Error wrapping ErrUnsafe", c.what, value, err)
				continue
			}
			if pathErr.What != c.what || pathErr.Reason != reason {
				t.Errorf("%s %q: got %q (what %q), want what %q and reason %q", c.what, value, err, pathErr.What, c.what, reason)
			}
			if !strings.HasPrefix(err.Error(), c.what+" ") {
				t.Errorf("message %q does not start with %q", err, c.what)
			}
		}
	}
	for _, digest := range []string{"", "sha256:", strings.Repeat("x", 300)} {
		if _, err := l.EnvDir("w", "c", digest, "e"); !errors.Is(err, ErrUnsafe) {
			t.Errorf("deps digest %q: err = %v, want ErrUnsafe", digest, err)
		}
	}
	for _, ok := range []string{"0b7f8f0e-2f55-4a57-9d7e-0d1c5b0d9a11", "CONSOLE", "nullable", "com10", "LPT", "a.b", ".hidden", "ws-1"} {
		if err := CheckSegment("run id", ok); err != nil {
			t.Errorf("%q is refused: %v", ok, err)
		}
	}
}

func TestDigestSegment(t *testing.T) {
	for in, want := range map[string]string{
		"sha256:0123abcDEF": "0123abcDEF",
		"sha256:a.b/c:d e":  "a_b_c_d_e",
		"plain-digest_1":    "plain-digest_1",
		"md5:../../etc":     "______etc",
		"sha256:\x00\u00e9": "___",
		"":                  "",
		":x":                "x",
		"sha256:..":         "__",
	} {
		if got := DigestSegment(in); got != want {
			t.Errorf("DigestSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStagedInputName(t *testing.T) {
	long := strings.Repeat("é", 200) + ".xlsx"
	for in, want := range map[string]string{
		"Book1.xlsx":                    "Book1.xlsx",
		"../../etc/passwd":              "passwd",
		`C:\Users\me\data.csv`:          "data.csv",
		"a\x00b\nc.xlsx":                "a_b_c.xlsx",
		"":                              "input",
		"..":                            "input",
		"dir/":                          "input",
		"  spaced.xlsx  ":               "spaced.xlsx",
		"\xffbad.csv":                   "_bad.csv",
		long:                            strings.Repeat("é", 125) + ".xlsx",
		"nul.csv":                       "_nul.csv",
		"CON":                           "_CON",
		"com1 .xlsx":                    "_com1 .xlsx",
		"a:b?<c>.xlsx":                  "a_b__c_.xlsx",
		`say "hi"|*.csv`:                "say _hi___.csv",
		"report.xlsx. . ":               "report.xlsx",
		"...":                           "input",
		strings.Repeat("a", 254) + " b": strings.Repeat("a", 254),
	} {
		got := StagedInputName(in)
		if got != want {
			t.Errorf("StagedInputName(%q) = %q, want %q", in, got, want)
		}
		if err := CheckSegment("name", got); err != nil {
			t.Errorf("StagedInputName(%q) = %q is not a safe segment: %v", in, got, err)
		}
	}
}

func TestDocumentPath(t *testing.T) {
	tr := newTree(t)
	ok := func(rel string) string { return filepath.Join(tr.docs, rel) }
	tests := []struct {
		uri     string
		want    string // the resolved path, when it succeeds
		wantErr error  // ErrUnsafe, ErrNotFound or ErrNotRegular
	}{
		{uri: "file:a.xlsx", want: ok("a.xlsx")},
		{uri: "FILE:a.xlsx", want: ok("a.xlsx")},
		{uri: "file:///a.xlsx", want: ok("a.xlsx")},
		{uri: "file:/a.xlsx", want: ok("a.xlsx")},
		{uri: "file:sub/b.xlsx", want: ok("sub/b.xlsx")},
		{uri: "  file:sub/b.xlsx \n", want: ok("sub/b.xlsx")},
		{uri: "file:sub/../a.xlsx", want: ok("a.xlsx")},
		{uri: "file:./sub//b.xlsx", want: ok("sub/b.xlsx")},
		{uri: "sub/b.xlsx", want: ok("sub/b.xlsx")},
		{uri: "/a.xlsx", want: ok("a.xlsx")},
		{uri: "file:odd name.xlsx", want: ok("odd name.xlsx")},
		{uri: "file:100%.csv", want: ok("100%.csv")},
		{uri: `file:back\slash.csv`, want: ok(`back\slash.csv`)},
		{uri: "file:inner", want: ok("a.xlsx")},

		{uri: "", wantErr: ErrUnsafe},
		{uri: "   ", wantErr: ErrUnsafe},
		{uri: "file:", wantErr: ErrUnsafe},
		{uri: "file:///", wantErr: ErrUnsafe},
		{uri: "file:.", wantErr: ErrUnsafe},
		{uri: "file:sub/..", wantErr: ErrUnsafe},
		{uri: "file:../../../etc/passwd", wantErr: ErrUnsafe},
		{uri: "file:///../../etc/passwd", wantErr: ErrUnsafe},
		{uri: "file:sub/../../x", wantErr: ErrUnsafe},
		{uri: "../outside/secret", wantErr: ErrUnsafe},
		{uri: "file://host/a.xlsx", wantErr: ErrUnsafe},
		{uri: "file://../../etc/passwd", wantErr: ErrUnsafe},
		{uri: "s3://bucket/a.xlsx", wantErr: ErrUnsafe},
		{uri: "http://example.invalid/a.xlsx", wantErr: ErrUnsafe},
		{uri: "c:/a.xlsx", wantErr: ErrUnsafe},
		{uri: "file:a.xlsx\x00.txt", wantErr: ErrUnsafe},
		{uri: "\x00", wantErr: ErrUnsafe},
		{uri: "file:evil", wantErr: ErrUnsafe},
		{uri: "file:relevil", wantErr: ErrUnsafe},
		{uri: "file:linkdir/secret", wantErr: ErrUnsafe},
		{uri: "file:linkdir/missing", wantErr: ErrUnsafe},

		{uri: "file:/etc/passwd", wantErr: ErrNotFound},
		{uri: "file:missing.xlsx", wantErr: ErrNotFound},
		{uri: "file:..%2F..%2F..%2Foutside%2Fsecret", wantErr: ErrNotFound},
		{uri: "file:%2e%2e/%2e%2e/x", wantErr: ErrNotFound},
		{uri: "file:dir", wantErr: ErrNotRegular},
		{uri: "file:a.xlsx/x", wantErr: ErrNotFound},
	}
	if runtime.GOOS == "windows" {
		// There a backslash is a separator (see TestDocumentRelOn).
		for i := range tests {
			if tests[i].uri == `file:back\slash.csv` {
				tests[i].want, tests[i].wantErr = "", ErrUnsafe
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			got, err := tr.layout.DocumentPath("ws", tt.uri)
			f, openErr := tr.layout.OpenDocument("ws", tt.uri)
			if f != nil {
				defer f.Close()
			}
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("DocumentPath = %q, %v; want %q", got, err, tt.want)
				}
				if openErr != nil {
					t.Fatalf("OpenDocument: %v", openErr)
				}
				content, err := io.ReadAll(f)
				must(t, err)
				want, err := os.ReadFile(tt.want)
				must(t, err)
				if string(content) != string(want) {
					t.Errorf("OpenDocument read %q, want %q", content, want)
				}
				return
			}
			for name, e := range map[string]error{"DocumentPath": err, "OpenDocument": openErr} {
				var pathErr *Error
				if !errors.Is(e, tt.wantErr) || !errors.As(e, &pathErr) {
					t.Errorf("%s error = %v, want a *paths.Error wrapping %v", name, e, tt.wantErr)
					continue
				}
				if pathErr.What != "stored_uri" {
					t.Errorf("%s error names %q, want stored_uri", name, pathErr.What)
				}
			}
		})
	}
}

// A worker on Windows refuses a stored_uri whose path would name another
// file there than elsewhere; other workers accept it. Both rules are
// checked here, on every system.
func TestDocumentRelOn(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		windows string // the reason on Windows, "" when accepted
	}{
		{"file:sub/b.xlsx", ""},
		{"file:///sub/../a.xlsx", ""},
		{"file:odd name.xlsx", ""},
		{"file:.hidden/a.csv", ""},
		{`file:back\slash.csv`, "contains a backslash, which Windows reads as a separator"},
		{`file:..\..\x`, "contains a backslash, which Windows reads as a separator"},
		{"file:C:/Windows/win.ini", "names a drive (C:), not a path inside the documents folder"},
		{"file:///d:/x.csv", "names a drive (d:), not a path inside the documents folder"},
		{"file:a.xlsx:stream", `has a part "a.xlsx:stream" that contains a character Windows does not allow in a file name (one of <>:"|?*)`},
		{"file:sub/NUL.csv", `has a part "NUL.csv" that is a device name on Windows (CON, NUL, COM1, LPT1...)`},
		{"file:con/a.csv", `has a part "con" that is a device name on Windows (CON, NUL, COM1, LPT1...)`},
		{"file:sub./a.csv", `has a part "sub." that ends with a dot or a space, which Windows drops`},
	} {
		if _, err := documentRelOn(tc.uri, false); err != nil {
			t.Errorf("%q elsewhere: %v, want it accepted", tc.uri, err)
		}
		_, err := documentRelOn(tc.uri, true)
		var pathErr *Error
		switch {
		case tc.windows == "" && err != nil:
			t.Errorf("%q on Windows: %v, want it accepted", tc.uri, err)
		case tc.windows != "" && (!errors.As(err, &pathErr) || !errors.Is(err, ErrUnsafe) || pathErr.Reason != tc.windows):
			t.Errorf("%q on Windows: %v, want ErrUnsafe because it %s", tc.uri, err, tc.windows)
		}
	}
}

// The interpreter of a virtual environment is where venv puts it.
func TestVenvPython(t *testing.T) {
	want := filepath.Join("v", ".venv", "bin", "python")
	if runtime.GOOS == "windows" {
		want = filepath.Join("v", ".venv", "Scripts", "python.exe")
	}
	if got := VenvPython(filepath.Join("v", ".venv")); got != want {
		t.Errorf("VenvPython = %q, want %q", got, want)
	}
}

func TestDocumentPathSymlinkedDataDir(t *testing.T) {
	tr := newTree(t)
	link := filepath.Join(t.TempDir(), "data-link")
	must(t, os.Symlink(tr.layout.DataDir, link))
	l, err := New(link)
	must(t, err)
	got, err := l.DocumentPath("ws", "file:a.xlsx")
	if err != nil || got != filepath.Join(tr.docs, "a.xlsx") {
		t.Errorf("DocumentPath through a symlinked data folder = %q, %v", got, err)
	}
}

func TestDocumentPathLoop(t *testing.T) {
	tr := newTree(t)
	_, err := tr.layout.DocumentPath("ws", "file:loop")
	if err == nil {
		t.Fatal("a symlink loop resolved")
	}
	if _, err := tr.layout.OpenDocument("ws", "file:loop"); err == nil {
		t.Fatal("OpenDocument opened a symlink loop")
	}
}

func TestSafeJoinInside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "run")
	outside := filepath.Join(base, "outside.txt")
	must(t, os.MkdirAll(filepath.Join(root, "output"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "output", "normalized.xlsx"), nil, 0o644))
	must(t, os.WriteFile(outside, nil, 0o644))
	must(t, os.Symlink(outside, filepath.Join(root, "output", "evil")))
	must(t, os.Symlink(base, filepath.Join(root, "output", "up")))
	rootLink := filepath.Join(base, "run-link")
	must(t, os.Symlink(root, rootLink))

	tests := []struct {
		root, p string
		want    string
		wantErr bool
	}{
		{root: root, p: "output/normalized.xlsx", want: "output/normalized.xlsx"},
		{root: root, p: filepath.Join(root, "output", "normalized.xlsx"), want: "output/normalized.xlsx"},
		{root: root, p: filepath.Join(root, "output", "..", "output", "normalized.xlsx"), want: "output/normalized.xlsx"},
		{root: root, p: "output/not-yet.xlsx", want: "output/not-yet.xlsx"},
		{root: rootLink, p: filepath.Join(root, "output", "normalized.xlsx"), want: "output/normalized.xlsx"},
		{root: root, p: filepath.Join(rootLink, "output", "normalized.xlsx"), want: "output/normalized.xlsx"},
		{root: root, p: "output", want: "output"},
		{root: rootLink, p: filepath.Join(root, "output", "later.xlsx"), want: "output/later.xlsx"},
		{root: filepath.Join(base, "no-run-yet"), p: "output/x.xlsx", want: "output/x.xlsx"},

		{root: root, p: "", wantErr: true},
		{root: root, p: ".", wantErr: true},
		{root: root, p: root, wantErr: true},
		{root: root, p: filepath.Join(base, "elsewhere", "passwd"), wantErr: true},
		{root: root, p: "../outside.txt", wantErr: true},
		{root: root, p: "../missing.txt", wantErr: true},
		{root: root, p: "output/../../outside.txt", wantErr: true},
		{root: root, p: "output/evil", wantErr: true},
		{root: root, p: "output/up/outside.txt", wantErr: true},
		{root: root, p: "output/up/missing.txt", wantErr: true},
		{root: root, p: "output/normalized.xlsx\x00", wantErr: true},
	}
	for _, tt := range tests {
		got, err := SafeJoinInside(tt.root, tt.p)
		if tt.wantErr {
			if err == nil || !errors.Is(err, ErrUnsafe) {
				t.Errorf("SafeJoinInside(%q, %q) = %q, %v; want ErrUnsafe", tt.root, tt.p, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("SafeJoinInside(%q, %q) = %q, %v; want %q", tt.root, tt.p, got, err, tt.want)
		}
	}
}

func TestErrorMessageIsBounded(t *testing.T) {
	err := CheckSegment("run id", strings.Repeat("/", 10000))
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("message of %d bytes: %v", len(err.Error()), err)
	}
}
