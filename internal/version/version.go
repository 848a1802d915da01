// Package version says which build of the worker is running, from what the
// Go toolchain records in every binary: the module version, and, for a
// binary built with `go build` in a git checkout, the commit, its time and
// whether the tree had changes.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// override replaces the module version when a release build sets it:
//
//	go build -ldflags "-X github.com/ade-dev/ade-worker/internal/version.override=v1.2.3"
var override = ""

// Info is one build's version.
type Info struct {
	// Version is the module version: a tag such as v1.2.3 for `go install
	// ...@v1.2.3`, "(devel)" for a build from a checkout.
	Version string `json:"version"`
	// Revision is the commit the binary was built from (vcs.revision),
	// empty when the build did not record one (go run, -buildvcs=false,
	// no git).
	Revision string `json:"revision,omitempty"`
	// Modified is vcs.modified: the tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Time is vcs.time, the commit's time (RFC 3339), empty when unknown.
	Time string `json:"time,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// Get is the running binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	return FromBuildInfo(bi)
}

// FromBuildInfo reads an Info from build information; nil gives what is
// known without it.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Version: "(devel)", GoVersion: runtime.Version()}
	if bi != nil {
		if bi.Main.Version != "" {
			i.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			i.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			case "vcs.time":
				i.Time = s.Value
			}
		}
	}
	if override != "" {
		i.Version = override
	}
	return i
}

// RevisionLabel is the revision with "+dirty" when the tree had changes,
// "unknown" when none was recorded.
func (i Info) RevisionLabel() string {
	if i.Revision == "" {
		return "unknown"
	}
	if i.Modified {
		return i.Revision + "+dirty"
	}
	return i.Revision
}

// String is the one line `ade-worker version` prints, e.g.
// "ade-worker v1.2.3 (revision 3e6ad0612ab4..., 2026-01-02T03:04:05Z, go1.26.1)".
func (i Info) String() string {
	parts := []string{"revision " + i.RevisionLabel()}
	if i.Time != "" {
		parts = append(parts, i.Time)
	}
	parts = append(parts, i.GoVersion)
	return fmt.Sprintf("ade-worker %s (%s)", i.Version, strings.Join(parts, ", "))
}
