package sshkey

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// novaGeneratedCert is the certificate a real Nova generated for user
// "alice"; GenerateX509 must produce the same shape.
const novaGeneratedCert = `-----BEGIN CERTIFICATE-----
MIIDEDCCAfigAwIBAgIUCOhKgobV7808B1nQmr2Al71PHOgwDQYJKoZIhvcNAQEL
BQAwEDEOMAwGA1UEAwwFYWxpY2UwHhcNMjYxMTIyMTU0MDM0WhcNMzYxMTE5MTU0
MDM0WjAQMQ4wDAYDVQQDDAVhbGljZTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC
AQoCggEBAMqFzsO+3ntCfxLNzGOYYNznAqAEn1s887GXkkPjaIP8Y+s0u9Xa4vwY
yHeH0CAMIxTLb89mRdqQOR3oyJJgEO/OoqTrDheUZ29ZjZ8kSBLPCzsgPqt3QV0V
9hQjkyWenl/bICkWri0W4mTfaJ/G2SvzjVTuox/xD2/oI9c3gjGDhq/LVJl8Mp5o
+Ltbacke07CDMA+nD64NrTioUF9M9u28JGnctHE7LGRrtwW3GRiuhToaFtcdstM3
JwY+NVEU46jd+f+VS9Xo49PNEGgQQ0zTIAe89o1bExPqcC0PnRViQqurc5KpbGZm
4BbDGVk6/KM+pRQFtBtxEhOkQFvNr+kCAwEAAaNiMGAwEwYDVR0lBAwwCgYIKwYB
BQUHAwIwKgYDVR0RBCMwIaAfBgorBgEEAYI3FAIDoBEMD2FsaWNlQGxvY2FsaG9z
dDAdBgNVHQ4EFgQUA90b88AQsrMzQ3F/QUI65xiRNMYwDQYJKoZIhvcNAQELBQAD
ggEBAK/5FvVCKRD/Du9lkz4kXFaDNHAsXkUZgCxXb4SGI0t2p/zvyvK9J3kbqpsE
X5g913swY/lgppgwFMx08/+CYvgmxZd/GR8whfPRYZ04ZGmY2v2IZvsiC/Ip/P3D
ty0mVDTscA242r+JpE+oKOyGewDhwBvBsfI+u66RpivK3yXRb3NA1pxo+TmZCFvU
lR0fSkHQ2r5sSbpewtd3zFmOFMA7vEo3wOgCGtuGPiXiuen2vReIkxo6PoNeOp1T
/DORskOXrHasSHZnkB4iVAb0zvStiObklxJjBpbU0DB0A10Cf+shnQTycgtL9OZo
zD0VLECHjT8YoYOlELfU4Vu/R7Y=
-----END CERTIFICATE-----
`

func TestGenerateRSA(t *testing.T) {
	for _, comment := range []string{NovaComment, ""} {
		g, err := GenerateRSA(2048, comment)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(g.PrivateKey, "-----BEGIN RSA PRIVATE KEY-----\n") || !strings.HasSuffix(g.PrivateKey, "-----END RSA PRIVATE KEY-----\n") {
			t.Errorf("private key framing: %q...", g.PrivateKey[:40])
		}
		for _, line := range strings.Split(strings.TrimSpace(g.PrivateKey), "\n") {
			if len(line) > 64 {
				t.Errorf("private key line of %d columns", len(line))
			}
		}
		block, rest := pem.Decode([]byte(g.PrivateKey))
		if block == nil || len(rest) != 0 {
			t.Fatal("private key is not one PEM block")
		}
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if key.N.BitLen() != 2048 {
			t.Errorf("modulus of %d bits", key.N.BitLen())
		}
		fields := strings.Split(g.PublicKey, " ")
		wantFields := 3
		if comment == "" {
			wantFields = 2
		}
		if len(fields) != wantFields || fields[0] != "ssh-rsa" || fields[len(fields)-1] == "" || strings.Contains(g.PublicKey, "\n") {
			t.Errorf("public key line %q", g.PublicKey)
		}
		k, err := ParseAuthorizedKey(g.PublicKey)
		if err != nil {
			t.Fatalf("public key does not parse: %v", err)
		}
		if k.Comment != comment || k.FingerprintMD5() != g.Fingerprint {
			t.Errorf("comment %q fingerprint %s, Generated says %s", k.Comment, k.FingerprintMD5(), g.Fingerprint)
		}
		if !bytes.Equal(k.Blob, sshBlob("ssh-rsa", big.NewInt(int64(key.E)), key.N)) {
			t.Error("public key does not match the private key")
		}
	}
}

// TestGenerateRSASSHKeygen: ssh-keygen derives the same public key from
// the private key and agrees on the fingerprint.
func TestGenerateRSASSHKeygen(t *testing.T) {
	needTool(t, "ssh-keygen")
	g, err := GenerateRSA(2048, NovaComment)
	if err != nil {
		t.Fatal(err)
	}
	priv := writeFile(t, "id_rsa", g.PrivateKey, 0o600)
	pub := strings.Fields(run(t, "ssh-keygen", "-y", "-f", priv))
	if len(pub) < 2 || pub[0]+" "+pub[1] != strings.TrimSuffix(g.PublicKey, " "+NovaComment) {
		t.Errorf("ssh-keygen -y says %v, want %s", pub, g.PublicKey)
	}
	md5, _ := keygenFingerprints(t, writeFile(t, "id_rsa.pub", g.PublicKey+"\n", 0o644))
	if md5 != g.Fingerprint {
		t.Errorf("fingerprint %s, ssh-keygen says %s", g.Fingerprint, md5)
	}
}

