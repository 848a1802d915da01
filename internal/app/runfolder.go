package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ade-dev/ade-worker/internal/paths"
)

// makeRunFolder makes the run folder with its input/, logs/ and output/
// folders, output/ empty. A folder new to this attempt costs four mkdirs
// (its parents, once per workspace); one an earlier attempt left keeps its
// input and logs, and its output is cleared: nothing of an earlier attempt
// can be mistaken for this one's output.
func makeRunFolder(rp paths.RunPaths) error {
	err := os.Mkdir(rp.Dir, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(rp.Dir), 0o755); err != nil {
			return err
		}
		err = os.Mkdir(rp.Dir, 0o755)
	}
	if err == nil {
		for _, dir := range []string{rp.Input, rp.Logs, rp.Output} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, dir := range []string{rp.Input, rp.Logs} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := paths.ClearIrregular(rp.Events); err != nil {
		return fmt.Errorf("clear event log: %w", err)
	}
	if err := os.RemoveAll(rp.Output); err != nil {
		return fmt.Errorf("clear output folder: %w", err)
	}
	return os.Mkdir(rp.Output, 0o755)
}
