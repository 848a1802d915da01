package main

import (
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
)

// closeStore closes st, waiting at most wait for it (a negative wait: as
// long as it takes).
func closeStore(st *store.Store, wait time.Duration) {
	if wait < 0 {
		_ = st.Close()
		return
	}
	closed := make(chan struct{})
	go func() { _ = st.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(wait):
	}
}
