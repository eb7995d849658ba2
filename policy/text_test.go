package policy

import "testing"

func TestTextFormat(t *testing.T) { testFormat(t, "text", nil) }
