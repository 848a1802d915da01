package runopts

import (
	"strconv"
	"strings"
	"testing"
)

// TestManySheets: 200,000 sheet names, half of them repeated, are read in
// one pass (a quadratic dedupe took tens of seconds), in order, each once.
func TestManySheets(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"input_sheet_names": [`)
	for i := range 200_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"S` + strconv.Itoa(i%100_000) + `"`)
	}
	b.WriteString(`]}`)
	opts, err := Parse(b.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.InputSheets) != 100_000 || opts.InputSheets[0] != "S0" || opts.InputSheets[99_999] != "S99999" {
		t.Fatalf("%d sheets, first %q, last %q; want S0 to S99999 once each", len(opts.InputSheets), opts.InputSheets[0], opts.InputSheets[len(opts.InputSheets)-1])
	}
}
