package reconciler

import "errors"

// Until the operator branch (reconciler/operator.go) is merged, which
// defines them: delete this file then.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrNotSupported = errors.New("not supported")
)
