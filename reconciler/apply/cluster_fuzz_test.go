package apply

import (
	"strings"
	"testing"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzParseClusterRef: --cluster values never panic the parser; what it
// accepts has a valid cluster name, a kubeconfig path and no control
// characters, and prints back to a flag that parses to the same reference;
// what it refuses is named in the error.
func FuzzParseClusterRef(f *testing.F) {
	for _, seed := range []string{
		"prod=/etc/pave/prod.kubeconfig",
		"prod=/etc/pave/prod.kubeconfig#admin@prod",
		"staging=kubeconfig#ctx#with#hashes",
		"staging=C:\\kube\\config",
		"prod=/path with spaces/config#my context",
		"=", "prod=", "=/kubeconfig", "prod", "prod#ctx=/x", "prod=#ctx", "prod=/x#",
		"Prod=/x", "prod cluster=/x", "prod=/x\n::error::y", "prod=/x#ctx\x1b[31m",
		"a=b=c", "-x=/y", strings.Repeat("a", 64) + "=/x", "é=/x", "prod=/\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseClusterRef(s)
		if err != nil {
			if ref != (ClusterRef{}) {
				t.Errorf("%q: error %v with a non-empty reference %+v", s, err, ref)
			}
			if !strings.Contains(err.Error(), "--cluster ") || !strings.Contains(err.Error(), "NAME=KUBECONFIG_PATH[#CONTEXT]") {
				t.Errorf("%q: error does not say what is wanted: %v", s, err)
			}
			if strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Errorf("%q: error prints control characters: %q", s, err.Error())
			}
			return
		}
		if errs := validation.IsDNS1123Label(ref.Name); len(errs) > 0 {
			t.Errorf("%q: accepted cluster name %q: %s", s, ref.Name, errs[0])
		}
		if ref.Kubeconfig == "" || strings.Contains(ref.Kubeconfig, "#") {
			t.Errorf("%q: accepted kubeconfig path %q", s, ref.Kubeconfig)
		}
		if strings.ContainsFunc(ref.Kubeconfig+ref.Context, unicode.IsControl) {
			t.Errorf("%q: accepted control characters: %+v", s, ref)
		}
		if ref.String() != s {
			t.Errorf("%q: prints back as %q", s, ref.String())
		}
		again, err := ParseClusterRef(ref.String())
		if err != nil || again != ref {
			t.Errorf("%q: round trip gave %+v, %v; want %+v", s, again, err, ref)
		}
	})
}

// TestParseClusterRefRefusals: each malformed --cluster value is refused
// with the reason.
func TestParseClusterRefRefusals(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"prod", `no "="`},
		{"=/x", `cluster name ""`},
		{"Prod=/x", `cluster name "Prod"`},
		{"prod=", "no kubeconfig path"},
		{"prod=#ctx", "no kubeconfig path"},
		{"prod=/x#", `no context after "#"`},
		{"prod=/x\n::error::y", "control characters"},
	} {
		_, err := ParseClusterRef(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseClusterRef(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	ref, err := ParseClusterRef("prod=/etc/kube#a#b")
	if err != nil || ref != (ClusterRef{Name: "prod", Kubeconfig: "/etc/kube", Context: "a#b"}) {
		t.Errorf("context with #: %+v, %v", ref, err)
	}
}
