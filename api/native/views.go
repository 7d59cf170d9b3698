package native

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// keyPairView is a key pair as this API shows it.
type keyPairView struct {
	ID                int64             `json:"id"`
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	Scope             string            `json:"scope"`
	UserID            string            `json:"user_id"`
	ProjectID         string            `json:"project_id"`
	PublicKey         string            `json:"public_key"`
	FingerprintSHA256 string            `json:"fingerprint_sha256"`
	FingerprintMD5    string            `json:"fingerprint_md5"`
	Description       string            `json:"description"`
	Tags              map[string]string `json:"tags"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	ExpiresAt         *time.Time        `json:"expires_at"`
	Escrow            *escrowView       `json:"escrow"`
	Previous          *previousView     `json:"previous,omitempty"`
	Warnings          []string          `json:"warnings,omitempty"`
	// PrivateKey is set once: in the answer of a create or rotation that
	// generated a key not kept in escrow.
	PrivateKey string `json:"private_key,omitempty"`
}

// escrowView says under which KMS key a private key is kept.
type escrowView struct {
	KMSKey string `json:"kms_key"`
}

// previousView is the key material a rotation replaced.
type previousView struct {
	Type              string    `json:"type"`
	PublicKey         string    `json:"public_key"`
	FingerprintSHA256 string    `json:"fingerprint_sha256"`
	FingerprintMD5    string    `json:"fingerprint_md5"`
	RotatedAt         time.Time `json:"rotated_at"`
}

// fingerprints returns the SHA-256 and MD5 fingerprints of public key
// material: for ssh keys as ssh-keygen prints them (the MD5 one without
// its "MD5:" prefix, as Nova and KPS show it); for x509 certificates over
// the DER.
func fingerprints(kp *keypair.KeyPair) (sha, md string) {
	if kp.Type == keypair.TypeX509 {
		b, _ := pem.Decode([]byte(kp.PublicKey))
		if b == nil {
			return "", ""
		}
		s, m := sha256.Sum256(b.Bytes), md5.Sum(b.Bytes)
		return "SHA256:" + base64.RawStdEncoding.EncodeToString(s[:]), colonHex(m[:])
	}
	return keypair.SHA256(kp.PublicKey), kp.Fingerprint
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// kmsKey names the KMS key of a ref without its version ("local/x@v2").
func kmsKey(ref string) string {
	if i := strings.LastIndex(ref, "@v"); i > 0 {
		return ref[:i]
	}
	return ref
}

// typeName is a key pair's type as this API names it.
func typeName(kp *keypair.KeyPair) string {
	if kp.Type == keypair.TypeX509 {
		return "x509"
	}
	return keypair.NativeType(kp.PublicKey, kp.Algorithm)
}

// view renders kp at now.
func view(kp *keypair.KeyPair, now time.Time) keyPairView {
	v := keyPairView{ID: kp.ID, Name: kp.Name, Type: typeName(kp), Scope: string(kp.Scope), UserID: kp.UserID,
		ProjectID: kp.ProjectID, PublicKey: kp.PublicKey, Description: kp.Description, Tags: map[string]string{},
		CreatedAt: kp.CreatedAt, UpdatedAt: kp.UpdatedAt, ExpiresAt: kp.Details.ExpiresAt,
		Warnings: keypair.Warnings(kp, now)}
	v.FingerprintSHA256, v.FingerprintMD5 = fingerprints(kp)
	for _, t := range kp.Details.Tags {
		v.Tags[t.Key] = t.Value
	}
	if kp.Escrow != nil {
		v.Escrow = &escrowView{KMSKey: kmsKey(kp.Escrow.KeyRef)}
	}
	if p := kp.Details.Previous; p != nil {
		pk := &keypair.KeyPair{Type: keypair.TypeSSH, PublicKey: p.PublicKey, Fingerprint: p.Fingerprint}
		sha, md := fingerprints(pk)
		v.Previous = &previousView{Type: keypair.NativeType(p.PublicKey, p.Algorithm), PublicKey: p.PublicKey,
			FingerprintSHA256: sha, FingerprintMD5: md, RotatedAt: p.RotatedAt}
	}
	return v
}

// auditView is one audit log entry.
type auditView struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	Action      string    `json:"action"`
	UserID      string    `json:"user_id"`
	ProjectID   string    `json:"project_id"`
	KeyPairID   int64     `json:"keypair_id"`
	KeyPairUID  string    `json:"keypair_uid"`
	KeyPairName string    `json:"keypair_name"`
	RemoteAddr  string    `json:"remote_addr"`
	RequestID   string    `json:"request_id"`
	Hash        string    `json:"hash"`
	// The association fields, set on associate and disassociate entries only.
	ServerID string `json:"server_id,omitempty"`
	TaskID   string `json:"task_id,omitempty"`
	Result   string `json:"result,omitempty"`
	Detail   string `json:"detail,omitempty"`
}
