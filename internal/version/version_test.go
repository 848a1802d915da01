package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/ade-dev/ade-worker", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "3e6ad0612ab4c0ffee3e6ad0612ab4c0ffee3e6a"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := FromBuildInfo(bi)
	want := Info{Version: "v1.2.3", Revision: "3e6ad0612ab4c0ffee3e6ad0612ab4c0ffee3e6a", Modified: true, Time: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8"}
	if got != want {
		t.Fatalf("FromBuildInfo = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "ade-worker v1.2.3 (revision 3e6ad0612ab4c0ffee3e6ad0612ab4c0ffee3e6a+dirty, 2026-01-02T03:04:05Z, go1.26.8)" {
		t.Errorf("String = %q", s)
	}

	// A build from a checkout without VCS stamping (go run, go test,
	// -buildvcs=false) says so rather than printing empty fields.
	bare := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}})
	if s := bare.String(); s != "ade-worker (devel) (revision unknown, go1.26.8)" {
		t.Errorf("String = %q", s)
	}
	if FromBuildInfo(nil).Version != "(devel)" || !strings.HasPrefix(FromBuildInfo(nil).GoVersion, "go") {
		t.Errorf("FromBuildInfo(nil) = %+v", FromBuildInfo(nil))
	}
}

func TestOverride(t *testing.T) {
	defer func(old string) { override = old }(override)
	override = "v9.9.9"
	if v := FromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}).Version; v != "v9.9.9" {
		t.Errorf("Version = %q with the -X override set", v)
	}
}
