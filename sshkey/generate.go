package sshkey

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ssh"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Generated is new key material.
type Generated struct {
	PublicKey   string // OpenSSH line, or PEM certificate for x509
	PrivateKey  string // PEM or base64 PKCS#12
	Fingerprint string
}

// GenerateRSA makes an RSA key pair the way Nova's generate_key_pair does
// with paramiko: a PKCS#1 "RSA PRIVATE KEY" PEM, the public key as an
// OpenSSH line without a trailing newline, and the MD5 fingerprint.
func GenerateRSA(bits int, comment string) (*Generated, error) {
	k, err := generateRSA(bits, comment)
	if err != nil {
		return nil, err
	}
	return k.take(), nil
}

// rsaKey is a generated RSA key pair held as encoded bytes, so that its
// private part can be zeroed once handed out (a string cannot be).
type rsaKey struct {
	public, fingerprint string
	private             []byte // PKCS#1 PEM
}

// take returns the key as a Generated and zeroes the private bytes k held.
func (k *rsaKey) take() *Generated {
	g := &Generated{PublicKey: k.public, PrivateKey: string(k.private), Fingerprint: k.fingerprint}
	clear(k.private)
	return g
}

func generateRSA(bits int, comment string) (*rsaKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("sshkey: generating RSA key: %w", err)
	}
	defer zeroRSA(key)
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sshkey: encoding RSA public key: %w", err)
	}
	blob := pub.Marshal()
	line := pub.Type() + " " + base64.StdEncoding.EncodeToString(blob)
	if comment != "" {
		line += " " + comment
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	clear(der)
	sum := md5.Sum(blob)
	return &rsaKey{public: line, private: priv, fingerprint: colonHex(sum[:])}, nil
}

// zeroRSA overwrites the private numbers of key once it is encoded, so
// the key does not linger in freed memory (best effort: crypto/rsa keeps
// a copy of its own that cannot be reached).
func zeroRSA(key *rsa.PrivateKey) {
	nums := []*big.Int{key.D, key.Precomputed.Dp, key.Precomputed.Dq, key.Precomputed.Qinv}
	nums = append(nums, key.Primes...)
	for _, n := range nums {
		if n != nil {
			clear(n.Bits())
		}
	}
}

// x509Validity is the lifetime Nova asks openssl for with -days 3650.
const x509Validity = 3650 * 24 * time.Hour

var (
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSubjectAlt   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidSubjectKeyID = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidClientAuth   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	oidUPN          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// GenerateX509 makes the self-signed client certificate and PKCS#12 bundle
// Nova's generate_winrm_x509_cert gets from `openssl req -x509` and
// `openssl pkcs12 -export -password pass:`: subject CN=userID, a
// clientAuth extended key usage, a userID@localhost UPN subject
// alternative name, ten years of validity. PublicKey is the certificate
// PEM and PrivateKey the base64 PKCS#12 with an empty password.
func GenerateX509(userID string, bits int) (*Generated, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("sshkey: generating RSA key: %w", err)
	}
	tmpl, err := clientCertTemplate(userID, &key.PublicKey, time.Now())
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sshkey: creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sshkey: parsing new certificate: %w", err)
	}
	p12, err := pkcs12.Modern2023.WithRand(rand.Reader).Encode(key, cert, nil, "")
	if err != nil {
		return nil, fmt.Errorf("sshkey: encoding PKCS#12: %w", err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	fp, err := X509Fingerprint(certPEM)
	if err != nil {
		return nil, fmt.Errorf("sshkey: fingerprinting new certificate: %w", err)
	}
	return &Generated{
		PublicKey:   certPEM,
		PrivateKey:  base64.StdEncoding.EncodeToString(p12),
		Fingerprint: fp,
	}, nil
}

// clientCertTemplate builds the certificate openssl would make. The
// extensions go in ExtraExtensions, in openssl's order, because
// crypto/x509 cannot express an otherName SAN; the subject is built raw
// because openssl encodes CN as UTF8String where Go would pick
// PrintableString.
func clientCertTemplate(userID string, pub *rsa.PublicKey, now time.Time) (*x509.Certificate, error) {
	// openssl's serials are 159 random bits, so always positive and at
	// most 20 octets.
	limit := new(big.Int).Lsh(big.NewInt(1), 159)
	serial := new(big.Int)
	for serial.Sign() == 0 { // x509 refuses a zero serial
		s, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("sshkey: generating serial: %w", err)
		}
		serial = s
	}
	subject, err := asn1.Marshal(pkix.RDNSequence{{{
		Type:  oidCommonName,
		Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(userID)},
	}}})
	if err != nil {
		return nil, fmt.Errorf("sshkey: encoding subject: %w", err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidClientAuth})
	if err != nil {
		return nil, err
	}
	san, err := upnSAN(userID + "@localhost")
	if err != nil {
		return nil, err
	}
	// RFC 5280 method 1, as openssl's "subjectKeyIdentifier = hash".
	keyID := sha1.Sum(x509.MarshalPKCS1PublicKey(pub))
	ski, err := asn1.Marshal(keyID[:])
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Second)
	return &x509.Certificate{
		SerialNumber:       serial,
		RawSubject:         subject,
		NotBefore:          now,
		NotAfter:           now.Add(x509Validity),
		SignatureAlgorithm: x509.SHA256WithRSA,
		ExtraExtensions: []pkix.Extension{
			{Id: oidExtKeyUsage, Value: eku},
			{Id: oidSubjectAlt, Value: san},
			{Id: oidSubjectKeyID, Value: ski},
		},
	}, nil
}

// upnSAN encodes a subjectAltName holding one Microsoft UPN otherName,
// what openssl makes of "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:<upn>".
func upnSAN(upn string) ([]byte, error) {
	value, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(upn)})
	if err != nil {
		return nil, err
	}
	typeID, err := asn1.Marshal(oidUPN)
	if err != nil {
		return nil, err
	}
	explicit, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: value})
	if err != nil {
		return nil, err
	}
	otherName, err := asn1.Marshal(asn1.RawValue{
		Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true,
		Bytes: append(typeID, explicit...),
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: otherName})
}
