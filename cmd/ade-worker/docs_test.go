package main

import (
	"os"
	"path/filepath"
	"regexp"
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
