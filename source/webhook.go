package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// WebhookPath is where the daemon mounts the webhook handler.
const WebhookPath = "/hooks/git"

// DefaultMaxWebhookBody bounds a webhook body when WebhookOptions.MaxBody
// is zero.
const DefaultMaxWebhookBody = 1 << 20

// Reasons passed to WebhookOptions.OnRejected: a small fixed set, fit for a
// metric label.
const (
	RejectMethod           = "method"            // not POST: 405
	RejectTooLarge         = "too_large"         // body over the limit: 413
	RejectUnknownSender    = "unknown_sender"    // neither a GitHub nor a GitLab event: 400
	RejectMissingSignature = "missing_signature" // no X-Hub-Signature-256 / X-Gitlab-Token: 401
	RejectBadSignature     = "bad_signature"     // signature or token does not match: 401
	RejectBadPayload       = "bad_payload"       // verified, but not a push event's JSON: 400
)

// WebhookOptions configures the webhook handler.
type WebhookOptions struct {
	// Secret is the shared secret: GitHub's webhook secret (HMAC-SHA256 of
	// the body) or GitLab's secret token. See ReadWebhookSecret.
	Secret []byte
	// Branch is the followed branch: only pushes to refs/heads/<Branch>
	// call Trigger.
	Branch string
	// Trigger is called for a verified push to Branch, before the answer
	// is sent: it must not block (e.g. a non-blocking send on a channel
	// with room for one).
	Trigger func()
	// OnRejected, if set, is called with one of the Reject* reasons for
	// every request refused.
	OnRejected func(reason string)
	// MaxBody bounds the request body (default DefaultMaxWebhookBody).
	MaxBody int64
}

// ReadWebhookSecret reads a secret file (--webhook-secret-file), trimming
// surrounding whitespace; an empty secret is an error.
func ReadWebhookSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read webhook secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, fmt.Errorf("webhook secret file %s is empty", path)
	}
	return []byte(s), nil
}

// NewWebhook returns the handler for POST /hooks/git. It accepts GitHub
// push events (X-GitHub-Event: push, signed with X-Hub-Signature-256) and
// GitLab push events (X-Gitlab-Event: Push Hook, X-Gitlab-Token), checked
// in constant time. Answers: 202 for a push to the branch (Trigger
// called), 204 for any other verified event (another branch, a tag, not a
// push), 200 for a GitHub ping; 401 for a missing or wrong signature, 400
// for an unknown sender or a malformed push, 405 for a method other than
// POST, 413 for a body over MaxBody.
func NewWebhook(opts WebhookOptions) (http.Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("webhook: a secret is required")
	}
	if opts.Branch == "" {
		return nil, errors.New("webhook: a branch is required")
	}
	if opts.Trigger == nil {
		return nil, errors.New("webhook: a trigger is required")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxWebhookBody
	}
	return &webhook{opts: opts}, nil
}

type webhook struct{ opts WebhookOptions }

func (h *webhook) reject(w http.ResponseWriter, code int, reason, msg string) {
	if h.opts.OnRejected != nil {
		h.opts.OnRejected(reason)
	}
	http.Error(w, msg, code)
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, http.StatusMethodNotAllowed, RejectMethod, "only POST is accepted")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(w, http.StatusRequestEntityTooLarge, RejectTooLarge, fmt.Sprintf("body over %d bytes", h.opts.MaxBody))
			return
		}
		h.reject(w, http.StatusBadRequest, RejectBadPayload, "could not read the body")
		return
	}

	var event string
	switch {
	case r.Header.Get("X-GitHub-Event") != "":
		event = r.Header.Get("X-GitHub-Event")
		sig := r.Header.Get("X-Hub-Signature-256")
		if sig == "" {
			h.reject(w, http.StatusUnauthorized, RejectMissingSignature, "missing X-Hub-Signature-256")
			return
		}
		if !h.validGitHubSignature(sig, body) {
			h.reject(w, http.StatusUnauthorized, RejectBadSignature, "signature does not match")
			return
		}
		if event == "ping" {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "pong\n")
			return
		}
		if event != "push" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	case r.Header.Get("X-Gitlab-Event") != "":
		event = r.Header.Get("X-Gitlab-Event")
		token := r.Header.Get("X-Gitlab-Token")
		if token == "" {
			h.reject(w, http.StatusUnauthorized, RejectMissingSignature, "missing X-Gitlab-Token")
			return
		}
		if !h.validToken(token) {
			h.reject(w, http.StatusUnauthorized, RejectBadSignature, "token does not match")
			return
		}
		if event != "Push Hook" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	default:
		h.reject(w, http.StatusBadRequest, RejectUnknownSender, "expected a GitHub or GitLab push event")
		return
	}

	var push struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &push); err != nil || push.Ref == "" {
		h.reject(w, http.StatusBadRequest, RejectBadPayload, "not a push event: no ref")
		return
	}
	if push.Ref != "refs/heads/"+h.opts.Branch {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.opts.Trigger()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "fetch triggered\n")
}

func (h *webhook) validGitHubSignature(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, h.opts.Secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// validToken compares digests, so that neither the content nor the length
// of the secret leaks through timing.
func (h *webhook) validToken(token string) bool {
	want := sha256.Sum256(h.opts.Secret)
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
