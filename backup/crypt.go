package backup

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// magic starts every archive; the digit is the format version.
const magic = "KEYHAVEN-BACKUP-1\n"

// ChunkSize is the most plaintext one encrypted chunk holds.
const ChunkSize = 64 << 10

// maxHeader bounds the header a reader accepts before deriving a key.
const maxHeader = 4 << 10

// KDFParams are the argon2id parameters stored in the header.
type KDFParams struct {
	KDF     string `json:"kdf"`
	Salt    []byte `json:"salt"`
	Time    uint32 `json:"time"`
	Memory  uint32 `json:"memory_kib"`
	Threads uint8  `json:"threads"`
}

// DefaultKDF is what Writer uses: argon2id with 64 MiB, 3 passes.
var DefaultKDF = KDFParams{KDF: "argon2id", Time: 3, Memory: 64 << 10, Threads: 4}

// ErrPassphrase means the first chunk did not open: the passphrase is
// wrong or the header was altered.
var ErrPassphrase = errors.New("backup: wrong passphrase, or the archive header is damaged")

// ErrDamaged means a chunk after the first did not open, or the chunk
// sequence was cut short or extended.
var ErrDamaged = errors.New("backup: the archive is damaged or truncated")

// check refuses parameters a hostile header could use to exhaust memory
// or time: at most 256 MiB and 10 passes (DefaultKDF is 64 MiB, 3).
func (p KDFParams) check() error {
	switch {
	case p.KDF != "argon2id":
		return fmt.Errorf("backup: unknown key derivation %q", p.KDF)
	case len(p.Salt) < 16 || len(p.Salt) > 64:
		return errors.New("backup: header salt has a bad length")
	case p.Time < 1 || p.Time > 10, p.Memory < 8 || p.Memory > 256<<10, p.Threads < 1:
		return errors.New("backup: header key derivation parameters out of range")
	}
	return nil
}

func deriveAEAD(pass []byte, p KDFParams) (cipher.AEAD, error) {
	key := argon2.IDKey(pass, p.Salt, p.Time, p.Memory, p.Threads, 32)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// chunkAD is the associated data of chunk n.
func chunkAD(header []byte, n uint64, last bool) []byte {
	ad := make([]byte, 0, len(header)+9)
	ad = append(ad, header...)
	ad = binary.BigEndian.AppendUint64(ad, n)
	if last {
		return append(ad, 1)
	}
	return append(ad, 0)
}

func nonce(n uint64) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b[4:], n)
	return b
}

// sealer is an io.WriteCloser encrypting what it is given in chunks.
type sealer struct {
	w      io.Writer
	aead   cipher.AEAD
	header []byte
	buf    []byte
	n      uint64
}

func newSealer(w io.Writer, pass []byte, p KDFParams) (*sealer, error) {
	if len(pass) == 0 {
		return nil, errors.New("backup: empty passphrase")
	}
	if p.Salt == nil {
		p.Salt = make([]byte, 16)
		if _, err := rand.Read(p.Salt); err != nil {
			return nil, err
		}
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	hj, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	header := append([]byte(magic), binary.BigEndian.AppendUint16(nil, uint16(len(hj)))...)
	header = append(header, hj...)
	aead, err := deriveAEAD(pass, p)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(header); err != nil {
		return nil, err
	}
	return &sealer{w: w, aead: aead, header: header, buf: make([]byte, 0, ChunkSize)}, nil
}

func (s *sealer) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if len(s.buf) == ChunkSize {
			if err := s.flush(false); err != nil {
				return 0, err
			}
		}
		k := copy(s.buf[len(s.buf):ChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
	}
	return total, nil
}

// flush writes the buffered plaintext as chunk s.n: a flag byte, the
// ciphertext length, the ciphertext.
func (s *sealer) flush(last bool) error {
	ct := s.aead.Seal(nil, nonce(s.n), s.buf, chunkAD(s.header, s.n, last))
	var pre [5]byte
	if last {
		pre[0] = 1
	}
	binary.BigEndian.PutUint32(pre[1:], uint32(len(ct)))
	if _, err := s.w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(ct); err != nil {
		return err
	}
	s.n++
	s.buf = s.buf[:0]
	return nil
}

// Close writes the last chunk (possibly empty).
func (s *sealer) Close() error { return s.flush(true) }

// opener is an io.Reader decrypting chunks and refusing anything after
// the last one or a stream that ends before it.
type opener struct {
	r      *bufio.Reader
	aead   cipher.AEAD
	header []byte
	plain  []byte
	n      uint64
	done   bool
}

func newOpener(r io.Reader, pass []byte) (*opener, error) {
	br := bufio.NewReader(r)
	head := make([]byte, len(magic)+2)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(magic)]) != magic {
		return nil, errors.New("backup: not a keyhaven backup archive (bad magic)")
	}
	hl := int(binary.BigEndian.Uint16(head[len(magic):]))
	if hl > maxHeader {
		return nil, errors.New("backup: archive header too long")
	}
	hj := make([]byte, hl)
	if _, err := io.ReadFull(br, hj); err != nil {
		return nil, ErrDamaged
	}
	var p KDFParams
	if err := json.Unmarshal(hj, &p); err != nil {
		return nil, errors.New("backup: archive header is not valid")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	aead, err := deriveAEAD(pass, p)
	if err != nil {
		return nil, err
	}
	return &opener{r: br, aead: aead, header: append(head, hj...)}, nil
}

func (o *opener) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.done {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			return 0, err
		}
	}
	k := copy(p, o.plain)
	o.plain = o.plain[k:]
	return k, nil
}

func (o *opener) next() error {
	var pre [5]byte
	if _, err := io.ReadFull(o.r, pre[:]); err != nil {
		return ErrDamaged
	}
	last := pre[0] == 1
	l := binary.BigEndian.Uint32(pre[1:])
	if pre[0] > 1 || l > ChunkSize+uint32(o.aead.Overhead()) || l < uint32(o.aead.Overhead()) {
		return o.fail()
	}
	ct := make([]byte, l)
	if _, err := io.ReadFull(o.r, ct); err != nil {
		return ErrDamaged
	}
	pt, err := o.aead.Open(ct[:0], nonce(o.n), ct, chunkAD(o.header, o.n, last))
	if err != nil {
		return o.fail()
	}
	o.n++
	o.plain = pt
	if last {
		if _, err := o.r.ReadByte(); err != io.EOF {
			return ErrDamaged
		}
		o.done = true
	}
	return nil
}

func (o *opener) fail() error {
	if o.n == 0 {
		return ErrPassphrase
	}
	return ErrDamaged
}
