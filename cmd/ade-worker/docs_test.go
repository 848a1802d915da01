package main

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The README's development tree names every package folder under cmd/ and
// internal/, so a newcomer finds each one.
func TestREADMETreeNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, tree, _ := strings.Cut(string(readme), "## Development")
	for _, parent := range []string{"cmd", "internal"} {
		entries, err := os.ReadDir(filepath.Join(repoRoot, parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && !strings.Contains(tree, "\n"+parent+"/"+e.Name()+"/ ") {
				t.Errorf("README's development tree lacks %s/%s/", parent, e.Name())
			}
		}
	}
}

// The Taskfile runs without an installed `task`: no command shells out to
// one (the default task lists tasks through {{.TASK_EXE}}, the running
// binary, which `go tool task` is).
func TestTaskfileNeedsNoTaskBinary(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Taskfile.yml"))
	if err != nil {
		t.Fatal(err)
	}
	shellsOut := regexp.MustCompile(`(?m)^\s*-\s*["']?task\s`)
	if m := shellsOut.FindAllString(string(b), -1); len(m) > 0 {
		t.Errorf("Taskfile.yml runs a task binary: %q; use {{.TASK_EXE}}", m)
	}
}

// The Taskfile and docs/performance.md give the same duration for the bench.
func TestBenchDurationAgrees(t *testing.T) {
	about := regexp.MustCompile(`about (\d+) minutes`)
	var found []string
	for _, name := range []string{"Taskfile.yml", filepath.Join("docs", "performance.md")} {
		b, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		var line string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "bench") && about.MatchString(l) {
				line = l
				break
			}
		}
		m := about.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s gives no duration for the bench", name)
		}
		found = append(found, m[1])
	}
	if found[0] != found[1] {
		t.Errorf("the bench takes about %s minutes in the Taskfile and about %s in docs/performance.md", found[0], found[1])
	}
}

// The README's architecture block lists, for every package under cmd/ and
// internal/ (test helpers aside), exactly what it imports from this module.
func TestREADMEArchitectureMatchesTheImports(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Architecture")
	_, block, _ := strings.Cut(section, "```text\n")
	block, _, _ = strings.Cut(block, "```")
	listed := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		pkgs, imports, ok := strings.Cut(line, "->")
		if !ok {
			t.Fatalf("architecture line without ->: %q", line)
		}
		deps := strings.Fields(imports)
		if strings.TrimSpace(imports) == "(nothing)" {
			deps = nil
		}
		for _, p := range strings.Fields(pkgs) {
			listed[p] = deps
		}
	}
	for _, pkg := range modulePackages(t) {
		want, ok := listed[pkg]
		if !ok {
			t.Errorf("README's architecture does not list %s", pkg)
			continue
		}
		got := moduleImports(t, pkg)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s imports %v; README's architecture says %v", pkg, got, want)
		}
		delete(listed, pkg)
	}
	for pkg := range listed {
		t.Errorf("README's architecture lists %s, which is not a package", pkg)
	}
}

// modulePackages are the packages under cmd/ and internal/ other than test
// helpers (a test-only package, storetest, apptest, twins' example output).
func modulePackages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, parent := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, parent), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			switch d.Name() {
			case "testdata", "storetest", "apptest", "reliability":
				return filepath.SkipDir
			}
			if strings.Contains(p, filepath.Join("twins", "internal")) {
				return filepath.SkipDir
			}
			if pkg, err := build.ImportDir(p, 0); err == nil && len(pkg.GoFiles) > 0 {
				rel, _ := filepath.Rel(repoRoot, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// moduleImports is what pkg's non-test files import from this module,
// sorted, as module-relative paths.
func moduleImports(t *testing.T, pkg string) []string {
	t.Helper()
	p, err := build.ImportDir(filepath.Join(repoRoot, filepath.FromSlash(pkg)), 0)
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/ade-dev/ade-worker/"
	var out []string
	for _, imp := range p.Imports {
		if rel, ok := strings.CutPrefix(imp, module); ok {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}
