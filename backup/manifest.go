package backup

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ManifestName is the tar member holding the manifest, always the last.
const ManifestName = "MANIFEST.json"

// Manifest describes an archive: where it came from, what the database
// held and which KMS keys its escrowed private keys need.
type Manifest struct {
	KeyhavenVersion string    `json:"keyhaven_version"`
	CreatedAt       time.Time `json:"created_at"`
	Engine          string    `json:"engine"` // "sqlite" or "postgres"
	SchemaVersion   int       `json:"schema_version"`
	// Database is true when the archive holds a database snapshot
	// (SQLite); for PostgreSQL the database is backed up with pg_dump.
	Database bool   `json:"database_snapshot"`
	Counts   Counts `json:"counts"`
	// KMSRefs are the distinct KMS key refs the escrowed rows use.
	KMSRefs []string `json:"kms_refs"`
	// LocalKeys are the exported local KMS key versions.
	LocalKeys []LocalKey `json:"local_keys"`
	// HSMKeys are the pkcs11 refs that must be present on restore.
	HSMKeys []string `json:"hsm_keys"`
	// Members maps each other member's name to its SHA-256 (hex).
	Members map[string]string `json:"members"`
}

// Counts are the row counts of the backed-up database.
type Counts struct {
	KeyPairs     int64 `json:"key_pairs"`
	EscrowedKeys int64 `json:"escrowed_keys"`
	AuditEntries int64 `json:"audit_entries"`
	Users        int64 `json:"users"`
	// Servers is the server inventory (keyhaven servers), which a
	// SQLite snapshot carries; 0 in archives made before it existed.
	Servers int64 `json:"servers"`
}

// LocalKey is one local KMS key version in the archive.
type LocalKey struct {
	Ref  string `json:"ref"`  // "local/NAME@vN"
	File string `json:"file"` // member name
	KCV  string `json:"kcv"`
}

// KCV is a key's check value: the first 8 bytes of HMAC-SHA256(key,
// "keyhaven kcv"), in hex. It tells whether two copies of a key are the
// same without revealing either.
func KCV(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("keyhaven kcv"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}
