package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/reconciler/apply"
)

// fakeTerminal stands in for the process's terminal: the writers listed
// are terminals, env is the environment.
func fakeTerminal(env map[string]string, terminals ...io.Writer) terminal {
	return terminal{
		getenv: func(k string) string { return env[k] },
		isTerminal: func(w io.Writer) bool {
			for _, t := range terminals {
				if w == t {
					return true
				}
			}
			return false
		},
		now: time.Now,
	}
}

// paveOn runs pave with its standard output and error on the terminal
// decided by tty (both terminals when true, both pipes when false).
func paveOn(t *testing.T, tty bool, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var terms []io.Writer
	if tty {
		terms = []io.Writer{&stdout, &stderr}
	}
	code := runWith(args, &stdout, &stderr, fakeTerminal(env, terms...))
	return code, stdout.String(), stderr.String()
}

// deniedCatalog is the example catalog with payments/checkout on :latest,
// which image-tag-pinned denies.
func deniedCatalog(t *testing.T) string {
	t.Helper()
	dir := copyCatalog(t)
	file := filepath.Join(dir, "services/payments/checkout/service.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, bytes.Replace(data, []byte(":1.4.2"), []byte(":latest"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCheckColour: on a terminal the text report colours FAIL, PASS and
// deny; NO_COLOR, a pipe, TERM=dumb, --color never and a machine format
// keep every escape code out; --color always colours even a pipe with
// NO_COLOR set, as no-color.org asks of a flag.
func TestCheckColour(t *testing.T) {
	dir := deniedCatalog(t)
	tests := []struct {
		name   string
		tty    bool
		env    map[string]string
		args   []string
		colour bool
	}{
		{"terminal", true, nil, nil, true},
		{"NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, nil, false},
		{"NO_COLOR empty is unset", true, map[string]string{"NO_COLOR": ""}, nil, true},
		{"TERM=dumb", true, map[string]string{"TERM": "dumb"}, nil, false},
		{"pipe", false, nil, nil, false},
		{"--color never", true, nil, []string{"--color", "never"}, false},
		{"--color always over NO_COLOR and a pipe", false, map[string]string{"NO_COLOR": "1"}, []string{"--color=always"}, true},
		{"json", true, nil, []string{"-o", "json"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := paveOn(t, tt.tty, tt.env, append([]string{"check", "--catalog", dir}, tt.args...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (denied)\n%s%s", code, stdout, stderr)
			}
			if !tt.colour {
				if strings.Contains(stdout, "\x1b") {
					t.Errorf("escape codes in the output:\n%q", stdout)
				}
				return
			}
			for _, want := range []string{
				sgrRed + sgrBold + "FAIL" + sgrReset + " payments/checkout (staging)",
				sgrGreen + "PASS" + sgrReset + " payments/settlement (prod)",
				": " + sgrRed + "deny" + sgrReset + " image-tag-pinned: ",
			} {
				if !strings.Contains(stdout, want) {
					t.Errorf("no %q in:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestColourFlagRefusesOtherValues(t *testing.T) {
	code, _, stderr := pave(t, "validate", "--catalog", exampleCatalog, "--color", "yes")
	if code != exitUsage || !strings.Contains(stderr, `--color must be auto, always or never, not "yes"`) || !strings.Contains(stderr, "pave validate --help") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

// TestApplyTableColour: the health of each service in pave apply's table
// is coloured once the table is aligned, so the columns stay aligned and
// a name that reads like a health is never coloured.
func TestApplyTableColour(t *testing.T) {
	results := []*apply.Result{
		{Service: "payments/checkout", Environment: "prod", Cluster: "prod", Health: apply.Health{Status: apply.HealthReady}},
		{Service: "payments/ledger", Environment: "prod", Cluster: "prod", Health: apply.Health{Status: apply.HealthFailed}},
		{Service: "data/Ready", Environment: "prod", Cluster: "prod", Health: apply.Health{Status: apply.HealthProgressing}},
		{Service: "data/events", Environment: "prod", Cluster: "prod", Err: fmt.Errorf("cluster prod: %w", apply.ErrUnreachable)},
		{Service: "data/report", Environment: "prod", Cluster: "prod", Err: fmt.Errorf("cluster prod: %w", apply.ErrUnreachable)},
	}
	var plain, coloured bytes.Buffer
	printApplyResults(&plain, results, true, false)
	printApplyResults(&coloured, results, true, true)
	if strings.Contains(plain.String(), "\x1b") {
		t.Errorf("colour without a terminal:\n%q", plain.String())
	}
	got := coloured.String()
	for _, want := range []string{
		" " + sgrGreen + "Ready" + sgrReset + " ",
		" " + sgrRed + "Failed" + sgrReset + " ",
		" " + sgrYellow + "Progressing" + sgrReset + " ",
		sgrRed + "cluster prod: " + apply.ErrUnreachable.Error() + " (2 services not applied)" + sgrReset + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%q", want, got)
		}
	}
	if strings.Contains(got, "data/"+sgrGreen) {
		t.Errorf("a service name was coloured:\n%q", got)
	}
	// Without the colour codes, both tables are the same, aligned.
	strip := strings.NewReplacer(sgrGreen, "", sgrRed, "", sgrYellow, "", sgrReset, "")
	if strip.Replace(got) != plain.String() {
		t.Errorf("colour changed the table:\n%s\nwant\n%s", strip.Replace(got), plain.String())
	}
}

// expiredCatalog is the example catalog with data/report-builder's
// exception expired.
func expiredCatalog(t *testing.T) string {
	t.Helper()
	dir := copyCatalog(t)
	file := filepath.Join(dir, "exceptions/data/report-builder.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, bytes.Replace(data, []byte("expires: 2027-05-31"), []byte("expires: 2020-01-31"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestValidateWarnsOfExpiredException: an expired exception is a warning
// at its expires line, in text and JSON, with exit status 0.
func TestValidateWarnsOfExpiredException(t *testing.T) {
	dir := expiredCatalog(t)
	code, stdout, stderr := pave(t, "validate", "--catalog", dir)
	want := filepath.Join(dir, "exceptions/data/report-builder.yaml") + ":13:14: warning: exceptions[0].expires: the exception to readonly-root-filesystem expired on 2020-01-31 and no longer applies"
	if code != 0 || !strings.HasPrefix(stdout, want) || !strings.Contains(stderr, "8 services valid, 0 invalid, 1 warning") {
		t.Fatalf("exit %d\nstdout: %s\nwant: %s\nstderr: %s", code, stdout, want, stderr)
	}

	code, stdout, _ = pave(t, "validate", "--catalog", dir, "-o", "json")
	var report validateReport
	if err := json.Unmarshal([]byte(stdout), &report); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, stdout)
	}
	if len(report.Errors) != 0 || len(report.Warnings) != 1 || report.Warnings[0].Line != 13 {
		t.Errorf("report = %+v", report)
	}

	_, stdout, _ = paveOn(t, true, nil, "validate", "--catalog", dir)
	if !strings.Contains(stdout, ": "+sgrYellow+sgrBold+"warning"+sgrReset+": ") {
		t.Errorf("warning not coloured on a terminal: %q", stdout)
	}
}

// TestValidateSettingTheTemplateDoesNotTake: a setting the template's
// values.schema.json does not allow is found by pave validate, without
// rendering, at the developer's line, and pave check reports the same.
func TestValidateSettingTheTemplateDoesNotTake(t *testing.T) {
	dir := copyCatalog(t)
	file := filepath.Join(dir, "services/payments/ledger-worker/service.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("template: worker")) {
		t.Fatalf("payments/ledger-worker is no longer a worker:\n%s", data)
	}
	line := bytes.Count(data, []byte("\n")) + 1
	data = append(data, "  ingress:\n    host: ledger.example.com\n"...)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "validate", "--catalog", dir)
	where := file + ":" + strconv.Itoa(line) + ":3: "
	if code != 1 || !strings.Contains(stdout, where+"template worker does not take spec.ingress (its settings: ") {
		t.Fatalf("exit %d, want 1 and %q\nstdout: %s\nstderr: %s", code, where, stdout, stderr)
	}
	code, stdout, _ = pave(t, "check", "--catalog", dir, "payments/ledger-worker")
	if code != 1 || !strings.Contains(stdout, "template worker does not take spec.ingress") {
		t.Errorf("pave check: exit %d\n%s", code, stdout)
	}
}

// syncBuffer is a buffer the progress line and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgressLine: the line shows only on a terminal, only after the
// delay, is rewritten in place, gets out of the way of a message and is
// cleared at the end.
func TestProgressLine(t *testing.T) {
	clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	var out bytes.Buffer
	con := &console{term: fakeTerminal(nil, &out)}
	con.term.now, con.term.progressDelay = now, time.Second

	p := con.progress(&out, "checking", "pair", 10)
	p.add(1)
	if out.Len() != 0 {
		t.Fatalf("drawn before the delay: %q", out.String())
	}
	clock = clock.Add(1500 * time.Millisecond)
	p.add(1)
	p.add(1) // within 100ms of the last draw: not drawn again
	clock = clock.Add(200 * time.Millisecond)
	p.add(1)
	io.WriteString(p, "payments/checkout (prod): denied\n")
	clock = clock.Add(10 * time.Millisecond)
	p.add(1) // the line was cleared: drawn again at once
	p.end()
	want := "\r\x1b[Kchecking 2/10 pairs…" +
		"\r\x1b[Kchecking 4/10 pairs…" +
		"\r\x1b[Kpayments/checkout (prod): denied\n" +
		"\r\x1b[Kchecking 5/10 pairs…" +
		"\r\x1b[K"
	if out.String() != want {
		t.Errorf("terminal got\n%q\nwant\n%q", out.String(), want)
	}

	// On a pipe: nothing but the message.
	var pipe bytes.Buffer
	p = con.progress(&pipe, "checking", "pair", 10)
	clock = clock.Add(time.Hour)
	p.add(5)
	io.WriteString(p, "a message\n")
	p.end()
	if pipe.String() != "a message\n" {
		t.Errorf("pipe got %q", pipe.String())
	}
}

// TestCheckProgress: pave check shows its progress on a terminal stderr
// and clears it; on a pipe stderr has no progress at all.
func TestCheckProgress(t *testing.T) {
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	tty := fakeTerminal(nil, stderr)
	tty.progressDelay = 0
	code := runWith([]string{"check", "--catalog", exampleCatalog}, &stdout, stderr, tty)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	got := stderr.String()
	if !strings.Contains(got, "\r\x1b[Kchecking ") || !strings.Contains(got, "/16 pairs…") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("stderr on a terminal = %q", got)
	}
	if strings.Contains(stdout.String(), "\r") {
		t.Errorf("progress on stdout: %q", stdout.String())
	}

	code, _, pipeErr := paveOn(t, false, nil, "check", "--catalog", exampleCatalog)
	if code != 0 || pipeErr != "" {
		t.Errorf("exit %d, stderr on a pipe = %q", code, pipeErr)
	}
}

// TestNewSuggestsTheCheckThatIsEnough: pave new tells you to run pave
// validate only when validate sees all that may be wrong; the example
// catalog has policies (and schemas), so it says pave check TEAM/NAME, in
// its next steps and in the file's header.
func TestNewSuggestsTheCheckThatIsEnough(t *testing.T) {
	for _, tt := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"policies judge it", func(*testing.T, string) {}, "pave check payments/refunds"},
		{"nothing but validate judges it", func(t *testing.T, dir string) {
			for _, p := range []string{"policies", "templates/worker/values.schema.json"} {
				if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
					t.Fatal(err)
				}
			}
		}, "pave validate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyCatalog(t)
			tt.prepare(t, dir)
			code, stdout, stderr := pave(t, "new", "payments/refunds", "--catalog", dir, "--template", "worker")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			if want := "2. Check it:   " + tt.want + " --catalog " + dir + "\n"; !strings.Contains(stdout, want) {
				t.Errorf("no %q in:\n%s", want, stdout)
			}
			data, err := os.ReadFile(filepath.Join(dir, "services/payments/refunds/service.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "Check it with: "+tt.want+"\n") {
				t.Errorf("file header does not say %q:\n%s", tt.want, data)
			}
			if tt.want == "pave validate" {
				if code, out, errOut := pave(t, "validate", "--catalog", dir); code != 0 {
					t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
				}
			}
		})
	}
}

// TestReviewColourAndProgress: a review's text report colours each pair's
// verdict on a terminal, and its progress line is cleared from stderr.
func TestReviewColourAndProgress(t *testing.T) {
	repo := templateChange(t)
	t.Chdir(repo.Dir)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	tty := fakeTerminal(nil, &stdout, stderr)
	code := runWith([]string{"check", "--base", "HEAD~1"}, &stdout, stderr, tty)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if want := "CHANGED storefront/web (prod): " + sgrGreen + "pass" + sgrReset + "\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("no %q in:\n%s", want, stdout.String())
	}
	if got := stderr.String(); !strings.Contains(got, "\r\x1b[Kreviewing 2 changed files… 0s") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("stderr = %q", got)
	}
}

// TestApplyAndDiffOnATerminal: apply colours its table and shows its
// progress on a terminal, cleared at the end; diff's messages are never
// run into by its progress line, and on a pipe there is none.
func TestApplyAndDiffOnATerminal(t *testing.T) {
	kc := notReadyKubeconfig(t)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	code := runWith([]string{"apply", "--catalog", exampleCatalog, "--cluster", "prod=" + kc}, &stdout, stderr, fakeTerminal(nil, &stdout, stderr))
	if code != exitFailure {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		" " + sgrRed + "ClusterUnreachable" + sgrReset + " ",
		sgrRed + "cluster unreachable: prod: /readyz answered 503 Service Unavailable (8 services not applied)" + sgrReset + "\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("apply: no %q in:\n%s", want, stdout.String())
		}
	}
	if got := stderr.String(); !strings.Contains(got, "\r\x1b[Kchecking services… 0s") || !strings.Contains(got, "\r\x1b[Kapplying 0/16 pairs…") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("apply: stderr = %q", got)
	}

	stdout.Reset()
	stderr = &syncBuffer{}
	code = runWith([]string{"diff", "--catalog", exampleCatalog, "--cluster", "prod=" + kc}, &stdout, stderr, fakeTerminal(nil, &stdout, stderr))
	got := stderr.String()
	if code != exitFailure || !strings.Contains(got, "\r\x1b[Kno --cluster staging given (8 services not diffed)\n") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("diff: exit %d, stderr = %q", code, got)
	}
}
