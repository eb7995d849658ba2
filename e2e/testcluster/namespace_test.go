package testcluster

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNamespaceName(t *testing.T) {
	for _, test := range []string{
		"TestApply",
		"TestApply/prod_cluster_unreachable",
		"TestAVeryLongTestNameThatGoesOnAndOnAndOnUntilItIsLongerThanSixtyThreeCharacters/sub-test",
		"Test__Weird..Name--",
	} {
		got := namespaceName(test)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("namespaceName(%q) = %q: %s", test, got, strings.Join(errs, "; "))
		}
		if got == namespaceName(test) {
			t.Errorf("namespaceName(%q) is not unique: %q twice", test, got)
		}
	}
}
