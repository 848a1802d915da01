package config

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// The reasons below double as the parsers' error texts, so a parse failure
// reads "VAR: "value" is not a whole number".
var (
	errNotInt      = errors.New("is not a whole number")
	errNotBool     = errors.New("is not a boolean (use 1/0, true/false, yes/no or on/off)")
	errNotSeconds  = errors.New(`is not a number of seconds (e.g. "30" or "0.5")`)
	errTooLarge    = errors.New("is too large")
	errNotLogLevel = errors.New("is not a log level (use DEBUG, INFO, WARNING or ERROR)")
)

// parsers replaces the env library's parsers for the types Config uses, so
// the accepted forms and the error texts are this package's own.
func parsers() map[reflect.Type]env.ParserFunc {
	return map[reflect.Type]env.ParserFunc{
		reflect.TypeFor[int]():           func(v string) (any, error) { return parseInt(v) },
		reflect.TypeFor[bool]():          func(v string) (any, error) { return parseBool(v) },
		reflect.TypeFor[time.Duration](): func(v string) (any, error) { return parseSeconds(v) },
	}
}

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, errTooLarge
		}
		return 0, errNotInt
	}
	return n, nil
}

// parseBool accepts the spellings operators use in .env files and
// container manifests, case-insensitively.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "y", "on":
		return true, nil
	case "0", "false", "no", "n", "off":
		return false, nil
	}
	return false, errNotBool
}

// maxSeconds is the largest whole number of seconds a time.Duration holds.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// parseSeconds reads a number of seconds, fractions allowed, as the contract
// states durations. Go duration text ("1m30s") is accepted too because
// operators type it by habit; it cannot be confused with a bare number.
func parseSeconds(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, errTooLarge
		}
		d, derr := time.ParseDuration(v)
		if derr != nil {
			return 0, errNotSeconds
		}
		return d, nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(v, "xXpP") {
		// ParseFloat also reads "Inf", "NaN" and hex floats; none is a
		// number of seconds anyone means.
		return 0, errNotSeconds
	}
	if math.Abs(f) > maxSeconds {
		return 0, errTooLarge
	}
	return time.Duration(math.Round(f * float64(time.Second))), nil
}

// normalizeLogLevel maps the accepted level names to the text slog.Level
// parses, refusing slog's numeric offsets ("INFO+2") that ADE never used.
func normalizeLogLevel(v string) (string, error) {
	switch s := strings.ToUpper(strings.TrimSpace(v)); s {
	case "DEBUG", "INFO", "ERROR":
		return s, nil
	case "WARN", "WARNING":
		return "WARN", nil
	}
	return "", errNotLogLevel
}
