package nova

import (
	"net/url"
	"testing"
)

// FuzzDecodeCreate feeds arbitrary bodies to the create decoder at several
// microversions, in both modes (the high bit of minor picks ModeHuawei): it
// must never panic, and whatever it accepts must satisfy the schema's
// guarantees.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"keypair": {"name": "gen-1"}}`,
		`{"keypair": {"name": "a.b@c", "type": "x509", "public_key": "k", "user_id": "u"}}`,
		`{"keypair": {"name": 42}}`,
		`{"keypair": "x"}`,
		`{not json`,
		``,
		`[[[[[[[[]]]]]]]]`,
		`{"keypair": {"name": "x", "name": "y", "extra": [1e400, -0.0, "\u0000"]}}`,
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(0x80|9))
	}
	f.Fuzz(func(t *testing.T, body []byte, minor uint8) {
		v, m := Version{2, 1 + int(minor&0x7f)%93}, ModeNova
		if minor&0x80 != 0 {
			m = ModeHuawei
		}
		req, err := decodeCreate(body, v, m)
		if err != nil {
			if msg := schemaMessage(err); msg == "" {
				t.Fatal("error without a message")
			}
			return
		}
		if req.Name == "" || !printableName(req.Name) || (m == ModeHuawei && !huaweiName.MatchString(req.Name)) {
			t.Fatalf("accepted invalid name %q in mode %s", req.Name, m)
		}
		if req.Type != "ssh" && req.Type != "x509" {
			t.Fatalf("accepted type %q", req.Type)
		}
		if v.AtLeast(2, 92) && req.PublicKey == nil {
			t.Fatal("accepted generation at 2.92")
		}
	})
}

// FuzzDecodeListQuery feeds arbitrary query strings to the list decoder.
func FuzzDecodeListQuery(f *testing.F) {
	for _, s := range []string{"limit=2&marker=x", "limit=-1", "limit=", "foo=bar", "limit=99999999999999999999", "user_id=a&user_id=b"} {
		f.Add(s, uint8(34))
	}
	f.Fuzz(func(t *testing.T, raw string, minor uint8) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, err := decodeListQuery(q, Version{2, 1 + int(minor)%93})
		if err == nil && (lq.Page.Limit < 0 || lq.Page.Limit > maxLimit) {
			t.Fatalf("limit %d out of range", lq.Page.Limit)
		}
	})
}
