package nova

import (
	"strings"
	"testing"
)

// TestDecodeCreateHuawei checks Huawei ECS's rules in ModeHuawei and that
// the same bodies keep Nova's answers in ModeNova.
func TestDecodeCreateHuawei(t *testing.T) {
	v21, v22, v292 := Version{2, 1}, Version{2, 2}, Version{2, 92}
	nameRule := "The name must be 1 to 64 letters, digits, '_' or '-'."
	tests := []struct {
		name         string
		v            Version
		body         string
		huawei, nova string // "" means valid; otherwise a substring of the message
	}{
		{"user_id at 2.1", v21, `{"keypair": {"name": "x", "user_id": "bob"}}`, "", "Additional properties are not allowed ('user_id' was unexpected)"},
		{"user_id not a string", v21, `{"keypair": {"name": "x", "user_id": 7}}`, "7 is not of type 'string'", "Additional properties are not allowed"},
		{"key_protection", v21, `{"keypair": {"name": "x", "key_protection": {"encryption": {"type": "default"}}}}`, "", ""},
		{"64 characters", v21, `{"keypair": {"name": "` + strings.Repeat("n", 64) + `"}}`, "", ""},
		{"65 characters", v21, `{"keypair": {"name": "` + strings.Repeat("n", 65) + `"}}`, nameRule, ""},
		{"inner space", v21, `{"keypair": {"name": "a b"}}`, nameRule, ""},
		{"dot at 2.92", v292, `{"keypair": {"name": "a.b", "public_key": "k"}}`, nameRule, ""},
		{"empty", v21, `{"keypair": {"name": ""}}`, nameRule, "is too short"},
		{"name not a string", v21, `{"keypair": {"name": ["x"]}}`, "is not of type 'string'", "is not of type 'string'"},
		{"type still from 2.2", v21, `{"keypair": {"name": "x", "type": "ssh"}}`, "'type' was unexpected", "'type' was unexpected"},
		{"type at 2.2", v22, `{"keypair": {"name": "x", "type": "x509"}}`, "", ""},
		{"public_key still required at 2.92", v292, `{"keypair": {"name": "x"}}`, "'public_key' is a required property", "'public_key' is a required property"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			m    Mode
			want string
		}{{ModeHuawei, tt.huawei}, {ModeNova, tt.nova}} {
			req, err := decodeCreate([]byte(tt.body), tt.v, c.m)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%s (%s): %v", tt.name, c.m, err)
			case c.want != "" && (err == nil || !strings.Contains(schemaMessage(err), c.want)):
				t.Errorf("%s (%s): got %v, want %q", tt.name, c.m, err, c.want)
			case c.want == "" && strings.Contains(tt.body, `"user_id": "bob"`) && req.UserID != "bob":
				t.Errorf("%s (%s): user_id %q", tt.name, c.m, req.UserID)
			}
		}
	}
}
