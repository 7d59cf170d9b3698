package server

import (
	"net/http"
	"strings"
)

// classify names a request's dialect and operation for the metrics, from
// its method and the shape of its path only: the labels must stay a small
// fixed set, so names, ids and unknown segments never reach them.
func classify(method, path string) (dialect, operation string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/healthz":
		return "health", "health"
	case path == "/metrics":
		return "metrics", "scrape"
	case segs[0] == "debug":
		return "debug", "pprof"
	case segs[0] == "console":
		return "console", "static"
	case segs[0] == "identity":
		return "identity", identityOperation(method, segs[1:])
	case segs[0] == "v3":
		return "kps", kpsOperation(method, segs[1:])
	}
	return "nova", novaOperation(method, segs)
}

func novaOperation(method string, segs []string) string {
	i := -1
	for j, s := range segs {
		if s == "os-keypairs" {
			i = j
			break
		}
	}
	switch {
	case i < 0 && (method == http.MethodGet || method == http.MethodHead) && len(segs) <= 1:
		return "versions"
	case i < 0:
		return "other"
	case len(segs) == i+1 && method == http.MethodGet:
		return "list"
	case len(segs) == i+1 && method == http.MethodPost:
		return "create"
	case len(segs) == i+2 && method == http.MethodGet:
		return "show"
	case len(segs) == i+2 && method == http.MethodDelete:
		return "delete"
	}
	return "other"
}

// kpsOperation follows api/kps's routes after /v3/{project_id}.
func kpsOperation(method string, segs []string) string {
	if len(segs) >= 2 && segs[1] != "keypairs" {
		return kpsTaskOperation(method, segs[1:])
	}
	if len(segs) < 2 {
		return "other"
	}
	rest := segs[2:]
	post := method == http.MethodPost
	switch {
	case len(rest) == 1 && post && (rest[0] == "associate" || rest[0] == "disassociate" || rest[0] == "batch-associate"):
		return rest[0]
	case len(rest) == 0 && method == http.MethodGet:
		return "list"
	case len(rest) == 0 && post:
		return "create"
	case len(rest) == 1 && rest[0] == "batch-import" && post:
		return "batch-import"
	case len(rest) == 2 && rest[0] == "private-key" && post:
		switch rest[1] {
		case "import":
			return "import-private-key"
		case "export":
			return "export"
		case "batch-export":
			return "batch-export"
		}
	case len(rest) == 1 && method == http.MethodGet:
		return "show"
	case len(rest) == 1 && method == http.MethodPut:
		return "update"
	case len(rest) == 1 && method == http.MethodDelete:
		return "delete"
	case len(rest) == 2 && rest[1] == "private-key" && method == http.MethodDelete:
		return "clear-private-key"
	}
	return "other"
}

// kpsTaskOperation follows api/kps's task routes after /v3/{project_id}.
func kpsTaskOperation(method string, rest []string) string {
	switch {
	case len(rest) == 2 && rest[0] == "tasks" && method == http.MethodGet:
		return "task"
	case len(rest) == 1 && rest[0] == "running-tasks" && method == http.MethodGet:
		return "running-tasks"
	case len(rest) == 1 && rest[0] == "failed-tasks" && method == http.MethodGet:
		return "failed-tasks"
	case len(rest) == 1 && rest[0] == "failed-tasks" && method == http.MethodDelete:
		return "delete-failed-tasks"
	case len(rest) == 2 && rest[0] == "failed-tasks" && method == http.MethodDelete:
		return "delete-failed-task"
	}
	return "other"
}

// identityResources are the Keystone collections whose names may label a
// request; anything else is "other".
var identityResources = map[string]bool{"users": true, "projects": true, "roles": true, "domains": true,
	"credentials": true, "role_assignments": true, "services": true, "endpoints": true, "auth": true}

func identityOperation(method string, segs []string) string {
	if len(segs) < 2 || segs[0] != "v3" {
		if len(segs) <= 1 {
			return "versions"
		}
		return "other"
	}
	if segs[1] == "auth" && len(segs) == 3 && segs[2] == "tokens" {
		switch method {
		case http.MethodPost:
			return "login"
		case http.MethodGet, http.MethodHead:
			return "validate"
		case http.MethodDelete:
			return "revoke"
		}
		return "other"
	}
	if identityResources[segs[1]] {
		return segs[1]
	}
	return "other"
}
