package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReadResponse reads answers framed every way a server may frame
// them, and refuses the ones that are malformed or over the limits.
func TestReadResponse(t *testing.T) {
	lim := limits{header: 512, body: 64}
	cases := []struct {
		name, in string
		status   int
		body     string
		close    bool
		token    string
		err      string // a part of the error; "" for none
	}{
		{name: "content length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello", status: 200, body: "hello"},
		{name: "no reason phrase", in: "HTTP/1.1 204\r\n\r\n", status: 204},
		{name: "bare LF lines", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok"},
		{name: "chunked with extension and trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3;x=y\r\nabc\r\n2 \r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n", status: 200, body: "abcde"},
		{name: "chunked upper-case hex", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", status: 200, body: "0123456789"},
		{name: "connection close", in: "HTTP/1.1 201 Created\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", status: 201, close: true},
		{name: "body to the end", in: "HTTP/1.1 200 OK\r\n\r\nuntil the end", status: 200, body: "until the end", close: true},
		{name: "HTTP/1.0 closes", in: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", close: true},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		{name: "interim answer first", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "subject token", in: "HTTP/1.1 201 Created\r\nx-subject-token:  gAAAA-tok \r\nContent-Length: 0\r\n\r\n", status: 201, token: "gAAAA-tok"},
		{name: "same length twice", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		{name: "error status with body", in: "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}", status: 404, body: "{}"},

		{name: "empty", in: "", err: "EOF"},
		{name: "truncated head", in: "HTTP/1.1 200 OK\r\nContent-Le", err: "unexpected EOF"},
		{name: "truncated body", in: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", err: "unexpected EOF"},
		{name: "truncated chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", err: "unexpected EOF"},
		{name: "no last chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", err: "unexpected EOF"},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH_9.2\r\n\r\n", err: "bad status line"},
		{name: "HTTP/2 status line", in: "HTTP/2.0 200 OK\r\n\r\n", err: "bad status line"},
		{name: "short status code", in: "HTTP/1.1 20 OK\r\n\r\n", err: "bad status line"},
		{name: "status below 100", in: "HTTP/1.1 099 x\r\n\r\n", err: "bad status code"},
		{name: "101", in: "HTTP/1.1 101 Switching Protocols\r\n\r\n", err: "101"},
		{name: "obsolete folding", in: "HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded: x\r\nContent-Length: 0\r\n\r\n", err: "bad header name"},
		{name: "no colon", in: "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n", err: "bad header"},
		{name: "space before colon", in: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", err: "bad header name"},
		{name: "bare CR", in: "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", err: "bare CR"},
		{name: "control in value", in: "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n", err: "control character"},
		{name: "lengths differ", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", err: "bad Content-Length"},
		{name: "length list", in: "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", err: "bad Content-Length"},
		{name: "signed length", in: "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", err: "bad Content-Length"},
		{name: "gzip coding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", err: "unsupported Transfer-Encoding"},
		{name: "chunked twice", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", err: "unsupported Transfer-Encoding"},
		{name: "chunked in HTTP/1.0", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", err: "unsupported Transfer-Encoding"},
		{name: "both framings", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", err: "both"},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", err: "bad chunk size"},
		{name: "chunk size overflow", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n", err: "bad chunk size"},
		{name: "chunk without CRLF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", err: "not followed by CRLF"},
		{name: "chunk with bare LF after data", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n", err: "not followed by CRLF"},
		{name: "204 with body", in: "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nhi", err: "204 with a body"},
		{name: "body over the limit", in: "HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n" + strings.Repeat("x", 65), err: "more than 64"},
		{name: "chunks over the limit", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + strings.Repeat("x", 64) + "\r\n1\r\nx\r\n0\r\n\r\n", err: "longer than 64"},
		{name: "unframed over the limit", in: "HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("x", 65), err: "longer than 64"},
		{name: "header over the limit", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 50)+"\r\n", 10) + "\r\n", err: "longer than allowed"},
		{name: "endless interim answers", in: strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 10), err: "too many interim"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := readResponse(bufio.NewReaderSize(strings.NewReader(c.in), 256), nil, lim)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.status != c.status || string(res.body) != c.body || res.close != c.close || res.subjectToken != c.token {
				t.Fatalf("got status %d body %q close %v token %q, want %d %q %v %q",
					res.status, res.body, res.close, res.subjectToken, c.status, c.body, c.close, c.token)
			}
		})
	}
}

// TestReadResponseKeepAlive reads answers one after the other from one
// stream, reusing one body buffer, as a kept-alive connection does.
func TestReadResponseKeepAlive(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n" +
		"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nthree"
	br := bufio.NewReader(strings.NewReader(in))
	var buf []byte
	for _, want := range []string{"one", "two", "three"} {
		res, err := readResponse(br, buf, limits{header: maxHeaderBytes, body: maxBodyBytes})
		if err != nil || string(res.body) != want || res.close {
			t.Fatalf("got %q close %v err %v, want %q", res.body, res.close, err, want)
		}
		buf = res.body
	}
	if _, err := readResponse(br, buf, limits{header: maxHeaderBytes, body: maxBodyBytes}); err != io.EOF {
		t.Fatalf("after the last answer: %v, want io.EOF", err)
	}
}

// FuzzReadResponse feeds the reader arbitrary bytes from a "server". It
// must not panic or exceed its limits, and whatever it accepts net/http
// must read the same way: same status, same body, same decision to close.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 201 Created\r\nX-Subject-Token: tok\r\nConnection: close\r\n\r\nbody to the end",
		"HTTP/1.1 204\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	lim := limits{header: 2048, body: 4096}
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := readResponse(bufio.NewReaderSize(bytes.NewReader(in), 512), nil, lim)
		if err != nil {
			return
		}
		if len(res.body) > lim.body {
			t.Fatalf("body of %d bytes over the limit %d", len(res.body), lim.body)
		}
		if res.status < 200 {
			t.Fatalf("interim status %d returned", res.status)
		}
		if bytes.HasPrefix(in, []byte("HTTP/1.1 1")) || bytes.HasPrefix(in, []byte("HTTP/1.0 1")) {
			return // net/http's ReadResponse returns the interim answer itself
		}
		hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", err, in)
		}
		body, err := io.ReadAll(hr.Body)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("accepted a body net/http refuses (%v): %q", err, in)
		}
		if err != nil || hr.StatusCode != res.status || !bytes.Equal(body, res.body) || hr.Close != res.close {
			t.Fatalf("read status %d body %q close %v; net/http %d %q close %v (%v)",
				res.status, res.body, res.close, hr.StatusCode, body, hr.Close, err)
		}
	})
}
