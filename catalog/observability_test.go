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
