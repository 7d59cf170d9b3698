package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxMember bounds one member's size on read (a database may be large;
// a manifest is not).
const (
	maxMember   = 1 << 40
	maxManifest = 16 << 20
)

// Writer writes an archive: members first, the manifest last.
type Writer struct {
	s       *sealer
	tw      *tar.Writer
	members map[string]string
}

// NewWriter starts an archive on w encrypted under pass with the
// parameters p (DefaultKDF normally; a fresh salt is drawn when p.Salt is
// nil).
func NewWriter(w io.Writer, pass []byte, p KDFParams) (*Writer, error) {
	s, err := newSealer(w, pass, p)
	if err != nil {
		return nil, err
	}
	return &Writer{s: s, tw: tar.NewWriter(s), members: map[string]string{}}, nil
}

// Add writes member name of size bytes read from r.
func (w *Writer) Add(name string, size int64, r io.Reader) error {
	if err := checkName(name); err != nil || name == ManifestName {
		return fmt.Errorf("backup: bad member name %q", name)
	}
	if _, dup := w.members[name]; dup {
		return fmt.Errorf("backup: member %q twice", name)
	}
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(w.tw, io.TeeReader(r, h))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("backup: member %q changed size while read", name)
	}
	w.members[name] = hex.EncodeToString(h.Sum(nil))
	return nil
}

// AddFile adds the file at p as member name.
func (w *Writer) AddFile(name, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return w.Add(name, fi.Size(), f)
}

// Close records the checksums in m, writes it as the last member and
// seals the last chunk. The underlying writer is not closed.
func (w *Writer) Close(m *Manifest) error {
	m.Members = w.members
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := w.tw.Write(body); err != nil {
		return err
	}
	if err := w.tw.Close(); err != nil {
		return err
	}
	return w.s.Close()
}

// checkName accepts a relative, clean, slash-separated path.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == "." ||
		strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return errors.New("bad name")
	}
	return nil
}

// Read decrypts the archive on r, hands every member to f (which must
// consume or discard it), checks each member's SHA-256 against the
// manifest and returns the manifest. f's effects must be undone by the
// caller when Read fails: the checksums are only known at the end.
func Read(r io.Reader, pass []byte, f func(name string, r io.Reader) error) (*Manifest, error) {
	o, err := newOpener(r, pass)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(o)
	sums := map[string]string{}
	var m *Manifest
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, damaged(err)
		}
		if m != nil {
			return nil, errors.New("backup: a member follows the manifest")
		}
		if hdr.Typeflag != tar.TypeReg || checkName(hdr.Name) != nil || hdr.Size < 0 || hdr.Size > maxMember {
			return nil, fmt.Errorf("backup: bad member %q", hdr.Name)
		}
		if hdr.Name == ManifestName {
			if hdr.Size > maxManifest {
				return nil, errors.New("backup: manifest too large")
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				return nil, damaged(err)
			}
			m = new(Manifest)
			if err := json.Unmarshal(body, m); err != nil {
				return nil, fmt.Errorf("backup: manifest is not valid: %v", err)
			}
			continue
		}
		if _, dup := sums[hdr.Name]; dup {
			return nil, fmt.Errorf("backup: member %q twice", hdr.Name)
		}
		h := sha256.New()
		if err := f(hdr.Name, io.TeeReader(tr, h)); err != nil {
			if errors.Is(err, ErrPassphrase) || errors.Is(err, ErrDamaged) {
				return nil, err
			}
			return nil, fmt.Errorf("backup: member %q: %w", hdr.Name, err)
		}
		if _, err := io.Copy(h, tr); err != nil {
			return nil, damaged(err)
		}
		sums[hdr.Name] = hex.EncodeToString(h.Sum(nil))
	}
	if _, err := io.Copy(io.Discard, o); err != nil {
		return nil, damaged(err)
	}
	if m == nil {
		return nil, errors.New("backup: the archive has no manifest")
	}
	if len(m.Members) != len(sums) {
		return nil, errors.New("backup: the manifest and the members disagree")
	}
	for name, sum := range sums {
		if m.Members[name] != sum {
			return nil, fmt.Errorf("backup: checksum of member %q does not match the manifest", name)
		}
	}
	return m, nil
}

// damaged keeps ErrPassphrase and ErrDamaged as they are and reports any
// other read failure inside the plaintext as damage.
func damaged(err error) error {
	if errors.Is(err, ErrPassphrase) || errors.Is(err, ErrDamaged) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrDamaged, err)
}

// Extract reads the archive into dir (which must exist), creating each
// member's file with mode 0600 and its directories with 0700. On error
// the caller removes dir.
func Extract(r io.Reader, pass []byte, dir string) (*Manifest, error) {
	return Read(r, pass, func(name string, r io.Reader) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
