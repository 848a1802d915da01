package paths

import "strings"

// The data folder is shared with the ADE API and may be read by a worker
// on any system, so every name the worker makes from a database value must
// be one Windows accepts too. Windows refuses these characters in a file
// name, drops dots and spaces at its end (so "a." and "a" are one file),
// and keeps some names for devices, whatever their extension: "NUL.txt"
// opens the null device.

// windowsForbidden are the printable characters Windows refuses in a name
// (control characters are refused separately).
const windowsForbidden = `<>:"|?*`

// reservedNames are the device names Windows keeps, in upper case.
var reservedNames = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true,
	"COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"COM¹": true, "COM²": true, "COM³": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true,
	"LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"LPT¹": true, "LPT²": true, "LPT³": true,
}

// reservedName reports whether Windows reads name as a device: a reserved
// name, in any case, alone or before an extension, spaces before the
// extension ignored ("nul .txt").
func reservedName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	return reservedNames[strings.ToUpper(strings.TrimRight(stem, " "))]
}

// windowsProblem says why Windows would not take name as one file name, or
// returns "" when it would. Separators, NUL and control characters are
// checked by the callers.
func windowsProblem(name string) string {
	switch {
	case strings.ContainsAny(name, windowsForbidden):
		return `contains a character Windows does not allow in a file name (one of <>:"|?*)`
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		return "ends with a dot or a space, which Windows drops"
	case reservedName(name):
		return "is a device name on Windows (CON, NUL, COM1, LPT1...)"
	}
	return ""
}

// windowsSafeName turns name into one Windows accepts, for names that are
// never refused (a user's file name): forbidden characters become "_",
// trailing dots and spaces go, and a device name gets a "_" in front.
func windowsSafeName(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(windowsForbidden, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimRight(name, ". ")
	if reservedName(name) {
		name = "_" + name
	}
	return name
}
