package catalog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Position is a line and column in a catalog file, both 1-based.
// A zero Line means the error concerns the whole file.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Error is one problem in a catalog file, located at the line and column
// that caused it. Its text is compiler-style: "path:line:col: message".
type Error struct {
	// File is the path of the file, relative to the catalog root and
	// slash-separated (e.g. "services/payments/checkout/service.yaml").
	File string `json:"file"`
	Position
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Location() + ": " + e.Message }

// Location is "file:line:column", "file:line" or "file", as much as is
// known.
func (e *Error) Location() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	default:
		return e.File
	}
}

// ErrorList collects every error found while loading a catalog, so that one
// run reports all of them instead of stopping at the first.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Sort orders the errors by file, line and column, the order a compiler
// prints them in.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Files returns the distinct files that have errors, sorted.
func (l ErrorList) Files() []string {
	var files []string
	for _, e := range l {
		files = append(files, e.File)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
