package catalog

import (
	"encoding/json"
	"testing"
	"testing/fstest"
)

const mergeService = `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  template: web-service
  image: registry.example.com/payments/checkout:1.4.2
  port: 8080
  size: small
  replicas: 2
  autoscaling: {min: 2, max: 6, targetCPU: 70}
  env:
    LOG_LEVEL: info
    REGION: eu
  secretEnv:
    DB_PASSWORD: {secret: checkout-db, key: password}
  ingress:
    host: checkout.example.com
  patches:
    - {target: {kind: Deployment}, patch: "[]"}
  environments:
    staging:
      replicas: 1
      env:
        LOG_LEVEL: debug
      ingress:
        host: checkout.staging.example.com
    prod:
      image: registry.example.com/payments/checkout:1.4.1
      size: medium
      autoscaling: {max: 10}
      secretEnv:
        API_TOKEN: {secret: checkout-api, key: token}
      patches:
        - {target: {kind: Service}, patch: "[]"}
`

func loadOne(t *testing.T, data string) *Service {
	t.Helper()
	fsys := testCatalog(t)
	fsys[checkoutFile] = &fstest.MapFile{Data: []byte(data)}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	s, ok := cat.Service("payments/checkout")
	if !ok {
		t.Fatal("service not loaded")
	}
	return s
}

func TestForEnvironment(t *testing.T) {
	s := loadOne(t, mergeService)
	tests := []struct {
		env  string
		want string
	}{
		{"", `{"image":"registry.example.com/payments/checkout:1.4.2","port":8080,"size":"small","replicas":2,"autoscaling":{"min":2,"max":6,"targetCPU":70},"env":{"LOG_LEVEL":"info","REGION":"eu"},"secretEnv":{"DB_PASSWORD":{"secret":"checkout-db","key":"password"}},"ingress":{"host":"checkout.example.com"},"patches":[{"patch":"[]","target":{"kind":"Deployment"}}]}`},
		{"staging", `{"image":"registry.example.com/payments/checkout:1.4.2","port":8080,"size":"small","replicas":1,"autoscaling":{"min":2,"max":6,"targetCPU":70},"env":{"LOG_LEVEL":"debug","REGION":"eu"},"secretEnv":{"DB_PASSWORD":{"secret":"checkout-db","key":"password"}},"ingress":{"host":"checkout.staging.example.com"},"patches":[{"patch":"[]","target":{"kind":"Deployment"}}]}`},
		{"prod", `{"image":"registry.example.com/payments/checkout:1.4.1","port":8080,"size":"medium","replicas":2,"autoscaling":{"min":2,"max":10,"targetCPU":70},"env":{"LOG_LEVEL":"info","REGION":"eu"},"secretEnv":{"API_TOKEN":{"secret":"checkout-api","key":"token"},"DB_PASSWORD":{"secret":"checkout-db","key":"password"}},"ingress":{"host":"checkout.example.com"},"patches":[{"patch":"[]","target":{"kind":"Deployment"}},{"patch":"[]","target":{"kind":"Service"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			got, err := json.Marshal(s.ForEnvironment(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// Merging never changes the service itself.
	if *s.Spec.Replicas != 2 || s.Spec.Env["LOG_LEVEL"] != "info" || len(s.Spec.Patches) != 1 {
		t.Error("ForEnvironment modified the base spec")
	}
}

func TestPositionsAndFieldPaths(t *testing.T) {
	s := loadOne(t, mergeService)
	tests := []struct {
		env, field string
		wantPath   string
		wantLine   int
	}{
		{"prod", "image", "spec.environments.prod.image", 30},
		{"staging", "image", "spec.image", 8},
		{"staging", "env.LOG_LEVEL", "spec.environments.staging.env.LOG_LEVEL", 26},
		{"staging", "env.REGION", "spec.env.REGION", 15},
		{"prod", "secretEnv.API_TOKEN", "spec.environments.prod.secretEnv.API_TOKEN", 34},
		{"prod", "replicas", "spec.replicas", 11},
	}
	for _, tt := range tests {
		p := s.FieldPath(tt.env, tt.field)
		if p != tt.wantPath {
			t.Errorf("FieldPath(%s, %s) = %s, want %s", tt.env, tt.field, p, tt.wantPath)
		}
		if got := s.Position(p).Line; got != tt.wantLine {
			t.Errorf("Position(%s) line = %d, want %d", p, got, tt.wantLine)
		}
	}
	// A path that is not written falls back to its closest parent.
	if got := s.Position("spec.healthCheck.path"); got.Line != 6 {
		t.Errorf("fallback position = %v, want the spec line", got)
	}
	if got := s.Position("spec.patches[0].patch"); got.Line != 21 {
		t.Errorf("patch position = %v", got)
	}
}

func TestEnvValuesKeepTheirText(t *testing.T) {
	s := loadOne(t, `apiVersion: pave.dev/v1alpha1
kind: Service
metadata: {name: checkout, team: payments}
spec:
  template: worker
  image: registry.example.com/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  env:
    BATCH: 500
    RATIO: 0.50
    ENABLED: true
    EMPTY: ""
`)
	want := map[string]EnvValue{"BATCH": "500", "RATIO": "0.50", "ENABLED": "true", "EMPTY": ""}
	for k, v := range want {
		if s.Spec.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, s.Spec.Env[k], v)
		}
	}
}
