package store_test

import (
	"os"
	"testing"

	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.LockProbeMain()
	os.Exit(m.Run())
}
