package config

import (
	"regexp"
	"strings"
)

// MaskURL replaces the password of a database URL or connection string with
// "***" so it can be logged. It handles a userinfo password
// (scheme://user:pass@host), key=value pairs whose key names a password,
// secret or token (ODBC "PWD=...;", "Password={...}", query parameters), and
// the same pairs percent-encoded inside odbc_connect=. When in doubt it masks
// more, never less.
func MaskURL(s string) string {
	return maskPairs(maskUserinfo(s))
}

// maskUserinfo masks what lies between the first ':' of the userinfo and the
// last '@' before the query. A password with a raw '@' or '?' still ends up
// masked, because the last '@' of the whole string is used when the part
// before the query has none.
// Every "://" is tried, so a URL nested in another's query is masked too.
func maskUserinfo(s string) string {
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			return s
		}
		i += from
		s = maskUserinfoAt(s, i)
		from = i + 3
	}
}

// maskUserinfoAt masks the userinfo password of the URL whose "://" is at i.
func maskUserinfoAt(s string, i int) string {
	rest := s[i+3:]
	end := strings.IndexByte(rest, '?')
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		at = strings.LastIndexByte(rest, '@')
	}
	if at < 0 {
		return s
	}
	userinfo := rest[:at]
	colon := strings.IndexByte(userinfo, ':')
	if colon < 0 || strings.ContainsRune(userinfo[:colon], '/') {
		return s // no password, or an '@' in a path rather than userinfo
	}
	if userinfo[colon+1:] == "***" {
		return s
	}
	return s[:i+3] + userinfo[:colon+1] + "***" + rest[at:]
}

// secretKey finds a key naming a secret, followed by '=' raw or encoded.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|pwd|secret|token)[a-z0-9_]*\s*(=|%3d)\s*`)

// maskPairs masks the value after every secretKey match. A value ends at ';'
// or '&' (raw or percent-encoded); a value in ODBC braces ends at the
// closing brace, where "}}" is an escaped brace inside it.
func maskPairs(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range secretKey.FindAllStringIndex(s, -1) {
		if m[0] < last {
			continue // inside a value already masked
		}
		start := m[1]
		end := valueEnd(s, start)
		b.WriteString(s[last:start])
		if end > start {
			b.WriteString("***")
		}
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// valueEnd returns the index just past the value starting at i.
func valueEnd(s string, i int) int {
	if open := special(s, i); open == '{' {
		j := i + width(s, i)
		for j < len(s) {
			if special(s, j) == '}' {
				k := j + width(s, j)
				if k < len(s) && special(s, k) == '}' {
					j = k + width(s, k) // "}}" is a brace inside the value
					continue
				}
				return k
			}
			j++
		}
		return len(s)
	}
	for j := i; j < len(s); j++ {
		if c := special(s, j); c == ';' || c == '&' {
			return j
		}
	}
	return len(s)
}

// special reads the character at i, decoding the percent-encoded forms of
// the delimiters that matter here.
func special(s string, i int) byte {
	if s[i] == '%' && i+2 < len(s) {
		switch strings.ToUpper(s[i+1 : i+3]) {
		case "3B":
			return ';'
		case "26":
			return '&'
		case "7B":
			return '{'
		case "7D":
			return '}'
		}
	}
	return s[i]
}

// width is how many bytes the character at i takes (3 when percent-encoded).
func width(s string, i int) int {
	if s[i] == '%' && special(s, i) != '%' {
		return 3
	}
	return 1
}
