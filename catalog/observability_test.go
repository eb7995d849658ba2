package catalog

import (
	"reflect"
	"testing"
)

// The dashboard's links are filled in from catalog data: a value must not
// be able to change the URL's structure (add a query parameter, a path).
func TestObservabilityLinksEscapeValues(t *testing.T) {
	o := Observability{
		Logs:   "https://grafana.example.com/explore?ns={namespace}&app={service}&env={env}",
		Traces: "https://tempo.example.com/{cluster}/{team}",
	}
	got := o.Links("pay&x=1", "api", "pay-prod", "prod", "eu/1")
	want := []ObservabilityLink{
		{Kind: "logs", URL: "https://grafana.example.com/explore?ns=pay-prod&app=api&env=prod"},
		{Kind: "traces", URL: "https://tempo.example.com/eu%2F1/pay%26x%3D1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("links:\n got %v\nwant %v", got, want)
	}
	if (Observability{}).Links("a", "b", "c", "d", "e") != nil {
		t.Error("no templates must give no links")
	}
}

// The URL templates of docs/dashboard.md are accepted.
func TestObservabilityAcceptsToolURLs(t *testing.T) {
	for _, u := range []string{
		"https://logs.example.com/search?namespace={namespace}&app={service}",
		"https://grafana.example.com/d/golden-path?var-namespace={namespace}&var-service={service}&var-cluster={cluster}",
		"https://grafana.example.com/explore?traces={service}&env={env}",
		"http://localhost:3000/explore?left=%7B%22expr%22:%22{team}%22%7D",
	} {
		if err := checkObservabilityURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{
		"https://user:pw@grafana.example.com/{service}",
		"javascript:alert({service})",
		"/relative/{service}",
		"https://grafana.example.com/{namespace",
	} {
		if err := checkObservabilityURL(u); err == nil {
			t.Errorf("%s is accepted", u)
		}
	}
}
