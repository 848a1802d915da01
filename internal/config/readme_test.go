package config

import (
	"os"
	"strings"
	"testing"
)

// The README's settings table is the operator's reference: every setting
// the worker reads must be in it, with its default, and nothing else.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `ADE_") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
	}
	for _, s := range Documented() {
		def, ok := rows[s.Name]
		if !ok {
			t.Errorf("README settings table lacks %s", s.Name)
			continue
		}
		if s.Default != "" && !strings.Contains(def, s.Default) {
			t.Errorf("README gives %s the default %q; the code's is %q", s.Name, def, s.Default)
		}
		delete(rows, s.Name)
	}
	for name := range rows {
		t.Errorf("README documents %s, which the worker does not read", name)
	}
}
