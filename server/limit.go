package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/api/kps"
)

// Connection limits and timeouts; Config's zero values take these.
const (
	// DefaultMaxConnections keeps the server, with its reserve and its
	// database and files, under a 1,024 open-file limit.
	DefaultMaxConnections = 512
	// DefaultHealthReserve is how many connections past the cap are
	// accepted to answer /healthz (and refuse the rest with 503).
	DefaultHealthReserve = 16
	// DefaultReadTimeout bounds the reading of one request, headers and
	// body: a 64 KiB body needs only 6.4 KB/s to arrive in time.
	DefaultReadTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds a request from the end of its headers to
	// the end of its answer; it is long, since password checks and key
	// generation may queue.
	DefaultWriteTimeout = 2 * time.Minute
	// DefaultIdleTimeout is how long a kept-alive connection may wait for
	// its next request, holding a connection slot.
	DefaultIdleTimeout = 60 * time.Second
	// reserveReadTimeout bounds the reading of a request on a connection
	// served from the reserve: a health check sends its few bytes at once,
	// and a slow client must give its place up quickly.
	reserveReadTimeout = time.Second
	// reserveWriteTimeout bounds its answer, which may ask the database.
	reserveWriteTimeout = 5 * time.Second
)

// limitListener hands out at most max connections at a time. Past that, up
// to reserve more go to the reserve channel, to be answered by the reserve
// server; past both, a connection is closed at once. Accept never blocks
// on the cap: a blocked Accept would leave health checks waiting in the
// kernel's queue behind the clients that fill the cap.
type limitListener struct {
	net.Listener
	max, reserve int

	mu           sync.Mutex
	active, held int
	// idle holds the capped connections waiting for their next request,
	// oldest first: at the cap, the oldest is closed to make room, so
	// kept-alive connections doing nothing cannot hold the cap.
	idle      []*limitedConn
	overflow  chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, max, reserve int) *limitListener {
	return &limitListener{Listener: ln, max: max, reserve: reserve,
		overflow: make(chan net.Conn, reserve), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.active >= l.max && len(l.idle) > 0 {
			old := l.idle[0]
			l.idle = l.idle[1:]
			l.active--
			old.released = true
			go old.Conn.Close()
		}
		switch {
		case l.active < l.max:
			l.active++
			l.mu.Unlock()
			return &limitedConn{Conn: c, l: l, capped: true}, nil
		case l.held < l.reserve:
			l.held++
			l.mu.Unlock()
			// The channel holds reserve connections and held counts every
			// one not yet closed, so this send never blocks.
			l.overflow <- &limitedConn{Conn: c, l: l}
		default:
			l.mu.Unlock()
			c.Close()
		}
	}
}

// Close closes the listener once; the reserve server stops accepting then.
func (l *limitListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.closed)
		err = l.Listener.Close()
	})
	return err
}

// connState follows the main server's connections, to know which are
// idle.
func (l *limitListener) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok || !c.capped {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropIdle(c)
	if st == http.StateIdle && !c.released {
		l.idle = append(l.idle, c)
	}
}

func (l *limitListener) dropIdle(c *limitedConn) {
	for i, o := range l.idle {
		if o == c {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			return
		}
	}
}

// reserveListener is the listener of the reserve server: the connections
// the limitListener could not give a slot.
type reserveListener struct{ l *limitListener }

func (r reserveListener) Accept() (net.Conn, error) {
	select {
	case c := <-r.l.overflow:
		return c, nil
	case <-r.l.closed:
		return nil, net.ErrClosed
	}
}

// Close does nothing: the main server owns the socket.
func (r reserveListener) Close() error   { return nil }
func (r reserveListener) Addr() net.Addr { return r.l.Addr() }

// limitedConn gives its slot back once, when closed.
type limitedConn struct {
	net.Conn
	l *limitListener
	// capped is set for a connection of the main server, counted in
	// active; others are counted in held.
	capped bool
	// released is set, under l.mu, once the slot is given back.
	released bool
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return err
	}
	c.released = true
	if c.capped {
		l.active--
		l.dropIdle(c)
	} else {
		l.held--
	}
	return err
}

// reserveHandler answers the connections past the cap: /healthz as usual,
// anything else 503 in the dialect's format, and every connection closed
// after its answer.
func (s *Server) reserveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.healthz.ServeHTTP(w, r)
			return
		}
		s.cfg.Log.WarnContext(r.Context(), "connection limit reached; request refused", "path", r.URL.Path, "remote", r.RemoteAddr)
		const msg = "The server is at its connection limit. Retry later."
		var body any
		switch {
		case r.URL.Path == "/identity" || strings.HasPrefix(r.URL.Path, "/identity/"):
			body = map[string]any{"error": map[string]any{"code": 503, "title": "Service Unavailable", "message": msg}}
		case strings.HasPrefix(r.URL.Path, "/v3/"):
			body = map[string]any{"error_code": kps.ErrOverloaded.Code, "error_msg": msg}
		case strings.HasPrefix(r.URL.Path, "/keyhaven/"):
			// RFC 9457 problem details, as keyhaven's own API answers.
			body = map[string]any{"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": msg, "code": "overloaded"}
		default:
			body = map[string]any{"serviceUnavailable": map[string]any{"code": 503, "message": msg}}
		}
		b, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/keyhaven/") {
			w.Header().Set("Content-Type", "application/problem+json")
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(b)
	})
}

// serveReserve runs the reserve server until ctx is done.
func (s *Server) serveReserve(ctx context.Context, ll *limitListener) {
	hs := &http.Server{
		Handler:           s.requestID(s.accessLog(s.recover(s.reserveHandler()))),
		ReadHeaderTimeout: reserveReadTimeout,
		ReadTimeout:       reserveReadTimeout,
		WriteTimeout:      reserveWriteTimeout,
		IdleTimeout:       reserveReadTimeout,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          s.errorLog(),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	hs.SetKeepAlivesEnabled(false)
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(reserveListener{ll}); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		s.cfg.Log.Error("reserve server", "error", err)
	}
}

// ServeHealth answers /healthz, and nothing else, on ln until ctx is done:
// a listener apart from the API's, with no connection cap, for an
// orchestrator on an address clients cannot reach.
func (s *Server) ServeHealth(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/healthz", s.healthz)
	hs := &http.Server{
		Handler:           s.requestID(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      reserveWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          s.errorLog(),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
