package server

import "testing"

func TestClassify(t *testing.T) {
	cases := []struct {
		method, path, dialect, op string
	}{
		{"GET", "/", "nova", "versions"},
		{"GET", "/v2.1", "nova", "versions"},
		{"GET", "/v2.1/os-keypairs", "nova", "list"},
		{"POST", "/v2.1/os-keypairs", "nova", "create"},
		{"POST", "/v2.1/6f1d/os-keypairs", "nova", "create"},
		{"GET", "/v2.1/os-keypairs/some-name", "nova", "show"},
		{"DELETE", "/v2.1/6f1d/os-keypairs/x", "nova", "delete"},
		{"PUT", "/v2.1/os-keypairs/x", "nova", "other"},
		{"GET", "/v2.1/servers", "nova", "other"},
		{"GET", "/v3/p/keypairs", "kps", "list"},
		{"POST", "/v3/p/keypairs", "kps", "create"},
		{"POST", "/v3/p/keypairs/private-key/export", "kps", "export"},
		{"POST", "/v3/p/keypairs/private-key/import", "kps", "import-private-key"},
		{"POST", "/v3/p/keypairs/private-key/batch-export", "kps", "batch-export"},
		{"POST", "/v3/p/keypairs/batch-import", "kps", "batch-import"},
		{"GET", "/v3/p/keypairs/k", "kps", "show"},
		{"PUT", "/v3/p/keypairs/k", "kps", "update"},
		{"DELETE", "/v3/p/keypairs/k", "kps", "delete"},
		{"DELETE", "/v3/p/keypairs/k/private-key", "kps", "clear-private-key"},
		{"GET", "/v3/p/other", "kps", "other"},
		{"POST", "/v3/p/keypairs/associate", "kps", "associate"},
		{"POST", "/v3/p/keypairs/disassociate", "kps", "disassociate"},
		{"POST", "/v3/p/keypairs/batch-associate", "kps", "batch-associate"},
		{"GET", "/v3/p/keypairs/associate", "kps", "show"},
		{"GET", "/v3/p/tasks/6a4f1c2e-0000-4000-8000-000000000000", "kps", "task"},
		{"GET", "/v3/p/running-tasks", "kps", "running-tasks"},
		{"GET", "/v3/p/failed-tasks", "kps", "failed-tasks"},
		{"DELETE", "/v3/p/failed-tasks", "kps", "delete-failed-tasks"},
		{"DELETE", "/v3/p/failed-tasks/x", "kps", "delete-failed-task"},
		{"DELETE", "/v3/p/tasks/x", "kps", "other"},
		{"POST", "/identity/v3/auth/tokens", "identity", "login"},
		{"GET", "/identity/v3/auth/tokens", "identity", "validate"},
		{"DELETE", "/identity/v3/auth/tokens", "identity", "revoke"},
		{"GET", "/identity/v3/users/abc", "identity", "users"},
		{"GET", "/identity/v3/whatever-" + "name", "identity", "other"},
		{"GET", "/identity", "identity", "versions"},
		{"GET", "/healthz", "health", "health"},
		{"GET", "/metrics", "metrics", "scrape"},
		{"GET", "/debug/pprof/heap", "debug", "pprof"},
		{"GET", "/console/", "console", "static"},
		{"GET", "/console/js/app.js", "console", "static"},
	}
	for _, c := range cases {
		d, op := classify(c.method, c.path)
		if d != c.dialect || op != c.op {
			t.Errorf("%s %s: %s %s, want %s %s", c.method, c.path, d, op, c.dialect, c.op)
		}
	}
}
