package engine

import "strings"

// secretMarkers are parts of variable names that mark a credential. The
// engine runs configuration code written by users, so it gets none of them.
var secretMarkers = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CONNECTION_STRING"}

// ChildEnv returns the environment for a subprocess: base (usually
// os.Environ()) without the worker's database settings (ADE_DATABASE_*) and
// without any variable whose name looks like a credential (PASSWORD, SECRET,
// TOKEN, KEY... such as AZURE_CLIENT_SECRET), then PYTHONUNBUFFERED=1 so
// events arrive as they happen, then extra ("NAME=value" entries, kept as
// given). The operator's PIP_* settings pass through even when their names
// match, since pip needs them to reach a private index. A later entry for a
// name replaces an earlier one.
func ChildEnv(base []string, extra ...string) []string {
	out := make([]string, 0, len(base)+len(extra)+1)
	index := make(map[string]int, cap(out))
	set := func(kv string) {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return
		}
		if i, seen := index[name]; seen {
			out[i] = kv
			return
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if inherits(name) {
			set(kv)
		}
	}
	set("PYTHONUNBUFFERED=1")
	for _, kv := range extra {
		set(kv)
	}
	return out
}

// inherits reports whether a variable of the worker may reach a subprocess.
func inherits(name string) bool {
	upper := strings.ToUpper(name)
	if strings.HasPrefix(upper, "ADE_DATABASE_") {
		return false
	}
	if strings.HasPrefix(name, "PIP_") {
		return true
	}
	for _, marker := range secretMarkers {
		if strings.Contains(upper, marker) {
			return false
		}
	}
	return true
}
