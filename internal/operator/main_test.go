package operator_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/apptest"
	"github.com/ade-dev/ade-worker/internal/config"
)

// waitLimit bounds a demo: far above what it takes on a loaded machine,
// so only a hang reaches it.
const waitLimit = 2 * time.Minute

var (
	repoRoot = apptest.RepoRoot()
	// engineSpec is a private copy of apps/ade-engine (see apptest.CopyEngine).
	engineSpec string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ade-operator-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create package folder:", err)
		os.Exit(2)
	}
	engineSpec = filepath.Join(dir, "ade-engine")
	if err := apptest.CopyEngine(engineSpec); err != nil {
		fmt.Fprintln(os.Stderr, "copy the reference engine:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// baseSettings are the demo's settings in a test: a data folder of the
// test's own, the private engine copy, quick polls and backoffs.
func baseSettings(dataDir string) []string {
	return []string{
		"ADE_WORKER_DATA_DIR=" + dataDir,
		"ADE_ENGINE_PACKAGE_PATH=" + engineSpec,
		"ADE_WORKER_ID=operator-test",
		"ADE_WORKER_POLL_INTERVAL=0.05",
		"ADE_WORKER_POLL_INTERVAL_MAX=0.2",
		"ADE_WORKER_BACKOFF_BASE_SECONDS=0.2",
		"ADE_WORKER_BACKOFF_MAX_SECONDS=2",
		"ADE_WORKER_ENABLE_GC=0",
		"ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS=300",
		"ADE_WORKER_LOG_LEVEL=DEBUG",
	}
}

// loadConfig loads settings as the binary would, later entries winning.
func loadConfig(settings []string) (config.Config, error) { return config.Load(settings) }

// logBuffer collects the demo's worker log; a failed test prints it.
type logBuffer = apptest.LogBuffer
