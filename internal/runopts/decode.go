package runopts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reading run_options as JSON, and naming its values in messages.

// hasNUL reports whether any key or string inside v holds a NUL.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		return slices.ContainsFunc(x, hasNUL)
	case map[string]any:
		for k, item := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(item) {
				return true
			}
		}
	}
	return false
}

// decodeObject decodes run_options, keeping numbers as json.Number so no
// precision is lost before they are checked.
func decodeObject(text string) (map[string]any, error) {
	v, err := decodeJSON(text)
	if err != nil {
		return nil, &Error{Field: "run_options", Reason: err.Error()}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	}
	return nil, &Error{Field: "run_options", Reason: "expected a JSON object, got " + kind(v)}
}

// decodeJSON decodes one JSON value; empty text is null.
func decodeJSON(text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("is not valid JSON: unexpected data after the value")
	}
	return v, nil
}

// jsonReason is a decoding error without Go type names.
func jsonReason(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// lookup returns the value of the first key present with a non-null value,
// and that key prefixed for messages; key is "" when none is.
func lookup(obj map[string]any, keys ...string) (v any, key string) {
	for _, k := range keys {
		if v, ok := obj[k]; ok && v != nil {
			return v, "run_options." + k
		}
	}
	return nil, ""
}

// kind names a JSON value's type for messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// maxShown bounds how much of a value is repeated in a message.
const maxShown = 60

// show renders a value for a message: strings quoted, numbers as written,
// containers by kind, all cut short.
func show(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > maxShown {
			cut := maxShown
			for cut > 0 && !utf8.RuneStart(x[cut]) {
				cut--
			}
			return strconv.Quote(x[:cut]) + "..."
		}
		return strconv.Quote(x)
	case json.Number:
		if len(x) > maxShown {
			return "a number"
		}
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return kind(v)
}
