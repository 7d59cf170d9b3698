package sshkey

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pemSection is one armoured block as the Rust pem crate 1.0.2 (the one
// python-cryptography 38 links) sees it.
type pemSection struct {
	tag      string
	contents []byte
}

// pemError carries the Debug form of a pem::PemError, which cryptography
// puts at the end of its "Unable to load PEM file" message.
type pemError string

// pemReadUntil is pem 1.0.2's read_until: find marker, return what follows
// it and what preceded it. Its matcher restarts without re-examining the
// byte that broke a partial match, so "------BEGIN " (six dashes) is not
// found; Nova rejects such input and so must we.
func pemReadUntil(input, marker string) (rest, matched string, ok bool) {
	index, found := 0, 0
	for len(input)-index >= len(marker)-found {
		if input[index] == marker[found] {
			found++
		} else {
			found = 0
		}
		index++
		if found == len(marker) {
			return input[index:], input[:index-found], true
		}
	}
	return "", "", false
}

func pemSkipSpace(s string) string {
	return strings.TrimLeft(s, " \t\n\r")
}

// pemParseMany mirrors pem::parse_many: it collects every block, and any
// malformed block fails the whole input even if a good one came first.
func pemParseMany(input string) ([]pemSection, error) {
	var out []pemSection
	for input != "" {
		rest, _, ok := pemReadUntil(input, "-----BEGIN ")
		if !ok {
			break
		}
		rest, begin, ok := pemReadUntil(rest, "-----")
		if !ok {
			break
		}
		rest, data, ok := pemReadUntil(pemSkipSpace(rest), "-----END ")
		if !ok {
			break
		}
		rest, end, ok := pemReadUntil(rest, "-----")
		if !ok {
			break
		}
		input = pemSkipSpace(rest)
		sec, err := pemNewSection(begin, data, end)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	return out, nil
}

// pemNewSection mirrors Pem::new_from_captures.
func pemNewSection(begin, data, end string) (pemSection, error) {
	for _, s := range []string{begin, end, data} {
		if !utf8.ValidString(s) {
			return pemSection{}, pemError("NotUtf8")
		}
	}
	switch {
	case begin == "":
		return pemSection{}, pemError("MissingBeginTag")
	case end == "":
		return pemSection{}, pemError("MissingEndTag")
	case begin != end:
		return pemSection{}, pemError(fmt.Sprintf("MismatchedTags(%s, %s)", rustDebugString(begin), rustDebugString(end)))
	}
	// raw_data.lines().map(str::trim_end).collect(): spaces inside a
	// line survive and later fail base64.
	var sb strings.Builder
	for _, line := range strings.Split(data, "\n") {
		sb.WriteString(strings.TrimRightFunc(line, unicode.IsSpace))
	}
	contents, err := rustBase64Decode(sb.String())
	if err != nil {
		return pemSection{}, err
	}
	return pemSection{tag: begin, contents: contents}, nil
}

func (e pemError) Error() string {
	return "Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. " + string(e)
}

// rustDebugString renders s as Rust's {:?} does for a String, capped so a
// huge tag cannot turn an error message into an echo of the request.
func rustDebugString(s string) string {
	const max = 64
	var sb strings.Builder
	sb.WriteByte('"')
	for i, r := range s {
		if i >= max {
			sb.WriteString("...")
			break
		}
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == 0:
			sb.WriteString(`\0`)
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		default:
			fmt.Fprintf(&sb, `\u{%x}`, r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// rustBase64Decode decodes s as base64 0.13's decode(STANDARD) does and
// reports failures in its Debug form: padding is optional, a '=' is
// allowed only at the end of the final quad, and the unused low bits of
// the last symbol must be zero. Errors name the same offsets it does,
// which depend on its 8-byte chunking.
func rustBase64Decode(s string) ([]byte, error) {
	bad := func(i int) error {
		return pemError(fmt.Sprintf("InvalidData(InvalidByte(%d, %d))", i, s[i]))
	}
	if r := len(s) % 8; r == 1 || r == 5 {
		if last := len(s) - 1; s[last] != '=' && pyBase64Value[s[last]] == 0xff {
			return nil, bad(last)
		}
		return nil, pemError("InvalidData(InvalidLength)")
	}
	leftover := 0
	if len(s) > 0 {
		leftover = (len(s) - 1) / 8 * 8
	}
	for i := 0; i < leftover; i++ {
		if pyBase64Value[s[i]] == 0xff {
			return nil, bad(i)
		}
	}
	symbols := make([]byte, 0, len(s))
	for i := 0; i < leftover; i++ {
		symbols = append(symbols, pyBase64Value[s[i]])
	}
	pads, firstPad := 0, 0
	for i := leftover; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if (i-leftover)%4 < 2 {
				if pads > 0 {
					return nil, bad(firstPad)
				}
				return nil, bad(i)
			}
			if pads == 0 {
				firstPad = i
			}
			pads++
			continue
		}
		if pads > 0 {
			return nil, bad(firstPad)
		}
		if pyBase64Value[c] == 0xff {
			return nil, bad(i)
		}
		symbols = append(symbols, pyBase64Value[c])
	}
	// The symbols now form whole quads plus a tail of 2 or 3 (1 cannot
	// happen: the length checks above rule it out).
	out := make([]byte, 0, len(symbols)*3/4)
	var acc uint32
	for i, v := range symbols {
		acc = acc<<6 | uint32(v)
		if i%4 == 3 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc = 0
		}
	}
	switch len(symbols) % 4 {
	case 2:
		if acc&0x0f != 0 {
			return nil, lastSymbol(s, len(symbols))
		}
		out = append(out, byte(acc>>4))
	case 3:
		if acc&0x03 != 0 {
			return nil, lastSymbol(s, len(symbols))
		}
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out, nil
}

// lastSymbol reports InvalidLastSymbol at the last of n symbols; padding
// only ever follows them, so that is also its offset in s.
func lastSymbol(s string, n int) error {
	i := n - 1
	return pemError(fmt.Sprintf("InvalidData(InvalidLastSymbol(%d, %d))", i, s[i]))
}
