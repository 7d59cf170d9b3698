package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one operation's figures against one target.
type Result struct {
	// Operation and Target name the row.
	Operation, Target string
	// Skipped, when not empty, says why the operation did not apply.
	Skipped string
	// Requests is how many requests completed, Errors how many of them
	// failed (not 2xx, or no answer).
	Requests, Errors int
	// Elapsed is how long the timed phase took.
	Elapsed time.Duration
	// P50, P99 and Max are latencies of all requests.
	P50, P99, Max time.Duration
	// FirstError describes the first failure, for the operator.
	FirstError string
	// RanOut is set when delete used up its key pairs before the time.
	RanOut bool
}

// Rate returns the requests completed per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run loads each target with each operation in turn and returns the
// results, in operation order, then target order. progress, when not nil,
// is told of each step.
func Run(ctx context.Context, cfg Config, progress io.Writer) ([]Result, error) {
	cfg.defaults()
	if err := cfg.validate(ctx); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	run := make([]byte, 3)
	_, _ = rand.Read(run)
	states := make([]*state, len(cfg.Targets))
	for i, t := range cfg.Targets {
		// The target's index in the prefix keeps names apart when two
		// targets are one server.
		st, err := open(ctx, &cfg, t, fmt.Sprintf("lg-%s-%d-", hex.EncodeToString(run), i))
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		defer st.s.close()
		states[i] = st
	}
	var out []Result
	for _, name := range cfg.Operations {
		op := operations[name]
		for i, st := range states {
			res := Result{Operation: name, Target: cfg.Targets[i].Name}
			if op.setup != nil {
				fmt.Fprintf(progress, "setting up %s on %s\n", name, res.Target)
				skip, err := op.setup(ctx, st)
				if err != nil {
					return out, fmt.Errorf("%s on %s: setup: %w", name, res.Target, err)
				}
				if skip != "" {
					res.Skipped = skip
					out = append(out, res)
					continue
				}
			}
			fmt.Fprintf(progress, "timing %s on %s for %s with %d connections\n", name, res.Target, cfg.Duration, cfg.Connections)
			timed(ctx, &cfg, op, st, &res)
			out = append(out, res)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
		}
	}
	return out, nil
}

// open prepares the session of one target, logging in when asked to.
func open(ctx context.Context, cfg *Config, t Target, prefix string) (*state, error) {
	s, err := newSession(t.URL)
	if err != nil {
		return nil, err
	}
	s.auth = cfg.Auth
	s.projectID = cfg.Credentials.ProjectID
	switch cfg.Auth {
	case AuthToken:
		s.token = t.Token
		if s.token == "" {
			s.token = cfg.Token
		}
	case AuthKeystone:
		tok, pid, err := s.login(ctx, cfg.Credentials)
		if err != nil {
			s.close()
			return nil, err
		}
		s.token = tok
		if s.projectID == "" {
			s.projectID = pid
		}
	case AuthAKSK:
		s.ak, s.sk = cfg.Credentials.AccessKey, cfg.Credentials.SecretKey
	}
	s.noncePrefix = prefix
	return &state{s: s, cfg: cfg, prefix: prefix}, nil
}

// timed runs op against st with cfg.Connections workers until the
// duration is over, and fills res.
func timed(ctx context.Context, cfg *Config, op operation, st *state, res *Result) {
	start := time.Now()
	end := start.Add(cfg.Duration)
	var mu sync.Mutex
	var all []time.Duration
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Connections {
		wg.Go(func() {
			// The worker holds one connection throughout: no pool, no
			// lock, no goroutine between it and the server.
			cn := st.s.get()
			defer st.s.put(cn)
			// Requests in flight finish when the run is cancelled; the
			// loop stops sending.
			bg := context.WithoutCancel(ctx)
			lat := make([]time.Duration, 0, 1024)
			errs, ranOut, first := 0, false, ""
			for ctx.Err() == nil && time.Now().Before(end) {
				if cfg.Requests > 0 && sent.Add(1) > int64(cfg.Requests) {
					break
				}
				c, ok := op.next(st)
				if !ok {
					ranOut = true
					break
				}
				t0 := time.Now()
				r, err := st.s.send(bg, cn, c)
				lat = append(lat, time.Since(t0))
				switch {
				case err != nil:
					errs++
					if first == "" {
						first = err.Error()
					}
				case r.status/100 != 2:
					errs++
					if first == "" {
						first = fmt.Sprintf("%s %s: %d %s", c.method, c.path, r.status, trim(r.body))
					}
				case op.done != nil && c.name != "":
					op.done(st, c.name)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, lat...)
			res.Errors += errs
			res.RanOut = res.RanOut || ranOut
			if res.FirstError == "" {
				res.FirstError = first
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(all)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	res.P50 = percentile(all, 50)
	res.P99 = percentile(all, 99)
	res.Max = all[len(all)-1]
}

// percentile returns the p-th percentile of sorted latencies (nearest
// rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(min(i, len(sorted))-1, 0)]
}
