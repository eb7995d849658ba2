package reconciler

import "time"

// deployment is one entry of a pair's history, as the history endpoint
// serves it. It becomes apply.Deployment once that type lands.
type deployment = struct {
	Revision string     `json:"revision"`
	Result   string     `json:"result,omitempty"`
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end,omitempty"`
}
