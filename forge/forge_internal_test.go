package forge

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s     string
		limit int
		note  string
		want  string
	}{
		{"héllo", 5, "…", "héllo"},
		{"héllo wörld", 8, " [cut]", "hé [cut]"},
		{"ééé", 2, "…", "é…"},
	} {
		if got := truncate(tc.s, tc.limit, tc.note); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.limit, got, tc.want)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	for limit := 3; limit <= 21; limit++ {
		got := truncateBytes(s, limit)
		if len(got) > limit || !utf8.ValidString(got) {
			t.Errorf("truncateBytes(%d) = %q (%d bytes)", limit, got, len(got))
		}
	}
	if got := truncateBytes(s, 20); got != s {
		t.Errorf("cut a string that fits: %q", got)
	}
}
