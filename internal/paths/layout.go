// Package paths places every file of the worker under the data folder it
// shares with the ADE API, and makes sure no value read from the database
// (ids, digests, stored_uri, file names, paths the engine reports) can lead
// outside the folder it belongs to.
package paths

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
)

// Layout resolves the folders under one data folder:
//
//	db/ade.sqlite
//	cache/pip
//	workspaces/<ws>/config_packages/<configuration_id>/
//	workspaces/<ws>/documents/<stored path>
//	workspaces/<ws>/runs/<run_id>/{input/,output/,logs/events.ndjson}
//	venvs/<ws>/<configuration_id>/deps-<digest>/<environment_id>/{.venv/,logs/events.ndjson}
type Layout struct {
	// DataDir is absolute and clean.
	DataDir string
}

// New returns the Layout of dataDir, made absolute against the working
// directory so later changes of directory cannot move it.
func New(dataDir string) (Layout, error) {
	if dataDir == "" {
		return Layout{}, errors.New("data folder: path is empty")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return Layout{}, fmt.Errorf("data folder %q: %w", dataDir, err)
	}
	return Layout{DataDir: abs}, nil
}

// DBPath is the default SQLite database file.
func (l Layout) DBPath() string { return filepath.Join(l.DataDir, "db", "ade.sqlite") }

// PipCacheDir is PIP_CACHE_DIR for environment builds, shared by all of them.
func (l Layout) PipCacheDir() string { return filepath.Join(l.DataDir, "cache", "pip") }

// WorkspacesDir holds one folder per workspace.
func (l Layout) WorkspacesDir() string { return filepath.Join(l.DataDir, "workspaces") }

// VenvsDir holds the virtual environments of every workspace.
func (l Layout) VenvsDir() string { return filepath.Join(l.DataDir, "venvs") }

// WorkspaceDir is the folder of one workspace.
func (l Layout) WorkspaceDir(workspaceID string) (string, error) {
	if err := CheckSegment("workspace id", workspaceID); err != nil {
		return "", err
	}
	return filepath.Join(l.WorkspacesDir(), workspaceID), nil
}

// ConfigPackageDir is the configuration package: a pip-installable project
// the API wrote.
func (l Layout) ConfigPackageDir(workspaceID, configurationID string) (string, error) {
	ws, err := l.WorkspaceDir(workspaceID)
	if err != nil {
		return "", err
	}
	if err := CheckSegment("configuration id", configurationID); err != nil {
		return "", err
	}
	return filepath.Join(ws, "config_packages", configurationID), nil
}

// DocumentsDir is where the API stores a workspace's uploaded documents.
func (l Layout) DocumentsDir(workspaceID string) (string, error) {
	ws, err := l.WorkspaceDir(workspaceID)
	if err != nil {
		return "", err
	}
	return filepath.Join(ws, "documents"), nil
}

// RunPaths are the files of one run.
type RunPaths struct {
	Dir    string // workspaces/<ws>/runs/<run_id>
	Input  string // Dir/input: the staged copy of the document
	Output string // Dir/output: passed to the engine as --output-dir
	Logs   string // Dir/logs
	Events string // Dir/logs/events.ndjson
}

// StagedInput is where the document is copied for the engine, named after
// its original file name made safe by StagedInputName.
func (r RunPaths) StagedInput(originalFilename string) string {
	return filepath.Join(r.Input, StagedInputName(originalFilename))
}

// Run returns the paths of one run.
func (l Layout) Run(workspaceID, runID string) (RunPaths, error) {
	ws, err := l.WorkspaceDir(workspaceID)
	if err != nil {
		return RunPaths{}, err
	}
	if err := CheckSegment("run id", runID); err != nil {
		return RunPaths{}, err
	}
	dir := filepath.Join(ws, "runs", runID)
	return RunPaths{
		Dir:    dir,
		Input:  filepath.Join(dir, "input"),
		Output: filepath.Join(dir, "output"),
		Logs:   filepath.Join(dir, "logs"),
		Events: filepath.Join(dir, "logs", "events.ndjson"),
	}, nil
}

// RunDir is the folder of one run (Run(...).Dir), the unit GC deletes.
func (l Layout) RunDir(workspaceID, runID string) (string, error) {
	r, err := l.Run(workspaceID, runID)
	return r.Dir, err
}

// EnvPaths are the files of one environment.
type EnvPaths struct {
	Dir    string // venvs/<ws>/<cfg>/deps-<digest>/<environment_id>
	Venv   string // Dir/.venv
	Python string // the venv's interpreter
	Logs   string // Dir/logs
	Events string // Dir/logs/events.ndjson
}

// Env returns the paths of one environment. The digest is part of the path
// so a dependency change never reuses an old folder; the environment id
// keeps two builds of the same digest apart.
func (l Layout) Env(workspaceID, configurationID, depsDigest, environmentID string) (EnvPaths, error) {
	if err := CheckSegment("workspace id", workspaceID); err != nil {
		return EnvPaths{}, err
	}
	if err := CheckSegment("configuration id", configurationID); err != nil {
		return EnvPaths{}, err
	}
	digest := DigestSegment(depsDigest)
	if digest == "" {
		return EnvPaths{}, unsafe("deps digest", depsDigest, "has no digest after the algorithm")
	}
	if err := CheckSegment("deps digest", "deps-"+digest); err != nil {
		return EnvPaths{}, err
	}
	if err := CheckSegment("environment id", environmentID); err != nil {
		return EnvPaths{}, err
	}
	dir := filepath.Join(l.VenvsDir(), workspaceID, configurationID, "deps-"+digest, environmentID)
	venv := filepath.Join(dir, ".venv")
	return EnvPaths{
		Dir:    dir,
		Venv:   venv,
		Python: VenvPython(venv),
		Logs:   filepath.Join(dir, "logs"),
		Events: filepath.Join(dir, "logs", "events.ndjson"),
	}, nil
}

// EnvDir is the folder of one environment (Env(...).Dir).
func (l Layout) EnvDir(workspaceID, configurationID, depsDigest, environmentID string) (string, error) {
	e, err := l.Env(workspaceID, configurationID, depsDigest, environmentID)
	return e.Dir, err
}

// VenvPython is the interpreter inside a virtual environment.
func VenvPython(venv string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(venv, "Scripts", "python.exe")
	}
	return filepath.Join(venv, "bin", "python")
}
