package engine

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestCheckArgs: command lines that fit pass; one argument beyond the
// per-argument bound (Linux) and a total beyond the system's limit fail
// with ErrArgsTooLong and a reason with the numbers.
func TestCheckArgs(t *testing.T) {
	t.Parallel()
	env := ChildEnv([]string{"PATH=/usr/bin:/bin", "HOME=/home/ade"})
	if err := CheckArgs("/usr/bin/python3", []string{"-m", "ade_engine", "process", "file"}, env); err != nil {
		t.Errorf("a short command line: %v", err)
	}
	sheets := make([]string, 0, 400_000)
	for range 200_000 {
		sheets = append(sheets, "--input-sheet", "Sheet")
	}
	err := CheckArgs("/usr/bin/python3", sheets, env)
	if !errors.Is(err, ErrArgsTooLong) || !strings.Contains(err.Error(), "400000 arguments") {
		t.Errorf("200,000 sheets: %v; want ErrArgsTooLong counting 400000 arguments", err)
	}
	if runtime.GOOS == "linux" {
		err := CheckArgs("/usr/bin/python3", []string{"--x", strings.Repeat("a", 300_000)}, env)
		if !errors.Is(err, ErrArgsTooLong) || !strings.Contains(err.Error(), "argument 2 is 300000 bytes long") {
			t.Errorf("one 300 KB argument: %v; want ErrArgsTooLong naming argument 2", err)
		}
	}
}

// TestCheckArgsAgreesWithExec starts real processes: what CheckArgs passes
// starts, and what it refuses fails to start with E2BIG, so the check
// neither refuses a run that would start nor lets through one that cannot.
func TestCheckArgsAgreesWithExec(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the limits are measured against Linux's exec here")
	}
	env := ChildEnv([]string{"PATH=/usr/bin:/bin"})
	limit := argLimits()
	// Just under the total: arguments of 100 KiB each.
	var fits []string
	for stringsAndPointers("/bin/true", append(fits, strings.Repeat("a", 100<<10)), env) < limit.total {
		fits = append(fits, strings.Repeat("a", 100<<10))
	}
	over := append(append([]string{}, fits...), strings.Repeat("a", 100<<10), strings.Repeat("a", 100<<10))
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"just under the total", fits, true},
		{"over the total", over, false},
		{"one argument too long", []string{strings.Repeat("a", 200<<10)}, false},
		{"one argument at the bound", []string{strings.Repeat("a", limit.perString-1)}, true},
	}
	for _, c := range cases {
		checked := CheckArgs("/bin/true", c.args, env)
		res, startErr := Run(context.Background(), Spec{Path: "/bin/true", Args: c.args, Env: env})
		if c.ok {
			if checked != nil || startErr != nil || res.ExitCode != 0 {
				t.Errorf("%s: CheckArgs %v, start %v, exit %d; want both to pass", c.name, checked, startErr, res.ExitCode)
			}
			continue
		}
		if !errors.Is(checked, ErrArgsTooLong) || !errors.Is(startErr, syscall.E2BIG) {
			t.Errorf("%s: CheckArgs %v, start %v; want ErrArgsTooLong and E2BIG", c.name, checked, startErr)
		}
	}
}
