package runopts

import (
	"errors"
	"strings"
)

// SplitArgs splits a command-line string into arguments the way a POSIX
// shell does for quoting: blanks separate arguments; '...' keeps everything
// literally; "..." keeps everything except that a backslash escapes ", \, $,
// ` and newline; outside quotes a backslash escapes the next character and
// a backslash-newline joins lines. Nothing is expanded: $HOME, *, ~ and `cmd`
// stay as written, because no shell ever runs them.
func SplitArgs(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inArg   bool // an argument has started, even if empty ("")
		escaped bool
		quote   byte // 0, '\'' or '"'
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
			if c == '\n' {
				continue // line continuation
			}
			cur.WriteByte(c)
			inArg = true
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0:
				i++
				if s[i] != '\n' {
					cur.WriteByte(s[i])
				}
			default:
				cur.WriteByte(c)
			}
		case c == '\\':
			escaped = true
		case c == '\'' || c == '"':
			quote = c
			inArg = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	switch {
	case quote != 0:
		return nil, errors.New("unterminated " + string(quote) + " quote")
	case escaped:
		return nil, errors.New("ends with a lone backslash")
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
