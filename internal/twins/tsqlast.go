package twins

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sqlc-dev/teesql/parser"
)

// node is one object of teesql's JSON form of the AST. The JSON form is
// walked rather than the Go types because it is uniform: every object names
// its type in "$type", and a generic walk reaches every node without a case
// for each of the hundreds of AST types.
type node = map[string]any

// parseTSQL parses T-SQL text with teesql and returns the root of its AST in
// JSON form.
func parseTSQL(ctx context.Context, text string) (node, error) {
	script, err := parser.Parse(ctx, strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	raw, err := parser.MarshalScript(script)
	if err != nil {
		return nil, fmt.Errorf("marshal T-SQL AST: %w", err)
	}
	var root node
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("read T-SQL AST: %w", err)
	}
	return root, nil
}

// visit calls fn for every node under n (n included) in document order,
// with the node that holds it and the key it is held under. Returning false
// from fn skips the node's children.
func visit(n node, fn func(n, parent node, key string) bool) {
	var walk func(v any, parent node, key string)
	walk = func(v any, parent node, key string) {
		switch v := v.(type) {
		case node:
			if _, ref := v["$ref"]; ref {
				// A back-reference to a node printed elsewhere in full.
				return
			}
			if !fn(v, parent, key) {
				return
			}
			for _, k := range sortedKeys(v) {
				walk(v[k], v, k)
			}
		case []any:
			for _, item := range v {
				walk(item, parent, key)
			}
		}
	}
	walk(n, nil, "")
}

// sortedKeys returns the keys of n that hold nodes or lists, ordered by the
// source offset of what they hold, so visit walks in document order.
func sortedKeys(n node) []string {
	type keyed struct {
		key string
		off int
	}
	var keys []keyed
	for k, v := range n {
		off, ok := firstOffset(v)
		if ok {
			keys = append(keys, keyed{k, off})
		}
	}
	// Insertion sort: nodes hold a handful of children.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && (keys[j].off < keys[j-1].off || keys[j].off == keys[j-1].off && keys[j].key < keys[j-1].key); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.key
	}
	return out
}

// firstOffset returns the source offset of the node or first node of a list,
// and false when v holds no node. Nodes without an offset sort first.
func firstOffset(v any) (int, bool) {
	switch v := v.(type) {
	case node:
		if off, ok := v["StartOffset"].(float64); ok {
			return int(off), true
		}
		return -1, true
	case []any:
		for _, item := range v {
			if off, ok := firstOffset(item); ok {
				return off, true
			}
		}
	}
	return 0, false
}

func typeOf(n node) string {
	s, _ := n["$type"].(string)
	return s
}

func child(n node, key string) node {
	c, _ := n[key].(node)
	return c
}

func children(n node, key string) []node {
	list, _ := n[key].([]any)
	out := make([]node, 0, len(list))
	for _, item := range list {
		if c, ok := item.(node); ok {
			out = append(out, c)
		}
	}
	return out
}

func str(n node, key string) string {
	s, _ := n[key].(string)
	return s
}

func offset(n node) int {
	off, ok := n["StartOffset"].(float64)
	if !ok {
		return -1
	}
	return int(off)
}

func line(n node) int {
	l, _ := n["StartLine"].(float64)
	return int(l)
}

// identValue returns the value of an Identifier node, or of the last part of
// a MultiPartIdentifier or SchemaObjectName: the column or table name itself.
func identValue(n node) string {
	if n == nil {
		return ""
	}
	if v := str(n, "Value"); v != "" {
		return v
	}
	if b := child(n, "BaseIdentifier"); b != nil {
		return str(b, "Value")
	}
	parts := children(n, "Identifiers")
	if len(parts) > 0 {
		return str(parts[len(parts)-1], "Value")
	}
	return ""
}

// declaredVariables returns the lower-cased names, without '@', of the
// variables a script DECLAREs: those are locals of the batch, not parameters.
func declaredVariables(root node) map[string]node {
	declared := map[string]node{}
	visit(root, func(n, _ node, _ string) bool {
		switch typeOf(n) {
		case "DeclareVariableElement", "DeclareTableVariableBody":
			if v := child(n, "VariableName"); v != nil {
				declared[strings.ToLower(strings.TrimPrefix(str(v, "Value"), "@"))] = v
			}
		}
		return true
	})
	return declared
}

// procedureArgNames returns the offsets of the @name tokens that name a
// stored procedure's parameter (EXEC sp_getapplock @Resource = ...): those
// belong to the procedure, not to the query.
func procedureArgNames(root node) map[int]bool {
	offsets := map[int]bool{}
	visit(root, func(n, _ node, _ string) bool {
		if typeOf(n) == "ExecuteParameter" {
			if v := child(n, "Variable"); v != nil && offset(v) >= 0 {
				offsets[offset(v)] = true
			}
		}
		return true
	})
	return offsets
}
