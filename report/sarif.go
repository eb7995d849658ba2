package report

import (
	"github.com/pave-dev/pave/review"
	"io"
	"net/url"
	"path/filepath"
	"slices"
)

// SARIF prints a SARIF 2.1.0 log for code-scanning tools: one rule per
// policy (from its METADATA), one result per violation or error, located
// at the service.yaml file and line. Excepted denials are results with an
// accepted suppression carrying the exception's reason.
type SARIF struct{}

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	errorRuleID  = "pave-error"
	paveInfoURI  = "https://github.com/pave-dev/pave"
	sarifVersion = "2.1.0"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     *sarifMessage  `json:"shortDescription,omitempty"`
	FullDescription      *sarifMessage  `json:"fullDescription,omitempty"`
	Help                 *sarifMessage  `json:"help,omitempty"`
	DefaultConfiguration sarifRuleLevel `json:"defaultConfiguration"`
}

type sarifRuleLevel struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifMessage       `json:"message"`
	Locations    []sarifLocation    `json:"locations,omitempty"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	// BaselineState compares with the base of a review: new, unchanged
	// or absent (fixed).
	BaselineState string            `json:"baselineState,omitempty"`
	Properties    map[string]string `json:"properties,omitempty"`
}

// sarifBaseline maps a violation's state to SARIF's baselineState.
var sarifBaseline = map[string]string{review.StateNew: "new", review.StateLetThrough: "new", review.StateExisting: "unchanged", review.StateFixed: "absent"}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// Format implements Formatter.
func (SARIF) Format(w io.Writer, r *Report) error {
	driver := sarifDriver{Name: "pave", InformationURI: paveInfoURI, Rules: []sarifRule{}}
	index := map[string]int{}
	for _, p := range r.Policies {
		rule := sarifRule{ID: p.ID, Name: p.ID, DefaultConfiguration: sarifRuleLevel{Level: "error"}}
		rule.ShortDescription = &sarifMessage{Text: p.ID}
		if p.Title != "" {
			rule.ShortDescription.Text = p.Title
		}
		if p.Description != "" {
			rule.FullDescription = &sarifMessage{Text: p.Description}
		}
		if p.Remediation != "" {
			rule.Help = &sarifMessage{Text: p.Remediation}
		}
		index[p.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, rule)
	}
	index[errorRuleID] = len(driver.Rules)
	driver.Rules = append(driver.Rules, sarifRule{
		ID:                   errorRuleID,
		Name:                 errorRuleID,
		ShortDescription:     &sarifMessage{Text: "A service could not be validated, rendered or evaluated"},
		DefaultConfiguration: sarifRuleLevel{Level: "error"},
	})

	results := append([]sarifResult{}, sarifExceptions(r, &driver)...)
	errorResult := func(e Error, props map[string]string) {
		results = append(results, sarifResult{
			RuleID: errorRuleID, RuleIndex: index[errorRuleID], Level: "error",
			Message:    sarifMessage{Text: sarifText(e.Message)},
			Locations:  sarifLocations(e.File, e.Line),
			Properties: props,
		})
	}
	for _, e := range r.Errors {
		errorResult(e, nil)
	}
	for _, res := range r.Results {
		props := map[string]string{"service": res.Service}
		if res.Environment != "" {
			props["environment"] = res.Environment
		}
		for _, e := range res.Errors {
			errorResult(e, props)
		}
		if res.Change != "" {
			props = map[string]string{"service": res.Service, "environment": res.Environment, "change": res.Change}
		}
		for _, v := range slices.Concat(res.Violations, res.Fixed) {
			ruleIndex, ok := index[v.Policy]
			if !ok {
				continue // only policies the engine knows give results
			}
			sr := sarifResult{
				RuleID: v.Policy, RuleIndex: ruleIndex, Level: "error",
				Message:       sarifMessage{Text: sarifText(res.label() + ": " + v.Message)},
				Locations:     sarifLocations(v.File, v.Line),
				BaselineState: sarifBaseline[v.State],
				Properties:    props,
			}
			switch {
			case v.State == review.StateFixed:
				sr.Level = "none"
				sr.Message.Text = sarifText(res.label() + ": fixed: " + v.Message)
			case v.Severity == Warn, !r.Blocks(&v) && !v.Excepted:
				sr.Level = "warning"
			}
			if v.Hint != "" && v.State != review.StateFixed {
				sr.Message.Text += " Fix: " + sarifText(v.Hint)
			}
			if v.Excepted {
				sr.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: exceptionNote(v.Exception)}}
			}
			results = append(results, sr)
		}
	}
	log := sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}}}
	return encodeJSON(w, log)
}

func sarifLocations(file string, line int) []sarifLocation {
	if file == "" {
		return nil
	}
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(file)}}}
	if line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
	}
	return []sarifLocation{loc}
}

// fileURI turns a path into a URI reference: relative paths stay
// relative (to where pave ran), absolute ones become file: URIs.
func fileURI(file string) string {
	p := filepath.ToSlash(file)
	if filepath.IsAbs(file) {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}

// exceptionRuleID is the SARIF rule of exception entries.
const exceptionRuleID = "pave-exception"

// sarifExceptions adds a rule and one result per exception entry: a
// warning for each one a review adds or changes, a note for the others.
func sarifExceptions(r *Report, driver *sarifDriver) []sarifResult {
	if len(r.Exceptions) == 0 {
		return nil
	}
	index := len(driver.Rules)
	driver.Rules = append(driver.Rules, sarifRule{
		ID:                   exceptionRuleID,
		Name:                 exceptionRuleID,
		ShortDescription:     &sarifMessage{Text: "An exception to a policy, approved by one of pave.yaml's exceptions.approvers"},
		DefaultConfiguration: sarifRuleLevel{Level: "note"},
	})
	var out []sarifResult
	for _, x := range r.Exceptions {
		level, text := "note", exceptionLine(x)
		switch x.Change {
		case review.ChangeAdded, review.ChangeChanged:
			level, text = "warning", x.Change+" exception — needs platform approval: "+text
		case review.ChangeRemoved:
			text = "removed exception: " + text
		}
		props := map[string]string{"service": x.Service, "policy": x.Policy}
		if x.Change != "" {
			props["change"] = x.Change
		}
		out = append(out, sarifResult{
			RuleID: exceptionRuleID, RuleIndex: index, Level: level,
			Message:    sarifMessage{Text: text},
			Locations:  sarifLocations(x.File, x.Line),
			Properties: props,
		})
	}
	return out
}
