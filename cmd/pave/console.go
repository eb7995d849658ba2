package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// terminal is what pave asks of the process it runs in: its environment
// and whether a writer is a terminal. main uses the real one; tests inject
// theirs.
type terminal struct {
	getenv     func(string) string
	isTerminal func(io.Writer) bool
	now        func() time.Time
	// progressDelay is how long a run goes before it shows progress;
	// progressTick how often the line is redrawn while nothing is counted
	// (0: only when something is).
	progressDelay time.Duration
	progressTick  time.Duration
}

// osTerminal is the process's own terminal: a writer is a terminal when
// it is an *os.File on one.
func osTerminal() terminal {
	return terminal{
		getenv: os.Getenv,
		isTerminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
		now:           time.Now,
		progressDelay: time.Second,
		progressTick:  250 * time.Millisecond,
	}
}

// Values of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// console is how a command talks to the person at the terminal: colour
// and progress, decided once per writer.
type console struct {
	term  terminal
	color string // --color
}

func (c *console) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.color, "color", colorAuto, "colour the results: auto (on a terminal, unless NO_COLOR is set), always or never")
}

func (c *console) check() error {
	switch c.color {
	case colorAuto, colorAlways, colorNever:
		return nil
	}
	return flagError("--color must be auto, always or never, not %q", c.color)
}

// colored tells whether what is written to w gets colour: --color always
// or never decides; auto colours a terminal unless NO_COLOR is set to
// anything (https://no-color.org) or TERM is dumb. The flag wins over
// NO_COLOR, as no-color.org asks.
func (c *console) colored(w io.Writer) bool {
	switch c.color {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	if c.term.getenv("NO_COLOR") != "" || c.term.getenv("TERM") == "dumb" {
		return false
	}
	return c.term.isTerminal(w)
}

// interactive tells whether w is a terminal that a progress line can be
// rewritten on: never a pipe or a file, nor a dumb terminal.
func (c *console) interactive(w io.Writer) bool {
	return c.term.getenv("TERM") != "dumb" && c.term.isTerminal(w)
}

type consoleKey struct{}

// withConsole puts the console in the context every command runs with.
func withConsole(ctx context.Context, c *console) context.Context {
	return context.WithValue(ctx, consoleKey{}, c)
}

// consoleOf is the console of a command: the root's, or one that never
// colours nor shows progress when the command runs on its own (tests of a
// single command).
func consoleOf(cmd *cobra.Command) *console {
	if ctx := cmd.Context(); ctx != nil {
		if c, ok := ctx.Value(consoleKey{}).(*console); ok {
			return c
		}
	}
	return quietConsole()
}

// quietConsole never colours nor shows progress.
func quietConsole() *console {
	return &console{color: colorNever, term: terminal{
		getenv:     func(string) string { return "" },
		isTerminal: func(io.Writer) bool { return false },
		now:        time.Now,
	}}
}

// SGR colours.
const (
	sgrReset  = "\x1b[0m"
	sgrRed    = "\x1b[31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrBold   = "\x1b[1m"
)

// healthColour is the colour of a health in pave apply's table.
func healthColour(health string) string {
	switch health {
	case "Failed", "ClusterUnreachable":
		return sgrRed
	case "Progressing", "Unknown":
		return sgrYellow
	case "Ready", "Pruned":
		return sgrGreen
	}
	return ""
}

// colourColumn colours the cells of one column of an aligned table: the
// column starts where its header does, and row i (after the header)
// holds cells[i]. A row whose text there is not the cell is left alone.
func colourColumn(table, header string, cells []string, colour func(string) string) string {
	lines := strings.SplitAfter(table, "\n")
	if len(lines) == 0 {
		return table
	}
	at := strings.Index(lines[0], header)
	if at < 0 {
		return table
	}
	at = utf8.RuneCountInString(lines[0][:at])
	for i, cell := range cells {
		if i+1 >= len(lines) || colour(cell) == "" {
			continue
		}
		row := []rune(lines[i+1])
		end := at + utf8.RuneCountInString(cell)
		if end > len(row) || string(row[at:end]) != cell {
			continue
		}
		lines[i+1] = string(row[:at]) + colour(cell) + cell + sgrReset + string(row[end:])
	}
	return strings.Join(lines, "")
}

// progress is a line on stderr that says how far a long run is
// ("checking 120/1000 services…"), rewritten in place. It shows only on a
// terminal, only once the run has gone on for the console's
// progressDelay, and is cleared at the end. Everything else written to
// stderr meanwhile goes through it (Write), so the line never runs into a
// message: it is cleared first and drawn again on the next step.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	now     func() time.Time
	delay   time.Duration
	start   time.Time
	last    time.Time // when the line was last drawn
	verb    string    // "checking"
	noun    string    // "service"
	done    int
	total   int // 0: not counted, the line shows the time gone instead
	shown   bool
	stopped chan struct{}
}

// progressEvery is how often the line is redrawn at most.
const progressEvery = 100 * time.Millisecond

// progress starts a progress line on w for total things (0 when they are
// not counted, as in an apply, whose line then shows the time gone). On a
// terminal a ticker redraws it; stop it with done.
func (c *console) progress(w io.Writer, verb, noun string, total int) *progress {
	p := &progress{w: w, on: c.interactive(w), now: c.term.now, delay: c.term.progressDelay, verb: verb, noun: noun, total: total, stopped: make(chan struct{})}
	p.start = p.now()
	p.draw(true) // without a delay, at once
	if p.on && c.term.progressTick > 0 {
		go p.tick(c.term.progressTick)
	}
	return p
}

func (p *progress) tick(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopped:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw(true)
			p.mu.Unlock()
		}
	}
}

// add counts n more things done.
func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.draw(false)
}

// draw rewrites the line if the run is long enough and the line is due;
// the caller holds mu.
func (p *progress) draw(force bool) {
	if !p.on {
		return
	}
	now := p.now()
	if now.Sub(p.start) < p.delay || (!force && p.shown && now.Sub(p.last) < progressEvery) {
		return
	}
	var line string
	if p.total > 0 {
		line = fmt.Sprintf("%s %d/%d %ss…", p.verb, p.done, p.total, p.noun)
	} else {
		line = fmt.Sprintf("%s… %ds", p.verb, int(now.Sub(p.start).Seconds()))
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.shown, p.last = true, now
}

// Write clears the line, then writes b: stderr output of the run goes
// through the progress while it is running.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	return p.w.Write(b)
}

func (p *progress) clear() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// end stops the ticker and clears the line.
func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stopped:
	default:
		close(p.stopped)
	}
	p.clear()
	p.on = false
}
