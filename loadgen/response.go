package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
)

// limits bound what the response reader accepts from a server: a load
// run must not be made to buffer without end by a broken or hostile one.
type limits struct {
	// header bounds the status line, header and trailer lines together.
	header int
	// body bounds the body, however it is framed.
	body int
}

// The limits of a connection fit every answer the operations get (a list
// of 50 key pairs is some 11 KiB, a Keystone token a few hundred bytes)
// with room.
const (
	maxHeaderBytes = 64 << 10
	maxBodyBytes   = 16 << 20
)

// response is what the operations keep of an answer.
type response struct {
	status int
	// body is the decoded body. It lives in the connection's buffer and
	// is valid only until that connection's next request.
	body []byte
	// subjectToken is the X-Subject-Token header (a login's token).
	subjectToken string
	// close says the server ends the connection after this answer.
	close bool
}

// errMalformed is wrapped by every error about a server's bytes (as
// opposed to the connection's), so that they are never retried.
var errMalformed = errors.New("malformed response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// readResponse reads one HTTP/1.x answer to a request that is not HEAD
// from br, decoding the body into buf (grown as needed and returned in
// the response for reuse). It understands what servers under load send:
// Content-Length, chunked Transfer-Encoding, a body to the end of the
// connection, Connection: close and keep-alive, interim 1xx answers. It
// refuses what it does not understand rather than guess: obsolete line
// folding, other transfer codings, conflicting or double framing,
// malformed chunks.
func readResponse(br *bufio.Reader, buf []byte, lim limits) (response, error) {
	budget := lim.header
	for interim := 0; ; interim++ {
		res, length, chunked, err := readHead(br, &budget)
		switch {
		case err != nil:
			return response{}, err
		case res.status == 101:
			return response{}, malformed("unexpected 101 Switching Protocols")
		case res.status < 200:
			// An interim answer (100 Continue, 103 Early Hints) precedes
			// the real one; a server that sends nothing else is broken.
			if interim >= 8 {
				return response{}, malformed("too many interim answers")
			}
			continue
		case res.status == 204 || res.status == 304:
			if chunked || length > 0 {
				return response{}, malformed("%d with a body", res.status)
			}
			res.body = buf[:0]
			return res, nil
		}
		res.body, err = readBody(br, buf[:0], length, chunked, &budget, lim.body)
		if length < 0 && !chunked {
			res.close = true
		}
		if err != nil {
			return response{}, err
		}
		return res, nil
	}
}

// readHead reads a status line and its header fields. length is the
// Content-Length, or -1 when none was given.
func readHead(br *bufio.Reader, budget *int) (res response, length int, chunked bool, err error) {
	line, err := readLine(br, budget)
	if err != nil {
		return res, 0, false, err // a clean io.EOF: the server closed first
	}
	minor, status, err := parseStatusLine(line)
	if err != nil {
		return res, 0, false, err
	}
	res.status = status
	res.close = minor == 0 // HTTP/1.0 closes unless told to keep alive
	length = -1
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return res, 0, false, noEOF(err)
		}
		if len(line) == 0 {
			return res, length, chunked, nil
		}
		name, value, err := parseField(line)
		if err != nil {
			return res, 0, false, err
		}
		switch {
		case asciiEqualFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok || (length >= 0 && n != length) {
				return res, 0, false, malformed("bad Content-Length %q", value)
			}
			length = n
		case asciiEqualFold(name, "transfer-encoding"):
			// HTTP/1.0 has no transfer codings: a server that sends one
			// to a 1.0 answer frames it in a way peers read differently.
			if chunked || minor == 0 || !asciiEqualFold(value, "chunked") {
				return res, 0, false, malformed("unsupported Transfer-Encoding %q", value)
			}
			chunked = true
		case asciiEqualFold(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				switch tok = bytes.TrimSpace(tok); {
				case asciiEqualFold(tok, "close"):
					res.close = true
				case asciiEqualFold(tok, "keep-alive") && minor == 0:
					res.close = false
				}
			}
		case asciiEqualFold(name, "x-subject-token"):
			res.subjectToken = string(value)
		}
		if chunked && length >= 0 {
			// Both framings at once is how requests are smuggled; a load
			// generator has no reason to pick one.
			return res, 0, false, malformed("both Content-Length and Transfer-Encoding")
		}
	}
}

// parseStatusLine parses "HTTP/1.x NNN reason" and returns x and NNN.
func parseStatusLine(line []byte) (minor, status int, err error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, 0, malformed("bad status line %q", clip(line))
	}
	code := line[9:12]
	for _, c := range code {
		if c < '0' || c > '9' {
			return 0, 0, malformed("bad status line %q", clip(line))
		}
	}
	status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if status < 100 {
		return 0, 0, malformed("bad status code %d", status)
	}
	for _, c := range line[12:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return 0, 0, malformed("control character in the reason phrase")
		}
	}
	return int(line[7] - '0'), status, nil
}

// parseField splits "Name: value" and trims the value's white space.
func parseField(line []byte) (name, value []byte, err error) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, malformed("bad header line %q", clip(line))
	}
	name = line[:i]
	for _, c := range name {
		if !isTokenChar(c) {
			// A leading space or tab is obsolete line folding.
			return nil, nil, malformed("bad header name %q", clip(name))
		}
	}
	value = trimOWS(line[i+1:])
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, malformed("control character in header %s", name)
		}
	}
	return name, value, nil
}

// parseDecimal parses a non-negative decimal of at most 12 digits.
func parseDecimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseHex parses a chunk size of at most 8 hex digits (4 GiB, far more
// than any body limit).
func parseHex(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// asciiEqualFold compares b with the lower-case ASCII string s, ignoring
// case, without allocating.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// isTokenChar says whether c may appear in a header name (RFC 9110 tchar).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// trimOWS removes the optional white space around a field value.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return trimTrailingOWS(b)
}

func trimTrailingOWS(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// clip shortens bytes quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
