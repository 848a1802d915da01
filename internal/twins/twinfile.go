package twins

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Twin is one named T-SQL query read from a twin file.
type Twin struct {
	// Name is the query name from the "-- name:" header, e.g. ClaimRun.
	Name string
	// Cmd is the sqlc command from the header, e.g. :one.
	Cmd string
	// File is the path of the twin file as it was given to ReadDir or
	// ParseFile.
	File string
	// Line is the 1-based line of the "-- name:" header.
	Line int
	// BodyLine is the 1-based line on which Text starts.
	BodyLine int
	// Text is the query body as written: everything after the header up to
	// the next header, without surrounding blank lines.
	Text string
}

// block is one "-- name:" section of a file in sqlc's query format. Both the
// SQLite query files and the T-SQL twin files are read with it.
type block struct {
	name, cmd      string
	line, bodyLine int
	text           string
}

var (
	// headerStart finds lines that mean to be a header, so a malformed one is
	// reported instead of being read as SQL.
	headerStart = regexp.MustCompile(`^\s*--\s*name\s*:`)
	header      = regexp.MustCompile(`^\s*--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s+(:[a-z]+)\s*$`)
)

// splitBlocks cuts src into its named sections. Text before the first header
// may only be comments and blank lines: SQL there would belong to no query.
func splitBlocks(file string, src []byte) ([]block, ErrorList) {
	text := strings.ReplaceAll(strings.TrimPrefix(string(src), "\uFEFF"), "\r\n", "\n")
	var (
		blocks   []block
		errs     ErrorList
		body     []string
		preamble []string
	)
	// open is set while the last block still collects its body.
	open := false
	flush := func() {
		if !open {
			return
		}
		open = false
		b := &blocks[len(blocks)-1]
		start := 0
		for start < len(body) && strings.TrimSpace(body[start]) == "" {
			start++
		}
		end := len(body)
		for end > start && strings.TrimSpace(body[end-1]) == "" {
			end--
		}
		b.bodyLine = b.line + 1 + start
		b.text = strings.Join(body[start:end], "\n")
		if strings.TrimSpace(stripComments(b.text)) == "" {
			errs = append(errs, &Error{File: file, Line: b.line, Query: b.name, Msg: "has no SQL after its header"})
		}
	}
	// skipping is set after a malformed header: the SQL under it belongs to
	// no query, and that was already reported.
	skipping := false
	for i, line := range strings.Split(text, "\n") {
		if !headerStart.MatchString(line) {
			switch {
			case skipping:
			case len(blocks) == 0:
				preamble = append(preamble, line)
			default:
				body = append(body, line)
			}
			continue
		}
		flush()
		body = body[:0]
		m := header.FindStringSubmatch(line)
		if m == nil {
			errs = append(errs, &Error{File: file, Line: i + 1, Msg: fmt.Sprintf("malformed header %q: want \"-- name: <Name> :<cmd>\"", strings.TrimSpace(line))})
			skipping = true
			continue
		}
		skipping = false
		blocks = append(blocks, block{name: m[1], cmd: m[2], line: i + 1})
		open = true
	}
	flush()
	if pre := strings.Join(preamble, "\n"); strings.TrimSpace(stripComments(pre)) != "" {
		errs = append(errs, &Error{File: file, Line: 1, Msg: "SQL before the first \"-- name:\" header belongs to no query"})
	}
	if len(blocks) == 0 && len(errs) == 0 {
		errs = append(errs, &Error{File: file, Msg: "has no \"-- name:\" header"})
	}
	return blocks, errs
}

// ParseFile reads the twins in one T-SQL file. file is used in messages and
// as Twin.File.
func ParseFile(file string, src []byte) ([]Twin, error) {
	blocks, errs := splitBlocks(file, src)
	twins := make([]Twin, 0, len(blocks))
	for _, b := range blocks {
		twins = append(twins, Twin{Name: b.name, Cmd: b.cmd, File: file, Line: b.line, BodyLine: b.bodyLine, Text: b.text})
	}
	return twins, errs.err()
}

// ReadDir reads the twins in every .sql file of dir, files in name order.
// Twin.File is filepath.Join(dir, name), so a relative dir gives relative
// paths in messages.
func ReadDir(dir string) ([]Twin, error) {
	files, err := sqlFiles(dir)
	if err != nil {
		return nil, err
	}
	var (
		twins []Twin
		errs  ErrorList
	)
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read twin file: %w", err)
		}
		ts, err := ParseFile(file, src)
		if list, ok := err.(ErrorList); ok {
			errs = append(errs, list...)
		}
		twins = append(twins, ts...)
	}
	return twins, errs.err()
}

// sqlFiles lists the .sql files of dir in name order.
func sqlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".sql") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("list %s: no .sql files", dir)
	}
	return files, nil
}
