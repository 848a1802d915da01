package twins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLint runs every case in testdata/lint: files named claim_* through
// CheckClaim, files named time_* through CheckTimeCasts, with the "-- want:"
// lines of TestBindFailures.
func TestLint(t *testing.T) {
	files, err := filepath.Glob("testdata/lint/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no lint cases: %v", err)
	}
	for _, file := range files {
		base := filepath.Base(file)
		t.Run(strings.TrimSuffix(base, ".sql"), func(t *testing.T) {
			check := CheckTimeCasts
			if strings.HasPrefix(base, "claim_") {
				check = CheckClaim
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wants, _ := caseDirectives(src)
			twins, err := ParseFile(file, src)
			if err != nil {
				t.Fatal(err)
			}
			var list ErrorList
			for _, tw := range twins {
				err := check(context.Background(), tw)
				var one *Error
				var many ErrorList
				switch {
				case err == nil:
				case errors.As(err, &many):
					list = append(list, many...)
				case errors.As(err, &one):
					list = append(list, one)
				default:
					t.Fatalf("%s: unexpected error type %T: %v", tw.Name, err, err)
				}
			}
			assertErrors(t, list.err(), wants)
		})
	}
}

func TestIsTimeParam(t *testing.T) {
	for name, want := range map[string]bool{
		"now": true, "Now": true, "available_at": true, "due_before": true, "created_after": true,
		"gc_cutoff": true, "cutoff": true, "worker_id": false, "lease_seconds": false, "nowhere": false,
		"format": false,
	} {
		if got := IsTimeParam(name); got != want {
			t.Errorf("IsTimeParam(%q) = %v, want %v", name, got, want)
		}
	}
}
