// Package apptest holds what the end-to-end tests of the worker and of the
// operator commands share: the repository's own reference engine copied
// where an editable install may write, the environment their subprocesses
// start from, and a log buffer a failed test prints.
package apptest

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// RepoRoot is the repository's root folder (for examples/ and apps/).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CopyEngine copies the reference engine (apps/ade-engine) to dst, without
// build leftovers or tests: an editable install writes into the project
// folder, and several test packages may build at once.
func CopyEngine(dst string) error {
	return CopyProject(filepath.Join(RepoRoot(), "apps", "ade-engine"), dst)
}

// CopyProject copies a Python project without build leftovers or tests.
func CopyProject(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := d.Name()
		if p != src && (name == "__pycache__" || name == "tests" || name == "build" || strings.HasSuffix(name, ".egg-info") || strings.HasSuffix(name, "_test.go")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// SubprocessEnviron is what the worker's subprocesses start from: this
// process's environment without any PIP_ or ADE_ setting of the machine,
// and pip with no index and nothing to find: the reference engine and the
// example configuration build with their own standard-library backend.
func SubprocessEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PIP_") || strings.HasPrefix(kv, "ADE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PIP_NO_INDEX=1", "PIP_CONFIG_FILE="+os.DevNull, "PYTHONDONTWRITEBYTECODE=1")
}

// LogBuffer collects a worker's log; a failed test prints it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger logs at DEBUG into b.
func (b *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
