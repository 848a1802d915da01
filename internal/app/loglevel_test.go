package app

import (
	"log/slog"
	"testing"

	"github.com/ade-dev/ade-worker/internal/runopts"
)

// A run that names no log level gets the worker's; one that names it keeps
// its own.
func TestEngineLogLevelFollowsTheWorker(t *testing.T) {
	cases := map[slog.Level]string{
		slog.LevelDebug - 4: "DEBUG", slog.LevelDebug: "DEBUG", slog.LevelInfo: "INFO",
		slog.LevelWarn: "WARNING", slog.LevelError: "ERROR", slog.LevelError + 4: "ERROR",
	}
	for level, want := range cases {
		if got := engineLogLevel(level); got != want {
			t.Errorf("engineLogLevel(%v) = %q, want %q", level, got, want)
		}
	}
	unset, err := runopts.Parse(`{"dry_run": false}`, "")
	if err != nil || unset.LogLevelSet {
		t.Fatalf("Parse without log_level: set = %v, %v", unset.LogLevelSet, err)
	}
	set, err := runopts.Parse(`{"log_level": "error"}`, "")
	if err != nil || !set.LogLevelSet || set.LogLevel != "ERROR" {
		t.Fatalf("Parse with log_level: %+v, %v", set, err)
	}
}
