package policy

import "testing"

func TestMarkdownFormat(t *testing.T) { testFormat(t, "markdown", nil) }
