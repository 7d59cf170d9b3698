package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLoginDuringFlood measures a real user's password login (the
// admin, from 127.0.0.1, argon2id at the production cost) while 32 clients,
// each from its own loopback address, send wrong passwords as fast as they
// are answered, for the admin and for names that do not exist. The flood
// starts 3 s before timing, so every flooding address has failed at least
// once. "idle" is the same login with no flood, "default" the flood
// against the default limits. Figures are in docs/performance.md; nothing
// here asserts a time.
//
//	go test -run '^$' -bench LoginDuringFlood -benchtime 40x ./cmd/keyhaven
func BenchmarkLoginDuringFlood(b *testing.B) {
	for _, c := range []struct {
		name     string
		flooders int
		flags    []string
	}{
		{"idle", 0, nil},
		{"default", 32, nil},
	} {
		b.Run(c.name, func(b *testing.B) { benchLoginFlood(b, c.flooders, c.flags) })
	}
}

func benchLoginFlood(b *testing.B, flooders int, flags []string) {
	srv := startServer(b, "", append([]string{"--bootstrap-password", bootstrapPassword, "--log-level", "error"}, flags...)...)
	user := clientFrom("127.0.0.1")
	// One login before the flood: the admin's address is one it logs in
	// from, as a real user's is.
	if status, _, body := passwordLogin(b, user, srv.URL, "admin", bootstrapPassword); status != http.StatusCreated {
		b.Fatalf("login: %d %s", status, body)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var answered [600]atomic.Int64
	for i := range flooders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(fmt.Sprintf("127.0.0.%d", 10+i))
			// Kept-alive connections: the cheapest flood to send, and to
			// answer.
			c.Transport.(*http.Transport).DisableKeepAlives = false
			for n := 0; ctx.Err() == nil; n++ {
				name := "admin"
				if n%2 == 1 {
					name = fmt.Sprintf("ghost-%d-%d", i, n)
				}
				status, _, _ := floodLogin(ctx, c, srv.URL, name)
				answered[status%600].Add(1)
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	time.Sleep(3 * time.Second)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		status, _, body := passwordLogin(b, user, srv.URL, "admin", bootstrapPassword)
		lat = append(lat, time.Since(start))
		if status != http.StatusCreated {
			b.Fatalf("login during the flood: %d %s", status, body)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Milliseconds()) }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.9), "p90-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(answered[401].Load()), "flood-401s")
	b.ReportMetric(float64(answered[429].Load()), "flood-429s")
}

// floodLogin sends one wrong-password login and ignores the answer but
// for its status.
func floodLogin(ctx context.Context, c *http.Client, base, user string) (int, string, string) {
	body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"id": "default"}, "password": "wrong"}}}}}`, user)
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/identity/v3/auth/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, "", ""
	}
	res.Body.Close()
	return res.StatusCode, "", ""
}

// BenchmarkFailedLogin measures how long a failed password login takes
// by what was wrong: a wrong password for a real user, a user name or a
// domain that does not exist (the limits are off, so that every login is
// checked). Each iteration sends one of each, in turn, so that the load of
// the machine falls on all three alike; the medians should not be told
// apart.
//
//	go test -run '^$' -bench FailedLogin -benchtime 50x ./cmd/keyhaven
func BenchmarkFailedLogin(b *testing.B) {
	srv := startServer(b, "", "--bootstrap-password", bootstrapPassword, "--log-level", "error",
		"--login-failures-per-minute", "-1", "--login-user-failures-per-minute", "-1")
	c := clientFrom("127.0.0.1")
	kinds := []struct{ name, user, domain string }{
		{"wrong-password", "admin", `"id": "default"`},
		{"unknown-user", "no-such-user", `"id": "default"`},
		{"unknown-domain", "admin", `"name": "Nowhere"`},
	}
	lat := make([][]time.Duration, len(kinds))
	b.ResetTimer()
	for n := range b.N {
		for j := range kinds {
			k := kinds[(n+j)%len(kinds)]
			body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {%s}, "password": "wrong"}}}}}`, k.user, k.domain)
			start := time.Now()
			res, err := c.Post(srv.URL+"/identity/v3/auth/tokens", "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			lat[(n+j)%len(kinds)] = append(lat[(n+j)%len(kinds)], time.Since(start))
			if res.StatusCode != http.StatusUnauthorized {
				b.Fatalf("%s: %d", k.name, res.StatusCode)
			}
		}
	}
	b.StopTimer()
	for j, k := range kinds {
		slices.Sort(lat[j])
		b.ReportMetric(float64(lat[j][len(lat[j])/2].Microseconds())/1000, k.name+"-p50-ms")
	}
}
