package report

import "testing"

func TestTextFormat(t *testing.T) { testFormat(t, "text", nil) }

func TestTextEscapesServiceStrings(t *testing.T) {
	note := "    excepted until 2027-06-30, approved by security@example.com: "
	formatWants(t, "text", []struct{ in, want string }{
		{"\n::add-mask::x", note + `\n::add-mask::x` + "\n"},
		{"\r::stop-commands::token", note + `\r::stop-commands::token` + "\n"},
		{"##[add-mask]x", note + `##\[add-mask]x` + "\n"},
		{"see ##VSO[task.setvariable variable=x]y", note + `see ##VSO\[task.setvariable variable=x]y` + "\n"},
		{"\x1b]8;;http://evil\x07click\x1b]8;;\x07", note + `\x1b]8;;http://evil\x07click\x1b]8;;\x07` + "\n"},
		{"\x1b[2J\x1b[Hall policies pass", note + `\x1b[2J\x1b[Hall policies pass` + "\n"},
		{"\u202eexe.txt", note + `\u202eexe.txt` + "\n"},
		{"\xff\xfe", note + `\xff\xfe` + "\n"},
		{"\u009b31m", note + `\u009b31m` + "\n"},
		{"\x9b31m", note + `\x9b31m` + "\n"},
		// Multi-line messages keep their lines, indented, none of them a
		// workflow command.
		{"one\n  ::add-mask::x", "excepted readonly-root-filesystem: denied: one\n      \\::add-mask::x\n"},
		// What is not a terminal's or a CI runner's business is left as written.
		{"@org/team please approve [click](https://evil) <img src=x> a|b ```", note + "@org/team please approve [click](https://evil) <img src=x> a|b ```\n"},
	})
}

func TestTxtLinesIndentsAndQuiets(t *testing.T) {
	got := txtLines("--- base\n ::error::forged\n+\t##[add-mask]x\r", "    ")
	if want := "--- base\n     \\::error::forged\n    +\t##\\[add-mask]x\\r"; got != want {
		t.Errorf("txtLines = %q, want %q", got, want)
	}
}
