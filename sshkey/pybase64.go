package sshkey

import "errors"

var (
	errBase64Length  = errors.New("invalid base64: one character more than a multiple of 4")
	errBase64Padding = errors.New("invalid base64: incorrect padding")
)

// pyBase64Value maps a byte to its value in the standard base64 alphabet, or
// 0xff for every other byte.
var pyBase64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// pyA2BBase64 decodes s the way CPython's binascii.a2b_base64 does in its
// default, non-strict mode, which is what both cryptography's
// load_ssh_public_key and Nova's base64.b64decode use. That decoder is far
// more lenient than encoding/base64 and Nova's answers depend on it: bytes
// outside the alphabet are skipped, a '=' that cannot be padding is skipped,
// and decoding stops at the first complete padding, ignoring whatever
// follows. Only a dangling group of 1, 2 or 3 characters is an error, so
// unpadded input whose length is not a multiple of 4 still fails.
func pyA2BBase64(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/4*3+3)
	quad, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, nil
				}
			}
			continue
		}
		v := pyBase64Value[c]
		if v == 0xff {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			left, quad = v, 1
		case 1:
			out = append(out, left<<2|v>>4)
			left, quad = v&0x0f, 2
		case 2:
			out = append(out, left<<4|v>>2)
			left, quad = v&0x03, 3
		case 3:
			out = append(out, left<<6|v)
			left, quad = 0, 0
		}
	}
	switch quad {
	case 0:
		return out, nil
	case 1:
		return nil, errBase64Length
	default:
		return nil, errBase64Padding
	}
}
