package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

func probe(t *testing.T, url string) (int, map[string]any, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("GET %s: %q is not JSON: %v", url, b, err)
		}
	}
	return resp.StatusCode, body, string(b)
}

// TestProbes checks what /healthz and /readyz answer as the loop and the
// database change under them, without running the loop: the test moves
// the loop's clock and the database itself.
func TestProbes(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "ade.sqlite")
	st := storetest.SQLiteAt(t, dbPath)
	cfg, err := config.Load([]string{"ADE_WORKER_DATA_DIR=" + t.TempDir(), "ADE_WORKER_ID=probe-worker", "ADE_WORKER_POLL_INTERVAL_MAX=1", "ADE_WORKER_CLEANUP_INTERVAL=1"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(cfg, st, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := w.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String()

	// A second server on the same address fails at once, not later.
	if _, err := w.Serve(ctx, addr.String()); err == nil {
		t.Error("serving twice on one address did not fail")
	}

	// /healthz: healthy while the loop goes round; a loop silent for much
	// longer than its longest wait is stuck.
	if code, body, raw := probe(t, base+"/healthz"); code != 503 || body["ok"] != false {
		t.Errorf("/healthz before the loop ever ran = %d %s", code, raw)
	}
	w.lastLoop.Store(time.Now().UnixNano())
	code, body, raw := probe(t, base+"/healthz")
	if code != 200 || body["ok"] != true {
		t.Errorf("/healthz with a live loop = %d %s", code, raw)
	}
	limit, _ := body["limit_seconds"].(float64)
	if limit < 3 || limit > 60 {
		t.Errorf("/healthz limit %v s for 1 s poll and sweep intervals", limit)
	}
	w.lastLoop.Store(time.Now().Add(-time.Duration(limit+1) * time.Second).UnixNano())
	if code, _, raw := probe(t, base+"/healthz"); code != 503 {
		t.Errorf("/healthz with a stuck loop = %d %s", code, raw)
	}

	// /readyz: the database answers and its schema is current.
	ready := func(want int, mention string) {
		t.Helper()
		code, body, raw := probe(t, base+"/readyz")
		if code != want || body["ok"] != (want == 200) {
			t.Errorf("/readyz = %d %s, want %d", code, raw, want)
		}
		if mention != "" && !strings.Contains(raw, mention) {
			t.Errorf("/readyz = %s, want it to mention %q", raw, mention)
		}
	}
	ready(200, "")
	if _, err := st.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	ready(503, "ade-worker migrate up")
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	ready(200, "")

	// The file moved away while the pool still holds it open.
	if err := os.Rename(dbPath, dbPath+".away"); err != nil {
		t.Fatal(err)
	}
	ready(503, "database not ready")
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("the probe created a database at the missing path: %v", err)
	}
	if err := os.WriteFile(dbPath, []byte(strings.Repeat("garbage ", 1024)), 0o644); err != nil {
		t.Fatal(err)
	}
	ready(503, "database not ready")
	if err := os.Rename(dbPath+".away", dbPath); err != nil {
		t.Fatal(err)
	}
	ready(200, "")

	// /metrics serves the worker's registry.
	if code, _, raw := probe(t, base+"/metrics"); code != 200 || !strings.Contains(raw, "ade_worker_slots ") || !strings.Contains(raw, "go_goroutines ") {
		t.Errorf("/metrics = %d %.300s", code, raw)
	}

	// The server stops with its context.
	cancel()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get(base + "/healthz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still answers after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
