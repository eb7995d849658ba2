package report

// SGR colours the text format uses on a terminal.
const (
	sgrReset  = "\x1b[0m"
	sgrRed    = "\x1b[31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrBold   = "\x1b[1m"
)

// palette colours the words the text format writes itself (statuses,
// kinds of result): never text taken from the catalog, which is escaped
// before it is printed. The zero palette colours nothing.
type palette struct{ on bool }

func (p palette) paint(word, sgr string) string {
	if !p.on || word == "" {
		return word
	}
	return sgr + word + sgrReset
}

// status colours a status or verdict word: pass green, fail and error
// bold red, warn bold yellow, whatever its case ("PASS", "pass").
func (p palette) status(word string) string {
	switch word {
	case "PASS", "pass":
		return p.paint(word, sgrGreen)
	case "FAIL", "fail", "ERROR", "error":
		return p.paint(word, sgrRed+sgrBold)
	case "WARN", "warn":
		return p.paint(word, sgrYellow+sgrBold)
	}
	return word
}

// kind colours the kind of one result line: deny and error red, warn
// yellow, excepted green.
func (p palette) kind(word string) string {
	switch word {
	case "deny", "error":
		return p.paint(word, sgrRed)
	case "warn":
		return p.paint(word, sgrYellow)
	case "excepted":
		return p.paint(word, sgrGreen)
	}
	return word
}
