package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Serve exposes /metrics, /healthz (the loop went round recently) and
// /readyz (the database answers and its schema is current) on addr until ctx
// is done. It returns once listening, reporting the bound address.
func (w *Worker) Serve(ctx context.Context, addr string) (net.Addr, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(w.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, r *http.Request) {
		// The loop waits at most POLL_INTERVAL_MAX (or a sweep interval when
		// all slots are busy) between iterations; a loop silent for much
		// longer than that is stuck.
		limit := 3*max(w.cfg.PollIntervalMax, w.cfg.CleanupInterval, ensureInterval) + 10*time.Second
		age := time.Since(w.LastLoop())
		writeProbe(rw, age < limit, map[string]any{"loop_age_seconds": age.Seconds(), "limit_seconds": limit.Seconds()})
	})
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		// A real query on a fresh connection: a ping on a pooled SQLite
		// connection would still succeed after its file was moved away.
		if err := w.st.Probe(rctx); err != nil {
			writeProbe(rw, false, map[string]any{"error": "database not ready: " + err.Error()})
			return
		}
		writeProbe(rw, true, nil)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error("http server stopped", slog.String("error", err.Error()))
		}
	}()
	w.log.Info("serving /metrics, /healthz and /readyz", slog.String("addr", ln.Addr().String()))
	return ln.Addr(), nil
}

func writeProbe(rw http.ResponseWriter, ok bool, detail map[string]any) {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["ok"] = ok
	rw.Header().Set("Content-Type", "application/json")
	if !ok {
		rw.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(rw).Encode(detail)
}
