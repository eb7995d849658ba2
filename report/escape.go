package report

import (
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Every string a report holds may come from a pull request: a service's
// name, an exception's reason and approver, an image, an environment
// value, an object's kind and name, a policy message quoting them, a
// diff, even a policy or template file name. Each output format prints
// them through its own escaping layer below, so that none can drive a
// terminal, issue a CI workflow command, mention or link someone from a
// comment, or leave the line, table cell or code block it is printed in.
//
//	text      txt, txtLines
//	github    githubData, githubProperty
//	markdown  mdText, mdCode, mdCellCode, mdHTML, mdFence
//	sarif     sarifText, then as json
//	json, junit  their encoders, then quietEncoded

// visible replaces what acts on a terminal instead of showing — C0 and
// C1 control characters (ESC starting an escape sequence or an OSC 8
// hyperlink, CR rewriting the line, BEL), DEL, the Unicode bidirectional
// controls that reorder the text after them, the line and paragraph
// separators, and bytes that are not UTF-8 — by a visible Go-style
// escape: \x1b, \r, \u202e, \xff. Tabs stay, and newlines when
// keepNewlines.
func visible(s string, keepNewlines bool) string {
	clean := true
	for i, r := range s {
		if hidden(r) && !(r == '\n' && keepNewlines) || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines, !hidden(r):
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// hidden reports whether r acts on a terminal or on the text around it
// rather than showing.
func hidden(r rune) bool {
	return r != '\t' && unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// quietCI keeps a line from being read as a CI command when it reaches a
// CI log (pave check prints to standard output in a job): GitHub Actions
// runs a line whose first non-blank characters are "::" as a workflow
// command (::add-mask::, ::stop-commands::, ::error::), and "##[" or,
// on Azure Pipelines, "##vso[" anywhere in a line as one of the older
// syntax. A backslash goes before the "::" and before the "[".
func quietCI(line string) string {
	if rest := strings.TrimLeftFunc(line, unicode.IsSpace); strings.HasPrefix(rest, "::") {
		at := len(line) - len(rest)
		line = line[:at] + `\` + rest
	}
	return breakCommandBrackets(line, `\[`)
}

// breakCommandBrackets replaces the "[" of every "##[" and "##vso[" in s
// (vso in any case) by bracket.
func breakCommandBrackets(s, bracket string) string {
	if !strings.Contains(s, "##") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "##")
		if i < 0 {
			break
		}
		j := i + 2
		for j < len(s) && s[j] == '#' {
			j++ // "###[" holds "##["
		}
		if len(s) >= j+3 && strings.EqualFold(s[j:j+3], "vso") {
			j += 3
		}
		if j < len(s) && s[j] == '[' {
			b.WriteString(s[:j])
			b.WriteString(bracket)
			s = s[j+1:]
			continue
		}
		b.WriteString(s[:j])
		s = s[j:]
	}
	b.WriteString(s)
	return b.String()
}

// quietEncoded finishes the output of an encoder whose syntax holds no
// control character, bidirectional control or "##[" outside strings
// (JSON, XML) and whose strings may hold the ones it does not escape
// itself (DEL, C1 controls, bidirectional controls; "##[", "##vso["): it
// replaces each by the encoding's own escape for it (esc, and bracket for
// the "["), so that the document decodes to the same values while a
// terminal or a CI log only shows it.
func quietEncoded(doc []byte, esc func(rune) string, bracket string) []byte {
	s := string(doc)
	if strings.IndexFunc(s, hidden) >= 0 {
		var b strings.Builder
		for _, r := range s {
			if r != '\n' && r != '\t' && r != '\r' && hidden(r) {
				b.WriteString(esc(r))
			} else {
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	return []byte(breakCommandBrackets(s, bracket))
}

// Text.

// txt escapes a one-line value for the text format: newlines and control
// characters become visible escapes, and the value cannot start a CI
// command.
func txt(s string) string { return quietCI(visible(s, false)) }

// txtLines escapes a value of several lines for the text format: each
// line as txt, the lines after the first under indent.
func txtLines(s, indent string) string {
	lines := strings.Split(visible(s, true), "\n")
	for i, l := range lines {
		lines[i] = quietCI(l)
	}
	return strings.Join(lines, "\n"+indent)
}

// GitHub workflow commands, escaped as GitHub documents and its runner
// decodes them; control characters other than CR and LF become visible,
// and "##[" is broken as in text (the runner reads the line as the
// workflow command pave wrote, but the message may be shown elsewhere).

// githubData escapes a workflow command's message.
func githubData(s string) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	return breakCommandBrackets(visible(s, false), `\[`)
}

// githubProperty escapes a workflow command's property value.
func githubProperty(s string) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
	return breakCommandBrackets(visible(s, false), `\[`)
}

// Markdown, as GitHub and GitLab render it.

// zwsp, a zero-width space, goes between a sigil and what follows it, so
// that the forges see no mention (@user, @org/team), reference (#123,
// !123, ~label, %milestone, $123, &123) or bare link (https://, www.)
// while the reader sees the text unchanged.
const zwsp = "&#8203;"

// mdText escapes a value printed as markdown text (a message, a reason,
// a label) in a list item, a heading, or a table cell: on one line, with
// no HTML, no link or image, no table cell boundary, no mention,
// reference or bare link, and no CI command.
func mdText(s string) string {
	s = visible(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s), false)
	var b strings.Builder
	lead := true // at the start of the value, where a line may start
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case lead && r == ':' && strings.HasPrefix(s[i+size:], ":"):
			b.WriteString(`\:`)
		case lead && strings.ContainsRune("#-+=*", r):
			b.WriteString(`\`)
			mdRune(&b, s, i, size)
		default:
			mdRune(&b, s, i, size)
		}
		lead = lead && r == ' '
		i += size
	}
	return b.String()
}

// mdRune writes the rune of markdown text s at i, size bytes long.
func mdRune(b *strings.Builder, s string, i, size int) {
	r, _ := utf8.DecodeRuneInString(s[i:])
	switch r {
	case '<':
		b.WriteString("&lt;")
	case '>':
		b.WriteString("&gt;")
	case '&':
		b.WriteString("&amp;")
	case '\\', '`', '[', ']', '|', '$':
		b.WriteByte('\\')
		b.WriteRune(r)
	default:
		b.WriteRune(r)
	}
	if breaksAfter(s, i, size) {
		b.WriteString(zwsp)
	}
}

// breaksAfter reports whether a zero-width space goes after the rune of
// s at i, size bytes long: after "@" always; after "#", "!", "$" and "&"
// before a digit; after "~" and "%" before a letter, a digit or a quote
// (GitLab labels and milestones); after ":" before "//", and after a
// word "www" before ".".
func breaksAfter(s string, i, size int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	next := s[i+size:]
	n, _ := utf8.DecodeRuneInString(next)
	switch r {
	case '@':
		return true
	case '#', '!', '$', '&':
		return unicode.IsDigit(n)
	case '~', '%':
		return unicode.IsLetter(n) || unicode.IsDigit(n) || n == '"'
	case ':':
		return strings.HasPrefix(next, "//")
	case 'w', 'W':
		start := i + size - 3
		if n != '.' || start < 0 || !strings.EqualFold(s[start:i+size], "www") {
			return false
		}
		p, _ := utf8.DecodeLastRuneInString(s[:start])
		return start == 0 || !unicode.IsLetter(p) && !unicode.IsDigit(p)
	}
	return false
}

// mdCode prints a value as a code span: shown as written, with control
// characters and newlines as visible escapes, a fence no backtick run of
// the value closes, and no CI command. In a table cell use mdCellCode.
func mdCode(s string) string {
	s = quietCI(visible(s, false))
	if s == "" {
		return "``"
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCellCode is mdCode for a table cell, where GitHub and GitLab split
// cells at every "|" not escaped, even inside a code span: each "|" gets
// a backslash, and the backslashes before it are made an odd number so
// that none of them escapes another instead.
func mdCellCode(s string) string {
	code := mdCode(s)
	if !strings.Contains(code, "|") {
		return code
	}
	var b strings.Builder
	backslashes := 0
	for _, r := range code {
		switch r {
		case '\\':
			backslashes++
		case '|':
			if backslashes%2 == 0 {
				b.WriteByte('\\')
			}
			backslashes = 0
		default:
			backslashes = 0
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdHTML escapes a value printed inside an HTML block, such as a
// <summary>: HTML-escaped, on one line (a blank line would end the
// block), with no mention, reference or bare link, and no CI command
// (its "[" is an entity too).
func mdHTML(s string) string {
	s = visible(s, false)
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case i == 0 && r == ':':
			b.WriteString("&#58;")
		case r == '[':
			b.WriteString("&#91;")
		default:
			b.WriteString(html.EscapeString(string(r)))
		}
		if breaksAfter(s, i, size) {
			b.WriteString(zwsp)
		}
		i += size
	}
	return b.String()
}

// mdFence prints text in a fenced code block with info string info:
// shown as written, with control characters as visible escapes, a fence
// no line of the text closes, and no CI command.
func mdFence(info, text string) string {
	lines := strings.Split(strings.TrimSuffix(visible(text, true), "\n"), "\n")
	for i, l := range lines {
		lines[i] = quietCI(l)
	}
	body := strings.Join(lines, "\n")
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	return fence + info + "\n" + body + "\n" + fence + "\n"
}

// SARIF.

// sarifText escapes a plain-text SARIF message: SARIF consumers render
// "[text](target)" in it as a link, so the "]" before a "(" gets the
// backslash SARIF specifies for a literal bracket; other brackets, as in
// spec.patches[0], stay as written.
func sarifText(s string) string {
	return strings.ReplaceAll(s, "](", `\](`)
}

// Terminal escapes one line of text that may hold strings from services
// (error messages, object names, drift records) for a terminal or a CI
// log, as the text format does: control characters as visible escapes,
// no workflow command. The CLI prints its own lines through it.
func Terminal(s string) string { return txt(s) }

// TerminalLines is Terminal for text of several lines (a diff): each line
// escaped, the lines after the first under indent.
func TerminalLines(s, indent string) string { return txtLines(s, indent) }
