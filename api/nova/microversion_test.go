package nova

import (
	"errors"
	"net/http"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    Version
		status  int // 0: no error
		msg     string
	}{
		{"absent", nil, Version{2, 1}, 0, ""},
		{"new header", map[string]string{HeaderVersion: "compute 2.35"}, Version{2, 35}, 0, ""},
		{"legacy header", map[string]string{HeaderLegacyVersion: "2.10"}, Version{2, 10}, 0, ""},
		{"new wins over legacy", map[string]string{HeaderVersion: "compute 2.2", HeaderLegacyVersion: "2.1"}, Version{2, 2}, 0, ""},
		{"latest", map[string]string{HeaderVersion: "compute latest"}, MaxVersion, 0, ""},
		{"legacy latest", map[string]string{HeaderLegacyVersion: "latest"}, MaxVersion, 0, ""},
		{"service name case", map[string]string{HeaderVersion: "Compute 2.3"}, Version{2, 3}, 0, ""},
		{"list of services", map[string]string{HeaderVersion: "volume 3.0, compute 2.92"}, Version{2, 92}, 0, ""},
		{"other service only", map[string]string{HeaderVersion: "volume 2.5"}, Version{2, 1}, 0, ""},
		{"other service, legacy", map[string]string{HeaderVersion: "volume 2.5", HeaderLegacyVersion: "2.4"}, Version{2, 4}, 0, ""},
		{"maximum", map[string]string{HeaderVersion: "compute 2.93"}, Version{2, 93}, 0, ""},
		{"above maximum", map[string]string{HeaderVersion: "compute 2.999"}, Version{}, 406, "Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is 2.93."},
		{"below minimum", map[string]string{HeaderVersion: "compute 2.0"}, Version{}, 406, "Version 2.0 is not supported by the API. Minimum is 2.1 and maximum is 2.93."},
		{"major 3", map[string]string{HeaderVersion: "compute 3.0"}, Version{}, 406, "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.93."},
		{"malformed", map[string]string{HeaderVersion: "compute 2.x"}, Version{}, 400, "API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum."},
		{"leading zero minor", map[string]string{HeaderVersion: "compute 2.01"}, Version{}, 400, "API Version String 2.01 is of invalid format. Must be of format MajorNum.MinorNum."},
		{"no minor", map[string]string{HeaderLegacyVersion: "2"}, Version{}, 400, "API Version String 2 is of invalid format. Must be of format MajorNum.MinorNum."},
		{"huge minor", map[string]string{HeaderVersion: "compute 2.99999999999999999999"}, Version{}, 400, "API Version String 2.99999999999999999999 is of invalid format. Must be of format MajorNum.MinorNum."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got, err := ParseVersion(h)
			if tt.status == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("got %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			var ve *versionError
			if !errors.As(err, &ve) || ve.status != tt.status || ve.message != tt.msg {
				t.Fatalf("got %v (%#v), want %d %q", err, ve, tt.status, tt.msg)
			}
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	v := Version{2, 35}
	for _, c := range []struct {
		major, minor int
		want         bool
	}{{2, 1, true}, {2, 35, true}, {2, 36, false}, {1, 99, true}, {3, 0, false}} {
		if got := v.AtLeast(c.major, c.minor); got != c.want {
			t.Errorf("2.35 AtLeast(%d.%d) = %v", c.major, c.minor, got)
		}
	}
}
