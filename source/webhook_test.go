package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWebhook(t *testing.T) {
	secret := []byte("hook-secret")
	sign := func(body string) string {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	pushMain := `{"ref":"refs/heads/main","after":"abc"}`
	pushOther := `{"ref":"refs/heads/feature"}`
	pushTag := `{"ref":"refs/tags/v1"}`
	big := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", 2<<20) + `"}`

	github := func(event, sig string) map[string]string {
		h := map[string]string{"X-GitHub-Event": event}
		if sig != "" {
			h["X-Hub-Signature-256"] = sig
		}
		return h
	}
	gitlab := func(event, token string) map[string]string {
		h := map[string]string{"X-Gitlab-Event": event}
		if token != "" {
			h["X-Gitlab-Token"] = token
		}
		return h
	}
	for _, tc := range []struct {
		name     string
		method   string
		headers  map[string]string
		body     string
		code     int
		triggers int
		rejected string
	}{
		{"github push", "POST", github("push", sign(pushMain)), pushMain, 202, 1, ""},
		{"github push other branch", "POST", github("push", sign(pushOther)), pushOther, 204, 0, ""},
		{"github push tag", "POST", github("push", sign(pushTag)), pushTag, 204, 0, ""},
		{"github ping", "POST", github("ping", sign(`{"zen":"x"}`)), `{"zen":"x"}`, 200, 0, ""},
		{"github other event", "POST", github("issues", sign(`{}`)), `{}`, 204, 0, ""},
		{"github bad signature", "POST", github("push", sign(pushOther)), pushMain, 401, 0, RejectBadSignature},
		{"github signature of another secret", "POST", github("push", "sha256="+strings.Repeat("ab", 32)), pushMain, 401, 0, RejectBadSignature},
		{"github malformed signature", "POST", github("push", "sha1=abc"), pushMain, 401, 0, RejectBadSignature},
		{"github missing signature", "POST", github("push", ""), pushMain, 401, 0, RejectMissingSignature},
		{"github unsigned ping", "POST", github("ping", ""), `{}`, 401, 0, RejectMissingSignature},
		{"github push not json", "POST", github("push", sign("nope")), "nope", 400, 0, RejectBadPayload},
		{"gitlab push", "POST", gitlab("Push Hook", "hook-secret"), pushMain, 202, 1, ""},
		{"gitlab push other branch", "POST", gitlab("Push Hook", "hook-secret"), pushOther, 204, 0, ""},
		{"gitlab other event", "POST", gitlab("Merge Request Hook", "hook-secret"), `{}`, 204, 0, ""},
		{"gitlab bad token", "POST", gitlab("Push Hook", "hook-secreT"), pushMain, 401, 0, RejectBadSignature},
		{"gitlab missing token", "POST", gitlab("Push Hook", ""), pushMain, 401, 0, RejectMissingSignature},
		{"unknown sender", "POST", nil, pushMain, 400, 0, RejectUnknownSender},
		{"oversized body", "POST", github("push", sign(big)), big, 413, 0, RejectTooLarge},
		{"GET", "GET", github("push", sign(pushMain)), "", 405, 0, RejectMethod},
		{"PUT", "PUT", github("push", sign(pushMain)), pushMain, 405, 0, RejectMethod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			triggers := 0
			var rejected []string
			h, err := NewWebhook(WebhookOptions{
				Secret:     secret,
				Branch:     "main",
				Trigger:    func() { triggers++ },
				OnRejected: func(reason string) { rejected = append(rejected, reason) },
			})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tc.method, WebhookPath, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code || triggers != tc.triggers {
				t.Errorf("got %d with %d triggers, want %d with %d (body %q)", rec.Code, triggers, tc.code, tc.triggers, rec.Body.String())
			}
			var want []string
			if tc.rejected != "" {
				want = []string{tc.rejected}
			}
			if !slices.Equal(rejected, want) {
				t.Errorf("rejected %q, want %q", rejected, want)
			}
			if tc.code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
				t.Error("405 without Allow: POST")
			}
		})
	}
}

func TestWebhookConfig(t *testing.T) {
	if _, err := NewWebhook(WebhookOptions{Branch: "main", Trigger: func() {}}); err == nil {
		t.Error("a webhook without a secret was accepted")
	}
	dir := t.TempDir()
	if s, err := ReadWebhookSecret(writeFile(t, filepath.Join(dir, "s"), "  hook-secret\n")); err != nil || string(s) != "hook-secret" {
		t.Errorf("ReadWebhookSecret = %q, %v", s, err)
	}
	if _, err := ReadWebhookSecret(writeFile(t, filepath.Join(dir, "empty"), "\n")); err == nil {
		t.Error("an empty secret was accepted")
	}
}
