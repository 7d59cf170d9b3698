package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkShowDuringGeneration measures a cheap Nova show while eight
// clients generate RSA key pairs in a loop, with generation bounded to one
// at a time (the default on two CPUs) and unbounded. It reports the show's
// p50 and p99 latency and how many generations were answered and refused;
// docs/performance.md has the figures.
func BenchmarkShowDuringGeneration(b *testing.B) {
	for _, bc := range []struct{ name, concurrency string }{{"bound=1", "1"}, {"unbounded", "1000"}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := startServer(b, testTokens, "--keygen-concurrency", bc.concurrency, "--quota-key-pairs", "-1", "--log-level", "error")
			h := map[string]string{"X-Auth-Token": "alice-token", "Content-Type": "application/json"}
			pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFj2YwYzbnx8rI8ZmPs0nTb0m3uVd1Qm2Hn2yq3cX8kq bench"
			if resp, raw := srv.do(b, "POST", "/v2.1/os-keypairs", h, `{"keypair": {"name": "kept", "public_key": "`+pub+`"}}`); resp.StatusCode != 200 {
				b.Fatalf("import: %d %s", resp.StatusCode, raw)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var made, refused atomic.Int64
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						req, _ := http.NewRequest("POST", srv.URL+"/v2.1/os-keypairs",
							strings.NewReader(fmt.Sprintf(`{"keypair": {"name": "gen-%d-%d"}}`, g, i)))
						for k, v := range h {
							req.Header.Set(k, v)
						}
						res, err := httpDo(req)
						switch {
						case err != nil:
							b.Error(err)
							return
						case res.status == 200:
							made.Add(1)
						case res.status == 503:
							refused.Add(1)
						default:
							b.Errorf("generate: %d %s", res.status, res.body)
							return
						}
					}
				}()
			}
			time.Sleep(500 * time.Millisecond) // let the flood take hold
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				if resp, raw := srv.do(b, "GET", "/v2.1/os-keypairs/kept", h, ""); resp.StatusCode != 200 {
					b.Fatalf("show: %d %s", resp.StatusCode, raw)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(float64(made.Load()), "generated")
			b.ReportMetric(float64(refused.Load()), "refused")
		})
	}
}
