package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// workerPath is the absolute path of the ade-worker binary to measure:
// named, the binary given with --worker (a bare name is looked up on
// PATH); else the ade-worker beside self, this command's executable, where
// `go build -o bin/ ./cmd/ade-worker ./cmd/ade-bench` and `task bench` put
// it. Nothing is built here: what is measured is a binary someone chose.
func workerPath(named, self string) (string, error) {
	if named != "" {
		p, err := exec.LookPath(named)
		if err != nil {
			return "", fmt.Errorf("--worker: %w", err)
		}
		return filepath.Abs(p)
	}
	if real, err := filepath.EvalSymlinks(self); err == nil {
		self = real
	}
	// exec.LookPath of a path checks that it is a program and, on
	// Windows, adds its extension.
	p, err := exec.LookPath(filepath.Join(filepath.Dir(self), "ade-worker"))
	if err != nil {
		return "", fmt.Errorf("no ade-worker beside this executable (%s): build both commands into one folder "+
			"(go build -o bin/ ./cmd/ade-worker ./cmd/ade-bench) or name the binary with --worker PATH", filepath.Dir(self))
	}
	return filepath.Abs(p)
}
