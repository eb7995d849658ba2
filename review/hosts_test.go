package review_test

import (
	"strings"
	"testing"

	"github.com/pave-dev/pave/review/reviewtest"
)

// TestNewcomerCannotTakeAnIngressHost: a change adding a service that
// claims storefront/web's host is refused on the newcomer only;
// storefront/web, which holds the host at the base, stays valid and
// unaffected.
func TestNewcomerCannotTakeAnIngressHost(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Write("services/payments/shop/service.yaml", `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: shop
  team: payments
spec:
  template: web-service
  image: registry.example.com/payments/shop:1.0.0
  port: 8080
  healthCheck:
    path: /healthz
  ingress:
    host: shop.example.com
`)
	repo.Commit("payments/shop takes the shop's host")
	rep := run(t, repo, "HEAD~1", "HEAD", "")

	shop := result(t, rep, "payments/shop", "")
	if len(shop.Errors) != 1 || !strings.Contains(shop.Errors[0].Message, `host "shop.example.com" is already claimed by storefront/web in environment prod`) || shop.Errors[0].Line != 13 {
		t.Errorf("payments/shop errors: %+v, want the prod host refused at line 13", shop.Errors)
	}
	for _, res := range rep.Results {
		if res.Service == "storefront/web" && len(res.Errors) > 0 {
			t.Errorf("storefront/web (%s), the holder of the host, is refused: %+v", res.Environment, res.Errors)
		}
	}
	for _, e := range rep.Errors {
		if strings.Contains(e.File, "storefront/web") {
			t.Errorf("storefront/web, the holder of the host, is refused: %+v", e)
		}
	}
	if !rep.Failed() {
		t.Error("a refused newcomer fails the review")
	}
}
