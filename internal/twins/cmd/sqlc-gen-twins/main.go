// Command sqlc-gen-twins is the sqlc process plugin that binds the T-SQL twin
// of every query to the method sqlc generates from the SQLite query, and
// writes the binding as mssql.sql.go beside sqlc's Go output.
//
// It is configured in sqlc.yaml under the SQLite engine's codegen:
//
//	plugins:
//	  - name: twins
//	    process:
//	      cmd: ./bin/sqlc-gen-twins
//	sql:
//	  - engine: sqlite
//	    ...
//	    codegen:
//	      - plugin: twins
//	        out: gen/db
//	        options: {twins: sql/queries/mssql}
//
// Options: "twins" (required) is the folder of T-SQL twin files, relative to
// the folder of sqlc.yaml; "package" is the Go package of the output folder
// (default "db"). sqlc runs the plugin in its own working directory and does
// not tell it where sqlc.yaml is, so sqlc must be run from the folder holding
// sqlc.yaml; the plugin checks that it can see the query folders from there.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/sqlc-dev/plugin-sdk-go/codegen"
	"github.com/sqlc-dev/plugin-sdk-go/plugin"

	"github.com/ade-dev/ade-worker/internal/twins"
)

// outputFile is the name of the generated file in the codegen out folder.
const outputFile = "mssql.sql.go"

func main() {
	codegen.Run(generate)
}

type options struct {
	Twins   string `json:"twins"`
	Package string `json:"package"`
}

func generate(ctx context.Context, req *plugin.GenerateRequest) (*plugin.GenerateResponse, error) {
	opts, err := readOptions(req.PluginOptions)
	if err != nil {
		return nil, err
	}
	if err := checkWorkingDir(req.GetSettings()); err != nil {
		return nil, err
	}
	twinList, err := twins.ReadDir(opts.Twins)
	if err != nil {
		return nil, fmt.Errorf("read T-SQL twins:\n%w", err)
	}
	queries, err := convertQueries(req)
	if err != nil {
		return nil, err
	}
	bound, err := twins.Bind(ctx, queries, twinList)
	if err != nil {
		return nil, fmt.Errorf("bind T-SQL twins in %s:\n%w", opts.Twins, err)
	}
	src, err := twins.Render(bound, twins.RenderOptions{Package: opts.Package, Source: opts.Twins})
	if err != nil {
		return nil, fmt.Errorf("render T-SQL binding:\n%w", err)
	}
	return &plugin.GenerateResponse{Files: []*plugin.File{{Name: outputFile, Contents: src}}}, nil
}

func readOptions(raw []byte) (options, error) {
	var opts options
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			return options{}, fmt.Errorf("read sqlc-gen-twins options: %w", err)
		}
	}
	if opts.Twins == "" {
		return options{}, errors.New(`read sqlc-gen-twins options: "twins" (the folder of T-SQL twin files) is required`)
	}
	if opts.Package == "" {
		opts.Package = "db"
	}
	return opts, nil
}

// checkWorkingDir makes sure relative paths in sqlc.yaml resolve from here.
// sqlc passes them to the plugin as written in sqlc.yaml and runs the plugin
// in its own working directory, so when sqlc was started elsewhere (sqlc -f
// some/dir/sqlc.yaml) the twin folder would be looked up in the wrong place.
func checkWorkingDir(settings *plugin.Settings) error {
	for _, path := range append(settings.GetQueries(), settings.GetSchema()...) {
		if filepath.IsAbs(path) {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			wd, _ := os.Getwd()
			return fmt.Errorf("sqlc-gen-twins resolves paths from the folder of sqlc.yaml and runs in sqlc's working directory (%s), where %s is missing: run sqlc from the folder holding sqlc.yaml", wd, path)
		}
	}
	return nil
}

// convertQueries turns sqlc's queries into the binder's, refusing what a
// twin cannot mirror.
func convertQueries(req *plugin.GenerateRequest) ([]twins.Query, error) {
	var (
		queries []twins.Query
		errs    []error
	)
	for _, q := range req.GetQueries() {
		file := queryFile(req.GetSettings().GetQueries(), q.GetFilename())
		out := twins.Query{
			Name:  q.GetName(),
			Cmd:   q.GetCmd(),
			File:  file,
			Const: lowerFirst(q.GetName()),
		}
		for _, p := range q.GetParams() {
			col := p.GetColumn()
			out.Params = append(out.Params, twins.Param{
				Number:    int(p.GetNumber()),
				Name:      col.GetName(),
				Anonymous: !col.GetIsNamedParam(),
				Slice:     col.GetIsSqlcSlice(),
			})
		}
		if q.GetCmd() == ":one" || q.GetCmd() == ":many" {
			out.Columns = []string{}
			for _, c := range q.GetColumns() {
				if c.GetEmbedTable() != nil {
					errs = append(errs, fmt.Errorf("%s: %s: sqlc.embed(%s) is not supported: list the columns", file, q.GetName(), c.GetEmbedTable().GetName()))
					continue
				}
				out.Columns = append(out.Columns, c.GetName())
			}
		}
		queries = append(queries, out)
	}
	return queries, errors.Join(errs...)
}

// queryFile names a query's file for messages: sqlc gives only the base
// name, so it is joined to the query folder it came from when that is known.
func queryFile(paths []string, base string) string {
	for _, p := range paths {
		if filepath.Base(p) == base && strings.HasSuffix(strings.ToLower(p), ".sql") {
			return p
		}
	}
	if len(paths) == 1 {
		if info, err := os.Stat(paths[0]); err == nil && info.IsDir() {
			return filepath.Join(paths[0], base)
		}
	}
	return base
}

// lowerFirst is how sqlc names the unexported constant holding a query's
// text: the query name with its first letter lower-cased (ClaimRun ->
// claimRun). sqlc's emit_exported_queries option changes that and is not
// supported here.
func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}
