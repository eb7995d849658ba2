package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzWebhook: whatever the method, headers and body, the webhook triggers
// a fetch only for a POST whose GitHub signature is the HMAC of the body
// under the secret, or whose GitLab token is the secret, and whose push is
// to the followed branch. The fuzzer may sign the body itself (sign) or
// send the secret (sendSecret), so that it also explores what lies past
// the signature check.
func FuzzWebhook(f *testing.F) {
	push := `{"ref":"refs/heads/main","after":"abc"}`
	for _, s := range []struct {
		method, githubEvent, signature, gitlabEvent, gitlabToken, body string
		sign, sendSecret                                               bool
	}{
		{"POST", "push", "", "", "", push, true, false},                                             // valid GitHub push: triggers
		{"POST", "", "", "Push Hook", "", push, false, true},                                        // valid GitLab push: triggers
		{"POST", "push", "sha256=" + strings.Repeat("0", 64), "", "", push, false, false},           // forged signature
		{"POST", "push", "", "", "", push, false, false},                                            // unsigned
		{"POST", "push", "sha256=", "", "", push, false, false},                                     // empty digest
		{"POST", "push", "sha1=abc", "", "", push, false, false},                                    // wrong algorithm
		{"POST", "", "", "Push Hook", "hook-secreT", push, false, false},                            // wrong token
		{"POST", "", "", "Push Hook", "hook-secret\x00", push, false, false},                        // token with a NUL
		{"POST", "push", "", "Push Hook", "", push, false, true},                                    // GitLab token on a GitHub event
		{"POST", "", "", "Push Hook", "", push, true, false},                                        // GitHub signature on a GitLab event
		{"GET", "push", "", "", "", push, true, false},                                              // not POST
		{"POST", "push", "", "", "", `{"ref":"refs/heads/other"}`, true, false},                     // another branch
		{"POST", "push", "", "", "", `{"ref":"refs/heads/main"`, true, false},                       // truncated JSON
		{"POST", "push", "", "", "", `{"ref":"refs/heads/main","ref":"refs/heads/x"}`, true, false}, // duplicate key
		{"POST", "ping", "", "", "", `{}`, true, false},                                             // ping
		{"POST", "", "", "", "", push, true, true},                                                  // no event header
	} {
		f.Add(s.method, s.githubEvent, s.signature, s.gitlabEvent, s.gitlabToken, []byte(s.body), s.sign, s.sendSecret)
	}
	secret := []byte("hook-secret")
	f.Fuzz(func(t *testing.T, method, githubEvent, signature, gitlabEvent, gitlabToken string, body []byte, sign, sendSecret bool) {
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		valid := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if sign {
			signature = valid
		}
		if sendSecret {
			gitlabToken = string(secret)
		}
		triggers := 0
		h, err := NewWebhook(WebhookOptions{Secret: secret, Branch: "main", Trigger: func() { triggers++ }, MaxBody: 4 << 10})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, WebhookPath, strings.NewReader(string(body)))
		req.Method = method
		for k, v := range map[string]string{"X-GitHub-Event": githubEvent, "X-Hub-Signature-256": signature, "X-Gitlab-Event": gitlabEvent, "X-Gitlab-Token": gitlabToken} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if triggers == 0 {
			if rec.Code == http.StatusAccepted {
				t.Fatalf("202 without a trigger")
			}
			return
		}
		if triggers > 1 {
			t.Fatalf("%d triggers for one request", triggers)
		}
		// A trigger: the request must have been a signed push to main.
		if method != http.MethodPost {
			t.Fatalf("triggered by a %q request", method)
		}
		switch {
		case githubEvent != "":
			if !hmac.Equal([]byte(signature), []byte(valid)) {
				t.Fatalf("triggered by a GitHub event with signature %q, want %q", signature, valid)
			}
		case gitlabEvent != "":
			if gitlabToken != string(secret) {
				t.Fatalf("triggered by a GitLab event with token %q", gitlabToken)
			}
		default:
			t.Fatal("triggered by a request with neither a GitHub nor a GitLab event")
		}
		if !strings.Contains(string(body), `"refs/heads/main"`) {
			t.Fatalf("triggered by a push that does not name the branch: %q", body)
		}
		if rec.Code != http.StatusAccepted {
			t.Fatalf("triggered, but answered %d", rec.Code)
		}
	})
}
