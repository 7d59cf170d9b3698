package storebench

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	_ "modernc.org/sqlite" // the driver store/sqlite uses
)

// Config sizes a seeded data set.
type Config struct {
	// Rows is how many key pairs to seed in total.
	Rows int
	// Users is how many users own them, as evenly as possible.
	Users int
	// Domains is how many domains the users are spread over.
	Domains int
	// Seed makes the data set reproducible.
	Seed uint64
}

// User is one seeded owner: their identity and the names of the key pairs
// they own, in byte order.
type User struct {
	ID, ProjectID, DomainID string
	Names                   []string
}

// Row is one seeded key_pairs row (the columns a bulk load sets; escrow
// columns stay NULL).
type Row struct {
	UID, UserID, ProjectID, DomainID, Name, Scope string
	PublicKey, Fingerprint, Algorithm             string
	CreatedAt                                     int64 // microseconds since the epoch
}

// Dataset is a generated data set: its users (for picking lookups) and a
// generator of its rows in insertion order.
type Dataset struct {
	Config Config
	Users  []User
	keys   []sshKey
	order  []int32 // row k of the insertion order is slot order[k]
	first  []int   // first[i] is user i's first slot
	scope  []bool  // by slot: domain scope
}

// sshKey is a public key line with its Nova fingerprint.
type sshKey struct{ line, fingerprint string }

// numKeys is how many distinct ed25519 keys the rows reuse.
const numKeys = 100

// NewDataset generates users, names and keys for cfg. About 1% of the key
// pairs are domain-scope; their names carry the owner's user ID so that
// no name resolves to two key pairs for any user, as CreateKeyPair
// guarantees. Rows are inserted in random order (users create key pairs
// over time), with increasing timestamps over the past two years.
func NewDataset(cfg Config) (*Dataset, error) {
	if cfg.Rows <= 0 || cfg.Users <= 0 || cfg.Users > cfg.Rows {
		return nil, fmt.Errorf("storebench: need 0 < users (%d) <= rows (%d)", cfg.Users, cfg.Rows)
	}
	if cfg.Domains <= 0 {
		cfg.Domains = 100
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6b657968))
	d := &Dataset{Config: cfg, Users: make([]User, cfg.Users), first: make([]int, cfg.Users+1),
		scope: make([]bool, cfg.Rows)}
	domains := make([]string, cfg.Domains)
	for i := range domains {
		domains[i] = randHex(rng, 16)
	}
	slot := 0
	for i := range d.Users {
		n := cfg.Rows / cfg.Users
		if i < cfg.Rows%cfg.Users {
			n++
		}
		u := User{ID: randHex(rng, 16), ProjectID: randHex(rng, 16), DomainID: domains[i%cfg.Domains]}
		d.first[i] = slot
		for j := range n {
			name := fmt.Sprintf("key-%06d", j)
			if rng.IntN(100) == 0 {
				d.scope[slot] = true
				name += "-" + u.ID[:12]
			}
			u.Names = append(u.Names, name)
			slot++
		}
		sort.Strings(u.Names) // already sorted; kept for safety
		d.Users[i] = u
	}
	d.first[cfg.Users] = slot
	perm := rng.Perm(cfg.Rows)
	d.order = make([]int32, cfg.Rows)
	for k, p := range perm {
		d.order[k] = int32(p)
	}
	d.keys = make([]sshKey, numKeys)
	for i := range d.keys {
		var seed [ed25519.SeedSize]byte
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed[:]).Public())
		if err != nil {
			return nil, err
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + fmt.Sprintf(" bench-%03d@keyhaven", i)
		d.keys[i] = sshKey{line: line, fingerprint: ssh.FingerprintLegacyMD5(pub)}
	}
	return d, nil
}

// randHex returns n random bytes as lower-case hex.
func randHex(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b)
}

// Rows calls fn with every row in insertion order, stopping at its first
// error. UIDs are fresh random hex (128 bits, so unique in practice).
func (d *Dataset) Rows(fn func(k int, r *Row) error) error {
	rng := rand.New(rand.NewPCG(d.Config.Seed, 0x75696473))
	start := time.Now().Add(-2 * 365 * 24 * time.Hour).UnixMicro()
	step := (2 * 365 * 24 * time.Hour).Microseconds() / int64(len(d.order))
	var r Row
	for k, s := range d.order {
		slot := int(s)
		i := sort.Search(len(d.Users), func(i int) bool { return d.first[i+1] > slot })
		u := &d.Users[i]
		key := d.keys[rng.IntN(numKeys)]
		r = Row{
			UID: randHex(rng, 16), UserID: u.ID, ProjectID: u.ProjectID, DomainID: u.DomainID,
			Name: u.Names[slot-d.first[i]], Scope: "user",
			PublicKey: key.line, Fingerprint: key.fingerprint, Algorithm: "ed25519",
			CreatedAt: start + int64(k)*step,
		}
		if d.scope[slot] {
			r.Scope = "domain"
		}
		if err := fn(k, &r); err != nil {
			return err
		}
	}
	return nil
}

// PublicKey returns one of the data set's public key lines and its
// fingerprint, for creating new key pairs.
func (d *Dataset) PublicKey(i int) (line, fingerprint string) {
	k := d.keys[i%numKeys]
	return k.line, k.fingerprint
}

// Stats summarises the latencies of one measured operation.
type Stats struct {
	Op         string
	N          int
	P50, P99   time.Duration
	Max        time.Duration
	Mean       time.Duration
	OpsPerSec  float64
	Goroutines int
}

// Summarize computes Stats from per-call latencies and the wall time the
// calls took together.
func Summarize(op string, goroutines int, lat []time.Duration, wall time.Duration) Stats {
	s := Stats{Op: op, N: len(lat), Goroutines: goroutines}
	if len(lat) == 0 {
		return s
	}
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, l := range sorted {
		sum += l
	}
	s.P50 = sorted[(len(sorted)-1)*50/100]
	s.P99 = sorted[(len(sorted)-1)*99/100]
	s.Mean = sum / time.Duration(len(sorted))
	s.Max = sorted[len(sorted)-1]
	if wall > 0 {
		s.OpsPerSec = float64(len(sorted)) / wall.Seconds()
	}
	return s
}

// Table renders stats of several engines as a Markdown table.
func Table(engines []string, stats [][]Stats) string {
	var b strings.Builder
	b.WriteString("| engine | operation | goroutines | samples | p50 | p99 | mean | max | ops/s |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, e := range engines {
		for _, s := range stats[i] {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s | %.0f |\n", e, s.Op, s.Goroutines, s.N,
				ms(s.P50), ms(s.P99), ms(s.Mean), ms(s.Max), s.OpsPerSec)
		}
	}
	return b.String()
}

// ms formats d in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
