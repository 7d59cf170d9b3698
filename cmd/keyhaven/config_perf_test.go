package main

import (
	"strings"
	"testing"
	"time"
)

// TestPerformanceConfig: the key pool, pprof and log flush settings from
// flags and the environment, with their defaults and refusals.
func TestPerformanceConfig(t *testing.T) {
	cases := []struct {
		args  []string
		env   map[string]string
		pool  int
		pprof bool
		flush time.Duration
		err   string
	}{
		{nil, nil, 64, false, 100 * time.Millisecond, ""},
		{[]string{"--keygen-pool", "0", "--pprof", "--log-flush-interval", "0s"}, nil, 0, true, 0, ""},
		{[]string{"--pprof=false"}, map[string]string{"KEYHAVEN_PPROF": "true"}, 64, false, 100 * time.Millisecond, ""},
		{nil, map[string]string{"KEYHAVEN_PPROF": "1", "KEYHAVEN_KEYGEN_POOL": "8"}, 8, true, 100 * time.Millisecond, ""},
		{[]string{"--keygen-pool", "-1"}, nil, 0, false, 0, "keygen_pool: -1"},
		{nil, map[string]string{"KEYHAVEN_PPROF": "maybe"}, 0, false, 0, `KEYHAVEN_PPROF: "maybe" is not true or false`},
		{[]string{"--log-flush-interval", "20s"}, nil, 0, false, 0, "log_flush_interval: 20s"},
	}
	for _, c := range cases {
		cfg, err := loadConfig("t", c.args, func(k string) string { return c.env[k] })
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v %v: %v, want %q", c.args, c.env, err, c.err)
		case c.err == "" && (err != nil || cfg.KeygenPool != c.pool || cfg.Pprof != c.pprof || cfg.LogFlushInterval != c.flush):
			t.Errorf("%v %v: pool %d pprof %v flush %s %v; want %d %v %s", c.args, c.env, cfg.KeygenPool, cfg.Pprof, cfg.LogFlushInterval, err, c.pool, c.pprof, c.flush)
		}
	}
}
