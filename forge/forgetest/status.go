package forgetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"unicode/utf8"
)

// CommitStatus is a commit status as the forge stores it.
type CommitStatus struct {
	SHA         string
	State       string
	Context     string // GitHub's context, GitLab's name
	Description string
	TargetURL   string
}

// Commit statuses' limits, as the forges enforce them.
const (
	githubStatusDescriptionMax = 140
	gitlabStatusDescriptionMax = 255
)

// Statuses lists the commit statuses created, oldest first.
func (s *GitHub) Statuses() []CommitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses)
}

// createStatus serves POST /repos/{owner}/{repo}/statuses/{sha}.
func (s *GitHub) createStatus(w http.ResponseWriter, sha string, body []byte) {
	var req struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		githubFail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if !slices.Contains([]string{"error", "failure", "pending", "success"}, req.State) || !isHex(sha) || utf8.RuneCountInString(req.Description) > githubStatusDescriptionMax {
		githubFail(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	if req.Context == "" {
		req.Context = "default"
	}
	st := CommitStatus{SHA: sha, State: req.State, Context: req.Context, Description: req.Description, TargetURL: req.TargetURL}
	s.statuses = append(s.statuses, st)
	writeJSON(w, http.StatusCreated, map[string]any{"id": len(s.statuses), "state": st.State, "context": st.Context, "description": st.Description, "target_url": st.TargetURL})
}

// Statuses lists the commit statuses set, oldest first.
func (s *GitLab) Statuses() []CommitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses)
}

// setStatus serves POST /projects/{id}/statuses/{sha}.
func (s *GitLab) setStatus(w http.ResponseWriter, r *http.Request, sha string, body []byte) {
	var req struct {
		State       string `json:"state"`
		Name        string `json:"name"`
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		if err := r.ParseForm(); err != nil {
			gitlabFail(w, http.StatusBadRequest, "400 Bad request")
			return
		}
		req.State, req.Name, req.Description, req.TargetURL = r.Form.Get("state"), r.Form.Get("name"), r.Form.Get("description"), r.Form.Get("target_url")
	}
	if !slices.Contains([]string{"pending", "running", "success", "failed", "canceled", "skipped"}, req.State) || !isHex(sha) || utf8.RuneCountInString(req.Description) > gitlabStatusDescriptionMax {
		gitlabFail(w, http.StatusBadRequest, "400 Bad request - state is invalid")
		return
	}
	if req.Name == "" {
		req.Name = "default"
	}
	st := CommitStatus{SHA: sha, State: req.State, Context: req.Name, Description: req.Description, TargetURL: req.TargetURL}
	s.statuses = append(s.statuses, st)
	writeJSON(w, http.StatusCreated, map[string]any{"id": len(s.statuses), "sha": sha, "status": st.State, "name": st.Name(), "description": st.Description})
}

// Name is GitLab's word for the context.
func (c CommitStatus) Name() string { return c.Context }

func isHex(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
