package twins

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Migration is a goose migration file cut into the pieces that are run as
// one unit each.
type Migration struct {
	File string
	// Up and Down are the chunks of each section. A StatementBegin ...
	// StatementEnd block is one chunk (goose runs it as one statement, as a
	// CREATE TRIGGER must be); the text between blocks is one chunk of
	// ordinary statements.
	Up, Down []Chunk
}

// Chunk is a piece of a migration section with the line it starts on.
type Chunk struct {
	Line int
	Text string
}

var gooseAnnotation = regexp.MustCompile(`^\s*--\s*\+goose\s+(.*?)\s*$`)

// ParseGoose cuts a goose migration into its Up and Down chunks, without the
// annotation lines.
func ParseGoose(file string, src []byte) (Migration, error) {
	m := Migration{File: file}
	text := strings.ReplaceAll(strings.TrimPrefix(string(src), "\uFEFF"), "\r\n", "\n")
	var (
		section  *[]Chunk
		inBlock  bool
		cur      []string
		curStart int
		sawUp    bool
	)
	flush := func() {
		if section != nil && strings.TrimSpace(stripComments(strings.Join(cur, "\n"))) != "" {
			*section = append(*section, Chunk{Line: curStart, Text: strings.Join(cur, "\n")})
		}
		cur = nil
	}
	fail := func(line int, format string, args ...any) error {
		return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		a := gooseAnnotation.FindStringSubmatch(line)
		if a == nil {
			if len(cur) == 0 {
				curStart = n
			}
			cur = append(cur, line)
			continue
		}
		switch word := strings.ToLower(strings.Fields(a[1] + " ")[0]); word {
		case "up", "down":
			if inBlock {
				return m, fail(n, "+goose %s inside a StatementBegin block", a[1])
			}
			flush()
			if word == "up" {
				if sawUp {
					return m, fail(n, "a second +goose Up")
				}
				sawUp = true
				section = &m.Up
			} else {
				if !sawUp {
					return m, fail(n, "+goose Down before +goose Up")
				}
				section = &m.Down
			}
		case "statementbegin":
			if section == nil {
				return m, fail(n, "+goose StatementBegin before +goose Up")
			}
			if inBlock {
				return m, fail(n, "+goose StatementBegin inside another block")
			}
			flush()
			inBlock = true
		case "statementend":
			if !inBlock {
				return m, fail(n, "+goose StatementEnd without StatementBegin")
			}
			flush()
			inBlock = false
		case "no", "envsub":
			// NO TRANSACTION and ENVSUB ON/OFF change how goose runs the
			// file, not what it runs.
		default:
			return m, fail(n, "unknown goose annotation %q", strings.TrimSpace(line))
		}
	}
	if inBlock {
		return m, fail(strings.Count(text, "\n")+1, "+goose StatementBegin without StatementEnd")
	}
	flush()
	if !sawUp {
		return m, fail(1, "has no +goose Up section")
	}
	return m, nil
}

// ReadMigrations reads the goose migrations of dir in version order: the
// number each file name starts with, as goose orders them.
func ReadMigrations(dir string) ([]Migration, error) {
	files, err := sqlFiles(dir)
	if err != nil {
		return nil, err
	}
	type versioned struct {
		version int64
		file    string
	}
	var list []versioned
	for _, f := range files {
		base := filepath.Base(f)
		end := strings.IndexFunc(base, func(r rune) bool { return r < '0' || r > '9' })
		if end <= 0 {
			return nil, fmt.Errorf("read migrations: %s does not start with a version number", f)
		}
		v, err := strconv.ParseInt(base[:end], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read migrations: version of %s: %w", f, err)
		}
		list = append(list, versioned{v, f})
	}
	slices.SortFunc(list, func(a, b versioned) int { return cmp.Compare(a.version, b.version) })
	var migrations []Migration
	for i, v := range list {
		if i > 0 && list[i-1].version == v.version {
			return nil, fmt.Errorf("read migrations: %s and %s have the same version", list[i-1].file, v.file)
		}
		src, err := os.ReadFile(v.file)
		if err != nil {
			return nil, fmt.Errorf("read migrations: %w", err)
		}
		m, err := ParseGoose(v.file, src)
		if err != nil {
			return nil, err
		}
		migrations = append(migrations, m)
	}
	return migrations, nil
}

// CheckTSQLMigration parses every chunk of a T-SQL migration, Up and Down,
// with teesql.
func CheckTSQLMigration(ctx context.Context, m Migration) error {
	var errs ErrorList
	for _, section := range [][]Chunk{m.Up, m.Down} {
		for _, c := range section {
			if _, err := parseTSQL(ctx, c.Text); err != nil {
				errs = append(errs, &Error{File: m.File, Line: c.Line, Msg: fmt.Sprintf("does not parse as T-SQL: %v", err)})
			}
		}
	}
	return errs.err()
}

// ExecUp runs the Up chunks of migrations on db in order, as goose would
// (without goose's version table). The static tests use it to build a real
// SQLite schema from the SQLite migrations.
func ExecUp(ctx context.Context, db *sql.DB, migrations []Migration) error {
	for _, m := range migrations {
		for _, c := range m.Up {
			if _, err := db.ExecContext(ctx, c.Text); err != nil {
				return fmt.Errorf("apply %s (line %d): %w", m.File, c.Line, err)
			}
		}
	}
	return nil
}
