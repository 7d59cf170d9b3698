package sshkey

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

func TestX509FingerprintNova(t *testing.T) {
	body := strings.TrimSuffix(strings.TrimPrefix(novaCert, "-----BEGIN CERTIFICATE-----"), "-----END CERTIFICATE-----\n")
	tests := []struct{ name, in string }{
		{"as imported", novaCert},
		{"surrounding whitespace", "  \n" + novaCert + "\n\n"},
		{"surrounding text", "garbage" + novaCert + "garbage"},
		{"followed by another block", novaCert + "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"},
		{"first of two certificates", novaCert + strings.Replace(novaCert, "MIID", "MIIE", 1)},
		{"X509 CERTIFICATE label", "-----BEGIN X509 CERTIFICATE-----" + body + "-----END X509 CERTIFICATE-----"},
		{"CRLF line ends", strings.ReplaceAll(novaCert, "\n", "\r\n")},
		{"one line", "-----BEGIN CERTIFICATE-----" + strings.ReplaceAll(body, "\n", "") + "-----END CERTIFICATE-----"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := X509Fingerprint(tt.in)
			if err != nil || got != novaCertFingerprint {
				t.Errorf("X509Fingerprint = %q, %v; want %s", got, err, novaCertFingerprint)
			}
		})
	}
}

func TestX509FingerprintOpenSSL(t *testing.T) {
	needTool(t, "openssl")
	dir := t.TempDir()
	run(t, "openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-subj", "/CN=fingerprint test", "-days", "1", "-keyout", dir+"/key.pem", "-out", dir+"/cert.pem")
	out := run(t, "openssl", "x509", "-noout", "-fingerprint", "-sha1", "-in", dir+"/cert.pem")
	_, want, _ := strings.Cut(strings.TrimSpace(out), "=")
	cert, err := os.ReadFile(dir + "/cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	got, err := X509Fingerprint(string(cert))
	if err != nil || got != strings.ToLower(want) {
		t.Errorf("X509Fingerprint = %q, %v; openssl says %s", got, err, want)
	}
}

// TestX509FingerprintErrors pins the messages a real Nova gave for these
// inputs (after "Error message: ").
func TestX509FingerprintErrors(t *testing.T) {
	const (
		b       = "-----BEGIN CERTIFICATE-----\n"
		e       = "\n-----END CERTIFICATE-----\n"
		pemFail = "Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. "
		asn1    = "error parsing asn1 value: ParseError { kind: "
	)
	block, _ := pem.Decode([]byte(novaCert))
	extra := b + base64.StdEncoding.EncodeToString(append(block.Bytes, 0)) + e
	tests := []struct{ name, in, want string }{
		{"empty", "", pemFail + "MalformedFraming"},
		{"ssh key", novaRSA, pemFail + "MalformedFraming"},
		{"six dashes", "-" + novaCert, pemFail + "MalformedFraming"},
		{"no end dashes", b + "AAAA\n-----END CERTIFICATE", pemFail + "MalformedFraming"},
		{"mismatched tags", strings.Replace(novaCert, "END CERTIFICATE", "END FOO", 1), pemFail + `MismatchedTags("CERTIFICATE", "FOO")`},
		{"empty tag", "-----BEGIN -----\nAAAA\n-----END -----", pemFail + "MissingBeginTag"},
		{"bad base64 byte", strings.Replace(novaCert, "MIID", "MI!D", 1), pemFail + "InvalidData(InvalidByte(2, 33))"},
		{"PEM headers", b + "Proc-Type: 4,ENCRYPTED\n\nAAAA" + e, pemFail + "InvalidData(InvalidByte(4, 45))"},
		{"base64 length", b + "A" + e, pemFail + "InvalidData(InvalidLength)"},
		{"base64 last symbol", b + "AB==" + e, pemFail + "InvalidData(InvalidLastSymbol(1, 66))"},
		{"base64 early padding", b + "AA=A" + e, pemFail + "InvalidData(InvalidByte(2, 61))"},
		{"base64 padding after 1", b + "AAAAA===" + e, pemFail + "InvalidData(InvalidByte(5, 61))"},
		{"base64 padding mid chunk", b + "AAAAAAAA=AAAAAAAAA" + e, pemFail + "InvalidData(InvalidByte(8, 61))"},
		{"base64 bad last byte", b + "AAAAAAAAAAAA!" + e, pemFail + "InvalidData(InvalidByte(12, 33))"},
		{"public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "Valid PEM but no BEGIN CERTIFICATE/END CERTIFICATE delimiters. Are you sure this is a certificate?"},
		{"zeros", b + "AAAA" + e, asn1 + "UnexpectedTag { actual: Tag { value: 0, constructed: false, class: Universal } } }"},
		{"no data", b + e, asn1 + "ShortData }"},
		{"short content", b + "MAA=" + e, asn1 + `ShortData, location: ["RawCertificate::tbs_cert"] }`},
		{"tbs not a sequence", b + "MAMCAQA=" + e, asn1 + `UnexpectedTag { actual: Tag { value: 2, constructed: false, class: Universal } }, location: ["RawCertificate::tbs_cert"] }`},
		{"bad high tag", b + "/w==" + e, asn1 + "InvalidTag }"},
		{"high tag below 31", b + "HwE=" + e, asn1 + "InvalidTag }"},
		{"context tag", b + "nyAA" + e, asn1 + "UnexpectedTag { actual: Tag { value: 32, constructed: false, class: ContextSpecific } } }"},
		{"long length form", b + "MIEA" + e, asn1 + "InvalidLength }"},
		{"indefinite length", b + "MIAAAA==" + e, asn1 + "InvalidLength }"},
		{"length past end", b + "MIQBAAAA" + e, asn1 + "ShortData }"},
		{"trailing bytes", extra, asn1 + "ExtraData }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := X509Fingerprint(tt.in)
			if err == nil {
				t.Fatalf("accepted: %s", got)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
	if _, err := X509Fingerprint(novaCert + strings.Repeat(" ", MaxCertificateLength)); err == nil || len(err.Error()) > 100 {
		t.Errorf("over-long input: %v", err)
	}
}

// TestRustBase64Decode checks the happy path against encoding/base64,
// padded and not, with and without line breaks.
func TestRustBase64Decode(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 100; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.IntN(256))
		}
		for _, enc := range []string{base64.StdEncoding.EncodeToString(data), base64.RawStdEncoding.EncodeToString(data)} {
			got, err := rustBase64Decode(enc)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("rustBase64Decode(%q) = %x, %v; want %x", enc, got, err, data)
			}
		}
	}
}
