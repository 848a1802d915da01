// Package enqueue queues a run as the ADE API would: it copies the
// configuration package and the document where the API stores them and
// inserts the configuration, document and run rows. The CLI's enqueue and
// demo commands, the bench and the tests use it.
package enqueue

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/runopts"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Request is one run to queue, as the ADE API would queue it.
type Request struct {
	WorkspaceID string
	// ConfigDir is the configuration package to copy under the workspace.
	ConfigDir string
	// ConfigurationID defaults to a UUID derived from the workspace and the
	// configuration folder, so enqueuing the same folder again reuses the
	// configuration (and its environment, while its content is unchanged).
	ConfigurationID string
	// InputFile is the document to upload.
	InputFile string
	// Options is runs.run_options (a JSON object), optional.
	Options string
	// InputSheetNames is runs.input_sheet_names, optional.
	InputSheetNames []string
	// MaxAttempts defaults to ADE_WORKER_MAX_ATTEMPTS_DEFAULT.
	MaxAttempts int
	// EngineSpec defaults to ADE_ENGINE_PACKAGE_PATH.
	EngineSpec string
}

// Queued names the rows Insert created.
type Queued struct {
	RunID           string `json:"run_id"`
	ConfigurationID string `json:"configuration_id"`
	DocumentID      string `json:"document_id"`
	DepsDigest      string `json:"deps_digest"`
}

// skipCopy are build leftovers never copied with a configuration package.
var skipCopy = map[string]bool{"__pycache__": true, ".venv": true, "build": true, "dist": true, ".git": true}

func skipEntry(name string) bool {
	return skipCopy[name] || strings.HasSuffix(name, ".egg-info") || strings.HasSuffix(name, ".pyc")
}

// Insert copies the configuration package and the document where the API
// would store them and inserts the configuration, document and run rows in
// one transaction.
func Insert(ctx context.Context, st *store.Store, layout paths.Layout, defaults Request, req Request) (Queued, error) {
	req, cfgAbs, inAbs, err := checkRequest(defaults, req)
	if err != nil {
		return Queued{}, err
	}
	digest, err := depsDigest(cfgAbs, req.EngineSpec)
	if err != nil {
		return Queued{}, fmt.Errorf("hash configuration package: %w", err)
	}
	out := Queued{RunID: uuid.NewString(), ConfigurationID: req.ConfigurationID, DocumentID: uuid.NewString(), DepsDigest: digest}
	name, err := storeFiles(layout, req, cfgAbs, inAbs, out.DocumentID)
	if err != nil {
		return Queued{}, err
	}
	return out, insertRows(ctx, st, req, out, filepath.Base(inAbs), name)
}

// checkRequest fills req in from defaults, checks it, and returns it with
// the absolute paths of its configuration folder and input file.
func checkRequest(defaults, req Request) (Request, string, string, error) {
	if req.EngineSpec == "" {
		req.EngineSpec = defaults.EngineSpec
	}
	if req.MaxAttempts == 0 {
		req.MaxAttempts = defaults.MaxAttempts
	}
	if err := paths.CheckSegment("workspace id", req.WorkspaceID); err != nil {
		return req, "", "", err
	}
	if req.Options != "" {
		if _, err := runopts.Parse(req.Options, ""); err != nil {
			return req, "", "", fmt.Errorf("--options: %w", err)
		}
	}
	cfgAbs, err := filepath.Abs(req.ConfigDir)
	if err != nil {
		return req, "", "", err
	}
	if st, err := os.Stat(cfgAbs); err != nil || !st.IsDir() {
		return req, "", "", fmt.Errorf("configuration folder %s: not a folder", req.ConfigDir)
	}
	inAbs, err := filepath.Abs(req.InputFile)
	if err != nil {
		return req, "", "", err
	}
	if st, err := os.Stat(inAbs); err != nil || !st.Mode().IsRegular() {
		return req, "", "", fmt.Errorf("input file %s: not a regular file", req.InputFile)
	}
	if req.ConfigurationID == "" {
		req.ConfigurationID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("ade-worker:"+req.WorkspaceID+":"+cfgAbs)).String()
	}
	return req, cfgAbs, inAbs, nil
}

// storeFiles copies the configuration package and the document where the
// API stores them, and returns the document's stored file name.
func storeFiles(layout paths.Layout, req Request, cfgAbs, inAbs, docID string) (string, error) {
	cfgDst, err := layout.ConfigPackageDir(req.WorkspaceID, req.ConfigurationID)
	if err != nil {
		return "", err
	}
	if err := syncTree(cfgAbs, cfgDst); err != nil {
		return "", fmt.Errorf("copy configuration package: %w", err)
	}
	docsDir, err := layout.DocumentsDir(req.WorkspaceID)
	if err != nil {
		return "", err
	}
	name := paths.StagedInputName(filepath.Base(inAbs))
	if err := os.MkdirAll(filepath.Join(docsDir, docID), 0o755); err != nil {
		return "", err
	}
	if err := copyFile(inAbs, filepath.Join(docsDir, docID, name)); err != nil {
		return "", fmt.Errorf("store document: %w", err)
	}
	return name, nil
}

// insertRows inserts the configuration, document and run rows in one
// transaction, "now" being the database's clock, as for the API.
func insertRows(ctx context.Context, st *store.Store, req Request, out Queued, original, name string) error {
	var sheets, opts = sql.NullString{}, sql.NullString{String: req.Options, Valid: req.Options != ""}
	if len(req.InputSheetNames) > 0 {
		b, _ := json.Marshal(req.InputSheetNames)
		sheets = sql.NullString{String: string(b), Valid: true}
	}
	return st.Write(ctx, func(q *db.Queries) error {
		if err := q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: req.ConfigurationID, WorkspaceID: req.WorkspaceID}); err != nil {
			return fmt.Errorf("insert configuration: %w", err)
		}
		if err := q.InsertDocument(ctx, db.InsertDocumentParams{ID: out.DocumentID, WorkspaceID: req.WorkspaceID,
			OriginalFilename: original, StoredUri: "file:" + out.DocumentID + "/" + name}); err != nil {
			return fmt.Errorf("insert document: %w", err)
		}
		if err := q.InsertRun(ctx, db.InsertRunParams{ID: out.RunID, WorkspaceID: req.WorkspaceID, ConfigurationID: req.ConfigurationID,
			InputDocumentID: out.DocumentID, InputSheetNames: sheets, RunOptions: opts, EngineSpec: req.EngineSpec,
			DepsDigest: out.DepsDigest, MaxAttempts: int64(req.MaxAttempts)}); err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
		return nil
	})
}

// depsDigest is "sha256:<hex>" over the engine spec and every file of the
// configuration package (paths and contents, build leftovers skipped): any
// change makes a new digest, so a new environment, never an in-place rebuild.
func depsDigest(dir, engineSpec string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "engine_spec\x00%s\x00", engineSpec)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && skipEntry(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		in, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return "", err
		}
		h.Write([]byte{0})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// syncTree replaces dst with a copy of src (build leftovers skipped).
func syncTree(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if p != src && skipEntry(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		default:
			return errors.New("configuration package holds a link or device: " + rel)
		}
	})
}

// copyFile writes src at dst through a temporary file renamed into place,
// so that a reader of dst (a worker reading a configuration package being
// updated) sees the old file or the new one, never a part.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	tmp := dst + ".part"
	if err := paths.WriteCopy(in, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
