package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// endpoint is where a session's connections go, taken apart once from
// the target's URL.
type endpoint struct {
	// addr is the host:port dialed.
	addr string
	// host is the Host header: the URL's host, as net/http sends it.
	host string
	// prefix is the URL's path, before every call's path ("" or "/x").
	prefix string
	// tls is the TLS configuration of an https target; nil for http.
	tls *tls.Config
}

func parseEndpoint(base string) (endpoint, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return endpoint{}, fmt.Errorf("%q is not an http(s) URL", base)
	}
	ep := endpoint{host: u.Host, prefix: strings.TrimRight(u.EscapedPath(), "/")}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	ep.addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme == "https" {
		ep.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return ep, nil
}

// readBufferSize is the connection's read buffer; it also bounds one
// header line.
const readBufferSize = 16 << 10

// conn is one kept-alive HTTP/1.1 connection and its buffers, used by
// one goroutine at a time. It exists because net/http's Transport spends
// more CPU per request (two goroutines per connection, channels between
// them, header maps, a request object) than the servers it loads need to
// answer a show, and the machine the load runs on is the servers'.
type conn struct {
	ep *endpoint
	nc net.Conn
	// io is nc, or its socket read and written directly (newSocketIO).
	io io.ReadWriter
	br *bufio.Reader
	// req is the next request, rendered whole so it goes in one write.
	req []byte
	// body holds the last answer's body.
	body []byte
	lim  limits
}

func newConn(ep *endpoint) *conn {
	return &conn{ep: ep, lim: limits{header: maxHeaderBytes, body: maxBodyBytes}, req: make([]byte, 0, 1024), body: make([]byte, 0, 4096)}
}

// roundTrip sends c.req and reads the answer, dialing first when the
// connection is closed. A kept-alive connection the server closed while
// idle shows as an end of the connection before any byte of the answer;
// the request is then sent once more on a new connection, as net/http's
// Transport does. ctx bounds the exchange when it can be cancelled.
func (c *conn) roundTrip(ctx context.Context) (response, error) {
	for attempt := 0; ; attempt++ {
		reused := c.nc != nil
		if !reused {
			if err := c.dial(ctx); err != nil {
				return response{}, err
			}
		}
		stop := func() bool { return false }
		if ctx.Done() != nil {
			nc := c.nc
			stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
		}
		res, answered, err := c.exchange()
		if !stop() && ctx.Done() != nil {
			// The deadline was set, or is being set: this connection is
			// spent whatever the exchange gave.
			c.drop()
			return response{}, ctx.Err()
		}
		if err == nil {
			if res.close {
				c.drop()
			}
			return res, nil
		}
		c.drop()
		if !reused || attempt > 0 || answered {
			return response{}, err
		}
	}
}

// exchange writes the request and reads its answer. answered says a byte
// of the answer came back: the server acted on the request, which must
// then not be sent again.
func (c *conn) exchange() (res response, answered bool, err error) {
	if _, err := c.io.Write(c.req); err != nil {
		return response{}, false, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return response{}, false, err
	}
	res, err = readResponse(c.br, c.body, c.lim)
	if err != nil {
		return response{}, true, err
	}
	c.body = res.body
	return res, true, nil
}

func (c *conn) dial(ctx context.Context) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.ep.addr)
	if err != nil {
		return err
	}
	if c.ep.tls != nil {
		tc := tls.Client(nc, c.ep.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return err
		}
		nc = tc
	}
	c.nc, c.io = nc, newSocketIO(nc)
	if c.br == nil {
		c.br = bufio.NewReaderSize(c.io, readBufferSize)
	} else {
		c.br.Reset(c.io)
	}
	return nil
}

// drop closes the connection; the next request dials a new one.
func (c *conn) drop() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc, c.io = nil, nil
	}
}
