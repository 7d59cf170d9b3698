package nova

// The version documents, shaped as Nova's. v2.0 comes first because
// clients expect it there even though keyhaven serves no /v2.

type versionLink struct {
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
	Href string `json:"href"`
}

type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

type versionDoc struct {
	ID         string        `json:"id"`
	Status     string        `json:"status"`
	Version    string        `json:"version"`
	MinVersion string        `json:"min_version"`
	Updated    string        `json:"updated"`
	Links      []versionLink `json:"links"`
	MediaTypes []mediaType   `json:"media-types,omitempty"`
}

func versionsList(base string) map[string]any {
	return map[string]any{"versions": []versionDoc{
		{ID: "v2.0", Status: "SUPPORTED", Updated: "2011-01-21T11:33:21Z",
			Links: []versionLink{{Rel: "self", Href: base + "/v2/"}}},
		{ID: "v2.1", Status: "CURRENT", Version: MaxVersion.String(), MinVersion: MinVersion.String(), Updated: "2013-07-23T11:33:21Z",
			Links: []versionLink{{Rel: "self", Href: base + "/v2.1/"}}},
	}}
}

func versionV21(base string) map[string]any {
	return map[string]any{"version": versionDoc{
		ID: "v2.1", Status: "CURRENT", Version: MaxVersion.String(), MinVersion: MinVersion.String(), Updated: "2013-07-23T11:33:21Z",
		Links: []versionLink{
			{Rel: "self", Href: base + "/v2.1/"},
			{Rel: "describedby", Type: "text/html", Href: "http://docs.openstack.org/"},
		},
		MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2.1"}},
	}}
}
