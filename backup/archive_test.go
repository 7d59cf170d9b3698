package backup

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// testKDF is cheap so tests and fuzzing run fast; the salt is fixed.
var testKDF = KDFParams{KDF: "argon2id", Salt: bytes.Repeat([]byte{7}, 16), Time: 1, Memory: 8, Threads: 1}

// sample builds an archive with a member larger than two chunks.
func sample(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []byte("pass"), testKDF)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), ChunkSize/8)
	for _, m := range []struct {
		name string
		body []byte
	}{{"keyhaven.db", big}, {"kms-local/master-v1.key", []byte("secret key\n")}, {"credential.key", nil}} {
		if err := w.Add(m.name, int64(len(m.body)), bytes.NewReader(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(&Manifest{Engine: "sqlite", SchemaVersion: 6}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := sample(t)
	dir := t.TempDir()
	m, err := Extract(bytes.NewReader(data), []byte("pass"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Engine != "sqlite" || m.SchemaVersion != 6 || len(m.Members) != 3 {
		t.Fatalf("manifest %+v", m)
	}
	got, err := os.ReadFile(filepath.Join(dir, "kms-local", "master-v1.key"))
	if err != nil || string(got) != "secret key\n" {
		t.Fatalf("member: %q %v", got, err)
	}
	if bytes.Contains(data, []byte("secret key")) {
		t.Fatal("archive holds plaintext")
	}
}

func TestDamageRefused(t *testing.T) {
	data := sample(t)
	flip := func(i int) []byte {
		d := bytes.Clone(data)
		d[i] ^= 1
		return d
	}
	hdrEnd := len(magic) + 2 + (int(data[len(magic)])<<8 | int(data[len(magic)+1]))
	secondChunk := hdrEnd + 5 + ChunkSize + 16
	// swap the first two chunks: both full-size, so only the counter
	// in the nonce tells them apart.
	swapped := bytes.Clone(data)
	c := ChunkSize + 16 + 5
	copy(swapped[hdrEnd:], data[hdrEnd+c:hdrEnd+2*c])
	copy(swapped[hdrEnd+c:], data[hdrEnd:hdrEnd+c])
	cases := []struct {
		name string
		data []byte
		pass string
		want error
	}{
		{"wrong passphrase", data, "Pass", ErrPassphrase},
		{"flipped byte in the middle", flip(len(data) / 2), "pass", ErrDamaged},
		{"flipped byte in the second chunk", flip(secondChunk + 40), "pass", ErrDamaged},
		{"flipped last flag", flip(hdrEnd), "pass", ErrPassphrase},
		{"truncated", data[:len(data)-100], "pass", ErrDamaged},
		{"last chunk dropped", data[:secondChunk+c], "pass", ErrDamaged},
		{"appended", append(bytes.Clone(data), 0), "pass", ErrDamaged},
		{"reordered", swapped, "pass", ErrPassphrase},
		{"not an archive", []byte("hello"), "pass", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data), []byte(tc.pass), func(string, io.Reader) error { return nil })
			if err == nil {
				t.Fatal("damaged archive accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKCV(t *testing.T) {
	k := bytes.Repeat([]byte{1}, 32)
	if KCV(k) == KCV(bytes.Repeat([]byte{2}, 32)) || len(KCV(k)) != 16 {
		t.Fatal("KCV does not tell keys apart")
	}
}

// FuzzRead feeds arbitrary bytes to the archive reader: it must refuse
// them without panicking or allocating without bound.
func FuzzRead(f *testing.F) {
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Read(bytes.NewReader(data), []byte("pass"), func(_ string, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
	})
}

// BenchmarkWrite measures sealing a 16 MiB member (a database snapshot)
// after the key derivation, which BenchmarkDeriveKey measures.
func BenchmarkWrite(b *testing.B) {
	body := bytes.Repeat([]byte{0x5a}, 16<<20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		w, err := NewWriter(io.Discard, []byte("pass"), testKDF)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Add("keyhaven.db", int64(len(body)), bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(&Manifest{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeriveKey measures the argon2id derivation with DefaultKDF,
// paid once per backup and once per restore.
func BenchmarkDeriveKey(b *testing.B) {
	p := DefaultKDF
	p.Salt = testKDF.Salt
	for b.Loop() {
		if _, err := deriveAEAD([]byte("pass"), p); err != nil {
			b.Fatal(err)
		}
	}
}
