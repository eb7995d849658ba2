package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/report"
)

// The environment variables the operator commands fall back on.
const (
	envServer    = "PAVE_SERVER"
	envTokenFile = "PAVE_TOKEN_FILE"
)

// maxAnswer bounds what the client reads of an answer (the status of
// every service of a large catalog fits many times over).
const maxAnswer = 64 << 20

// serverFlags are the flags of the commands that talk to a running
// pave serve: where it listens and the bearer token of its API.
type serverFlags struct {
	server    string
	tokenFile string
	timeout   time.Duration
}

func (f *serverFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", "", "URL of the pave serve API, e.g. http://pave.example:8080 (default: $"+envServer+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API's bearer token, as given to pave serve --api-token-file (default: $"+envTokenFile+")")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "bound on each request to the server")
}

// serverURL is --server, else $PAVE_SERVER, checked: http or https, a
// host, no credentials, query or fragment.
func (f *serverFlags) serverURL() (*url.URL, error) {
	raw := f.server
	if raw == "" {
		raw = os.Getenv(envServer)
	}
	if raw == "" {
		return nil, flagError("no server: give --server URL or set %s", envServer)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, flagError("--server: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, flagError("--server %s: want an http:// or https:// URL", u.Redacted())
	case u.Host == "":
		return nil, flagError("--server %s: no host", u.Redacted())
	case u.User != nil:
		return nil, flagError("--server %s: the URL carries credentials; give the API token with --token-file", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, flagError("--server %s: want a URL without a query or fragment", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// client builds the API client the flags describe. No --token-file (nor
// $PAVE_TOKEN_FILE) sends no token: a server without --api-token-file
// serves its reads to anyone.
func (f *serverFlags) client() (*apiClient, error) {
	u, err := f.serverURL()
	if err != nil {
		return nil, err
	}
	c := &apiClient{base: u, http: &http.Client{
		Timeout: f.timeout,
		// The token goes to --server and nowhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	path, flag := f.tokenFile, "--token-file"
	if path == "" {
		path, flag = os.Getenv(envTokenFile), "$"+envTokenFile
	}
	if path != "" {
		tok, err := reconciler.ReadAPIToken(path)
		if err != nil {
			return nil, flagError("%s: %v", flag, err)
		}
		c.token = string(tok)
	}
	return c, nil
}

// apiClient talks to a pave serve API.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// apiError is an answer the server refused with, turned into the message
// and exit code of the command.
type apiError struct {
	code    int    // HTTP status
	message string // the server's {"error": ...}, or its status text
}

func (e *apiError) Error() string { return e.message }

// get decodes GET path into out, and returns the raw answer too (for
// -o json, which prints what the API returned).
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

// post sends body as JSON to path and decodes the answer into out.
func (c *apiClient) post(ctx context.Context, path string, body, out any) ([]byte, error) {
	return c.do(ctx, http.MethodPost, path, nil, body, out)
}

// do sends one request to path (escaped: see apiPath) and decodes a
// successful answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body, out any) ([]byte, error) {
	u, err := url.Parse(c.base.String() + path)
	if err != nil {
		return nil, err
	}
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, c.unreachable(err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, c.refused(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, &exitError{code: exitInternal, err: fmt.Errorf("the answer of %s %s is not what pave expects: %v", method, c.base.Redacted()+path, err)}
		}
	}
	return data, nil
}

// apiPath joins API path segments, each escaped.
func apiPath(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// withContext prefixes err's message with what the command was doing,
// keeping its exit code. A mistake in the flags stays as it is: it
// points at the command's --help instead.
func withContext(err error, format string, args ...any) error {
	var ee *exitError
	if errors.As(err, &ee) && ee.help {
		return err
	}
	if errors.As(err, &ee) && ee.err != nil {
		return &exitError{code: ee.code, err: fmt.Errorf(format+": %w", append(args, ee.err)...), help: ee.help}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// unreachable explains a request that got no answer.
func (c *apiClient) unreachable(err error) error {
	hint := ""
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = ": connection refused (is pave serve running there? check --server)"
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		hint = ": no answer within --timeout"
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		hint = ": " + err.Error()
	}
	return &exitError{code: exitInternal, err: fmt.Errorf("cannot reach the pave server at %s%s", c.base.Redacted(), hint)}
}

// refused turns an error answer into the command's error: 401 and 400
// are the caller's to fix (exit 2), 403, 404, 409 and 501 are requests
// the server turned down (exit 1), anything else is the server failing
// (exit 3).
func (c *apiClient) refused(resp *http.Response, data []byte) error {
	var body struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		msg = body.Error
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	// The message may quote anything a service or a cluster said.
	msg = report.Terminal(msg)
	e := &apiError{code: resp.StatusCode, message: msg}
	code := exitInternal
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		code = exitUsage
		if c.token == "" {
			e.message = "the server requires a bearer token: give --token-file or set " + envTokenFile
		} else {
			e.message = "the server refused the token: check --token-file"
		}
	case http.StatusBadRequest:
		code = exitUsage
	case http.StatusForbidden, http.StatusConflict:
		code = exitFailure
	case http.StatusNotFound:
		code = exitFailure
		if body.Error == "" {
			// Not the API's own 404 (which names what is missing) but
			// the router's: the endpoint does not exist there.
			e.message = "the server has no such endpoint (" + resp.Request.URL.Path + "): is --server a pave serve API with the operator endpoints?"
		}
	case http.StatusNotImplemented:
		code = exitFailure
		e.message = msg + " (this pave serve does not support it yet)"
	default:
		e.message = fmt.Sprintf("the server failed (%s): %s", resp.Status, msg)
	}
	return &exitError{code: code, err: e}
}