func TestGenerateX509(t *testing.T) {
	start := time.Now()
	g, err := GenerateX509("alice", 2048)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode([]byte(g.PublicKey))
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 || !strings.HasSuffix(g.PublicKey, "\n") {
		t.Fatalf("public key is not one certificate PEM: %q", g.PublicKey)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	novaBlock, _ := pem.Decode([]byte(novaGeneratedCert))
	nova, err := x509.ParseCertificate(novaBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}

	if cert.Subject.CommonName != "alice" || !bytes.Equal(cert.RawSubject, nova.RawSubject) || !bytes.Equal(cert.RawIssuer, nova.RawIssuer) {
		t.Errorf("subject %q issuer %q, Nova's %q %q", cert.Subject, cert.Issuer, nova.Subject, nova.Issuer)
	}
	if cert.Version != 3 || cert.SignatureAlgorithm != nova.SignatureAlgorithm || cert.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("version %d signature %v key %v", cert.Version, cert.SignatureAlgorithm, cert.PublicKeyAlgorithm)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if cert.SerialNumber.Sign() <= 0 || len(cert.SerialNumber.Bytes()) > 20 {
		t.Errorf("serial %x", cert.SerialNumber)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d != 3650*24*time.Hour || d != nova.NotAfter.Sub(nova.NotBefore) {
		t.Errorf("validity %v", d)
	}
	if cert.NotBefore.Before(start.Add(-time.Second)) || cert.NotBefore.After(time.Now()) {
		t.Errorf("NotBefore %v, generated at %v", cert.NotBefore, start)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("extended key usage %v", cert.ExtKeyUsage)
	}
	// Same extensions as Nova's, in the same order, none critical; the
	// EKU and SAN byte for byte, the key identifier computed the same way.
	if len(cert.Extensions) != len(nova.Extensions) {
		t.Fatalf("%d extensions, Nova has %d", len(cert.Extensions), len(nova.Extensions))
	}
	for i, ext := range cert.Extensions {
		n := nova.Extensions[i]
		if !ext.Id.Equal(n.Id) || ext.Critical || n.Critical {
			t.Errorf("extension %d: %v, Nova has %v", i, ext.Id, n.Id)
		}
		if !ext.Id.Equal(oidSubjectKeyID) && !bytes.Equal(ext.Value, n.Value) {
			t.Errorf("extension %v: %x, Nova has %x", ext.Id, ext.Value, n.Value)
		}
	}
	for _, c := range []*x509.Certificate{cert, nova} {
		keyID := sha1.Sum(x509.MarshalPKCS1PublicKey(c.PublicKey.(*rsa.PublicKey)))
		if !bytes.Equal(c.SubjectKeyId, keyID[:]) {
			t.Errorf("subject key identifier %x, want %x", c.SubjectKeyId, keyID)
		}
	}
	if upn := sanUPN(t, cert); upn != "alice@localhost" {
		t.Errorf("UPN %q", upn)
	}

	if fp, err := X509Fingerprint(g.PublicKey); err != nil || fp != g.Fingerprint {
		t.Errorf("fingerprint %s, X509Fingerprint says %s, %v", g.Fingerprint, fp, err)
	}

	if strings.ContainsAny(g.PrivateKey, "\n ") {
		t.Error("PKCS#12 base64 has line breaks")
	}
	p12, err := base64.StdEncoding.DecodeString(g.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	key, p12Cert, ca, err := pkcs12.DecodeChain(p12, "")
	if err != nil {
		t.Fatalf("DecodeChain: %v", err)
	}
	if !bytes.Equal(p12Cert.Raw, cert.Raw) || len(ca) != 0 {
		t.Error("PKCS#12 holds a different certificate")
	}
	if rk, ok := key.(*rsa.PrivateKey); !ok || !rk.PublicKey.Equal(cert.PublicKey) {
		t.Error("PKCS#12 key does not match the certificate")
	}

	if _, err := GenerateX509("alice", 512); err == nil {
		t.Error("accepted a 512-bit key")
	}
}

// sanUPN digs the UPN otherName out of the certificate's SAN extension.
func sanUPN(t *testing.T, cert *x509.Certificate) string {
	t.Helper()
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAlt) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil || len(names) != 1 || names[0].Tag != 0 {
			t.Fatalf("SAN %x: %v", ext.Value, err)
		}
		var other struct {
			TypeID asn1.ObjectIdentifier
			Value  string `asn1:"explicit,tag:0,utf8"`
		}
		if _, err := asn1.UnmarshalWithParams(names[0].FullBytes, &other, "tag:0"); err != nil || !other.TypeID.Equal(oidUPN) {
			t.Fatalf("otherName %x: %v", names[0].FullBytes, err)
		}
		return other.Value
	}
	t.Fatal("no SAN")
	return ""
}

// TestGenerateX509OpenSSL: openssl, which made Nova's bundles, reads ours.
func TestGenerateX509OpenSSL(t *testing.T) {
	needTool(t, "openssl")
	g, err := GenerateX509("bob", 2048)
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := base64.StdEncoding.DecodeString(g.PrivateKey)
	file := writeFile(t, "bundle.p12", string(p12), 0o600)
	out := run(t, "openssl", "pkcs12", "-in", file, "-passin", "pass:", "-nodes")
	if !strings.Contains(out, "-----BEGIN PRIVATE KEY-----") || !strings.Contains(out, strings.TrimSpace(g.PublicKey)) {
		t.Errorf("openssl pkcs12 output lacks the key or the certificate:\n%s", out)
	}
	text := run(t, "openssl", "x509", "-noout", "-text", "-in", writeFile(t, "cert.pem", g.PublicKey, 0o644))
	for _, want := range []string{"Subject: CN = bob", "TLS Web Client Authentication", "othername: UPN::bob@localhost", "X509v3 Subject Key Identifier"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
}
