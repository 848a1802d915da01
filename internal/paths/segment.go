package paths

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSegment is the longest file name common file systems accept.
const maxSegment = 255

// CheckSegment reports whether value can be used as one folder name taken
// from the database (a workspace, configuration, run or environment id),
// on every system: a name Windows would refuse or read otherwise (a ":",
// a trailing dot, "NUL") is refused everywhere, since the data folder may
// be shared with a worker there. The error names what the value is, so a
// run can fail with a message a person understands.
func CheckSegment(what, value string) error {
	switch {
	case value == "":
		return unsafe(what, value, "is empty")
	case value == "." || value == "..":
		return unsafe(what, value, "is a relative path element")
	case strings.ContainsAny(value, `/\`):
		return unsafe(what, value, "contains a path separator")
	case strings.IndexByte(value, 0) >= 0:
		return unsafe(what, value, "contains a NUL byte")
	case !utf8.ValidString(value):
		return unsafe(what, value, "is not valid UTF-8")
	case strings.ContainsFunc(value, unicode.IsControl):
		return unsafe(what, value, "contains control characters")
	case len(value) > maxSegment:
		return unsafe(what, value, "is longer than 255 bytes")
	}
	if problem := windowsProblem(value); problem != "" {
		return unsafe(what, value, problem)
	}
	return nil
}

// DigestSegment is the folder name part of a deps digest: what follows
// "algo:" ("sha256:ab12" gives "ab12"), with every character outside
// [A-Za-z0-9_-] replaced by "_" so any digest text makes a safe name.
// A digest without a colon is used whole.
func DigestSegment(depsDigest string) string {
	_, digest, found := strings.Cut(depsDigest, ":")
	if !found {
		digest = depsDigest
	}
	var b strings.Builder
	b.Grow(len(digest))
	for i := 0; i < len(digest); i++ {
		c := digest[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// StagedInputName turns a document's original file name into a safe name
// for the staged copy. Unlike ids it is never refused, because a user's odd
// file name must not fail a run: only the last path element is kept (after
// "/" or "\"), control characters and those Windows refuses become "_",
// trailing dots and spaces go, a Windows device name ("nul.csv") gets a "_"
// in front, and a name that ends up empty, "." or ".." becomes "input". A
// name too long is shortened keeping its extension, which the engine reads
// to pick a reader.
func StagedInputName(originalFilename string) string {
	name := originalFilename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, name)
	name = windowsSafeName(strings.TrimSpace(name))
	if name == "" || name == "." || name == ".." {
		return "input"
	}
	if len(name) > maxSegment {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		stem := name[:maxSegment-len(ext)]
		for !utf8.ValidString(stem) { // do not cut a character in half
			stem = stem[:len(stem)-1]
		}
		// The cut may leave a dot or a space at the end of the name.
		name = windowsSafeName(stem + ext)
	}
	return name
}
