package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestBootstrapSurvivesKill9Postgres is TestBootstrapSurvivesKill9 on
// PostgreSQL: first starts killed with SIGKILL at random moments, each on
// a new database; every time the next start completes and the admin can
// log in and act as admin.
func TestBootstrapSurvivesKill9Postgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts it 17 times")
	}
	bin := buildBinary(t)
	const pw = "kill9-admin-pw"
	env := []string{"KEYHAVEN_BOOTSTRAP_PASSWORD=" + pw}
	began := time.Now()
	p := startProcess(t, bin, env, "--data-dir", filepath.Join(t.TempDir(), "data"), "--database", postgresURL(t))
	p.waitServing(t)
	span := time.Since(began)
	p.kill(syscall.SIGTERM)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, first start %v", seed, span)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 8 {
		t.Run(fmt.Sprintf("round%02d", round), func(t *testing.T) {
			data, db := filepath.Join(t.TempDir(), "data"), postgresURL(t)
			p := startProcess(t, bin, env, "--data-dir", data, "--database", db)
			d := time.Duration(rng.Int64N(int64(span)))
			time.Sleep(d)
			p.kill(syscall.SIGKILL)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("killed %v after the start:\n%s", d, p.output())
				}
			})
			again := startProcess(t, bin, env, "--data-dir", data, "--database", db)
			again.waitServing(t)
			checkAdmin(t, again.srv, pw)
			again.kill(syscall.SIGTERM)
		})
		if t.Failed() {
			t.FailNow()
		}
	}
}
