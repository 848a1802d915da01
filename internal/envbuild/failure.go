package envbuild

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ade-dev/ade-worker/internal/engine"
)

// maxErrorOutput bounds the subprocess output quoted in an error: enough
// for pip's closing ERROR lines, short enough for a database column and a
// person.
const maxErrorOutput = 2 << 10

// describeFailure says how a step ended and quotes the lines of its stderr
// that explain it, bounded to maxErrorOutput bytes. pip and Python bury the
// reason under progress lines and traceback frames, so the lines that carry
// it (pip's "ERROR:"/"error:" lines, its "×" summaries, an exception line)
// are quoted when there are any, with the last line; otherwise the last
// lines are. The full output stays in the event log.
func describeFailure(res engine.Result) string {
	how := fmt.Sprintf("exit status %d", res.ExitCode)
	if res.Signal != "" {
		how = "killed by " + res.Signal
	}
	var lines []string
	for _, line := range res.Tail {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return how
	}
	var telling []string
	seen := map[string]bool{}
	for i, line := range lines {
		if (isReason(line) || i == len(lines)-1) && !seen[line] {
			seen[line] = true
			telling = append(telling, line)
		}
	}
	if len(telling) > 1 || isReason(telling[0]) {
		lines = telling
	}
	return how + ": " + lastBytes(lines, maxErrorOutput)
}

// exceptionLine matches the last line of a Python traceback, e.g.
// "ModuleNotFoundError: No module named 'x'" or "pkg.mod.SomeError: ...".
var exceptionLine = regexp.MustCompile(`^([A-Za-z_]\w*\.)*[A-Za-z_]\w*(Error|Exception|Exit|Interrupt)(:|$)`)

func isReason(line string) bool {
	return strings.HasPrefix(line, "ERROR:") || strings.HasPrefix(line, "error:") ||
		strings.HasPrefix(line, "×") || exceptionLine.MatchString(line)
}

// lastBytes joins the last of lines that fit in limit bytes; a single line
// too long for it keeps its end.
func lastBytes(lines []string, limit int) string {
	start, size := len(lines), 0
	for start > 0 && size+len(lines[start-1])+1 <= limit {
		start--
		size += len(lines[start]) + 1
	}
	if start == len(lines) {
		line := lines[len(lines)-1]
		cut := len(line) - limit
		for cut < len(line) && !utf8.RuneStart(line[cut]) {
			cut++
		}
		return "…" + line[cut:]
	}
	return strings.Join(lines[start:], "\n")
}
