// Package storebench measures the key pair stores (store/sqlite and
// store/postgres) at scale, through the keypair.Store interface they share.
//
// It seeds a fresh, migrated store of each engine with many key pairs by
// bulk SQL against the engine's own key_pairs table (SQLite: batched
// transactions with a prepared INSERT; PostgreSQL: COPY), runs ANALYZE,
// and then times GetKeyPair, ListKeyPairs (first and deep pages) and
// CreateKeyPair through the real store code, printing latency percentiles
// as a Markdown table together with the engines' query plans for the
// statements those calls run.
//
// The scale test is opt-in, so that go test ./... stays fast:
//
//	KEYHAVEN_SCALE=1 go test -run TestScale -v -timeout 60m ./store/storebench/
//	go test -run TestScale -v -timeout 60m ./store/storebench/ -args -scale -rows 200000 -users 2000
//
// Further flags: -samples (per operation, default 2000) and -engines
// (default "sqlite,postgres"). PostgreSQL comes from internal/pgtest, so
// its settings (fsync=off among them) apply to the numbers.
//
// The Go benchmarks (BenchmarkGet, BenchmarkListFirst, BenchmarkCreate)
// need no environment variable: they run on a store of 100,000 key pairs
// per engine, seeded once per test binary in a few seconds:
//
//	go test -run '^$' -bench . ./store/storebench/
//
// docs/performance.md records a full run and its interpretation.
package storebench
