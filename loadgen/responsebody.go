package loadgen

import (
	"bufio"
	"bytes"
	"io"
)

// readBody reads a body framed by length (-1: none given) or chunked.
func readBody(br *bufio.Reader, buf []byte, length int, chunked bool, budget *int, maxBody int) ([]byte, error) {
	switch {
	case chunked:
		return readChunked(br, buf, budget, maxBody)
	case length > maxBody:
		return nil, malformed("body of %d bytes, more than %d", length, maxBody)
	case length >= 0:
		buf = grow(buf, length)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, noEOF(err)
		}
		return buf, nil
	}
	// No length: the body ends with the connection.
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(max(2*cap(buf), 4096), maxBody+1))
			copy(nb, buf)
			buf = nb
		}
		n, err := br.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > maxBody:
			return nil, malformed("body longer than %d bytes", maxBody)
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// readChunked decodes a chunked body and skips its trailer fields. Its
// lines must end in CRLF, as net/http's reader requires of them. The
// chunks' framing is counted against a budget of its own as large as the
// body's, so that tiny chunks cannot make it cost without end.
func readChunked(br *bufio.Reader, buf []byte, budget *int, maxBody int) ([]byte, error) {
	framing := maxBody
	for {
		line, err := readCRLFLine(br, &framing)
		if err != nil {
			return nil, noEOF(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // a chunk extension, which nothing here uses
		}
		size, ok := parseHex(trimTrailingOWS(line))
		if !ok {
			return nil, malformed("bad chunk size %q", clip(line))
		}
		if size == 0 {
			break
		}
		if size > maxBody-len(buf) {
			return nil, malformed("body longer than %d bytes", maxBody)
		}
		n := len(buf)
		buf = grow(buf, n+size)
		if _, err := io.ReadFull(br, buf[n:]); err != nil {
			return nil, noEOF(err)
		}
		crlf, err := br.Peek(2)
		if err != nil {
			return nil, noEOF(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return nil, malformed("chunk not followed by CRLF")
		}
		_, _ = br.Discard(2)
	}
	for {
		line, err := readCRLFLine(br, budget)
		if err != nil {
			return nil, noEOF(err)
		}
		if len(line) == 0 {
			return buf, nil
		}
		if _, _, err := parseField(line); err != nil {
			return nil, err
		}
	}
}

// readLine returns the next line without its CRLF (or bare LF), counted
// against budget. The line is valid until the next read from br.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	switch {
	case err == bufio.ErrBufferFull || *budget < 0:
		return nil, malformed("header fields or chunk framing longer than allowed")
	case err == io.EOF && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, malformed("bare CR in %q", clip(line))
	}
	return line, nil
}

// readCRLFLine is readLine for lines that must end in CRLF.
func readCRLFLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	switch n := len(line); {
	case err == bufio.ErrBufferFull || *budget < 0:
		return nil, malformed("header fields or chunk framing longer than allowed")
	case err == io.EOF && n > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	case n < 2 || line[n-2] != '\r':
		return nil, malformed("line not ended by CRLF")
	case bytes.IndexByte(line[:n-2], '\r') >= 0:
		return nil, malformed("bare CR in %q", clip(line))
	}
	return line[:len(line)-2], nil
}

// noEOF turns an end of the connection inside an answer into
// io.ErrUnexpectedEOF: only before the status line is an EOF clean.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// grow returns buf resized to n bytes, keeping its contents.
func grow(buf []byte, n int) []byte {
	if n <= cap(buf) {
		return buf[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(buf)))
	copy(nb, buf)
	return nb
}
