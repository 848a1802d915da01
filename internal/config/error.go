package config

import (
	"fmt"
	"strings"
)

// Error reports one setting the worker cannot run with. It names the
// variable so an operator knows what to fix; Value is left empty for
// secrets, which are never echoed.
type Error struct {
	Var    string // the environment variable, e.g. ADE_WORKER_CONCURRENCY
	Value  string // the offending value as given; "" for secrets
	Reason string // what is wrong, phrased to follow the quoted value
	File   string // the .env file the value came from; "" for the environment
}

func (e *Error) Error() string {
	msg := e.Var + ": " + e.Reason
	if e.Value != "" {
		msg = fmt.Sprintf("%s: %q %s", e.Var, e.Value, e.Reason)
	}
	if e.File != "" {
		file := e.File
		if !strings.ContainsAny(file, `/\`) {
			file = "./" + file
		}
		msg += " (set in " + file + ")"
	}
	return msg
}

// isSecret reports whether a variable's value must never be printed.
func isSecret(name string) bool {
	if name == "ADE_DATABASE_URL" {
		return true
	}
	upper := strings.ToUpper(name)
	for _, word := range []string{"PASSWORD", "SECRET", "TOKEN"} {
		if strings.Contains(upper, word) {
			return true
		}
	}
	return false
}

// newError builds an Error, dropping the value of a secret variable.
func newError(name, value, reason string) *Error {
	if isSecret(name) {
		value = ""
	}
	return &Error{Var: name, Value: value, Reason: reason}
}
