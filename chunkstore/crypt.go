package chunkstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
	"github.com/backstop-appliance/backstop/dedup"
)

// Errors of encryption at rest.
var (
	// ErrKeyMissing: an encrypted domain's key file is not where the
	// domain says; its stores can be neither read nor written until
	// ImportDomainKey puts it back.
	ErrKeyMissing = errors.New("chunkstore: domain encryption key missing")
	// ErrKeyWrong: the key file holds another key than the domain's.
	ErrKeyWrong = errors.New("chunkstore: domain encryption key does not match")
)

// DomainOptions are what a domain is created with.
type DomainOptions struct {
	// Encrypt seals the domain's containers (AES-256-GCM, a random data
	// key per container wrapped by the domain's encryption key). Default
	// off. It cannot be changed after creation.
	Encrypt bool
	// KeyFile is where the encryption key is written (mode 0600): an
	// absolute path, outside the data directory when the disk holding it
	// must not hold the key. Default: keys/domain-ID.key in the data
	// directory.
	KeyFile string
}

// keyCacheSize bounds the unwrapped data keys kept: each saves a pread
// and an unwrap on the next read of its container.
const keyCacheSize = 8192

// keyring holds the encryption keys of the open domains and the data keys
// of the containers read lately. It has its own lock so that the read
// path takes no engine lock for it.
type keyring struct {
	mu   sync.RWMutex
	keks map[uint32]*container.KEK
	errs map[uint32]error // encrypted domains whose key is unusable
	dks  map[uint64]*container.DataKey
}

func newKeyring() *keyring {
	return &keyring{keks: map[uint32]*container.KEK{}, errs: map[uint32]error{}, dks: map[uint64]*container.DataKey{}}
}

// keyPath is where domain d's key file is.
func (e *Engine) keyPath(d dedup.Domain) string {
	if d.Encryption != nil && d.Encryption.KeyFile != "" {
		return d.Encryption.KeyFile
	}
	return filepath.Join(e.dir, "keys", fmt.Sprintf("domain-%d.key", d.ID))
}

// loadKey reads the key of encrypted domain d; an unusable key is kept as
// the domain's error (its stores fail with it) and logged, and the rest
// of the data directory opens.
func (e *Engine) loadKey(d dedup.Domain) {
	if d.Encryption == nil {
		return
	}
	kek, err := readKeyFile(e.keyPath(d), d)
	e.keys.mu.Lock()
	defer e.keys.mu.Unlock()
	if err != nil {
		e.keys.errs[d.ID] = err
		delete(e.keys.keks, d.ID)
		e.log.Error("encrypted domain unavailable", "domain", d.Name, "err", err)
		return
	}
	delete(e.keys.errs, d.ID)
	e.keys.keks[d.ID] = kek
}

func readKeyFile(path string, d dedup.Domain) (*container.KEK, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: domain %s needs its key in %s (restore it with backstop domain import-key)", ErrKeyMissing, d.Name, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: domain %s: %v", ErrKeyMissing, d.Name, err)
	}
	key, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: domain %s: %s: %v", ErrKeyWrong, d.Name, path, err)
	}
	if id := container.KeyID(key); id != d.Encryption.KeyID {
		return nil, fmt.Errorf("%w: domain %s: %s holds key %s, the domain's is %s", ErrKeyWrong, d.Name, path, id, d.Encryption.KeyID)
	}
	return container.NewKEK(key)
}

// parseKey reads a key file: the key's 32 bytes in hex, one line.
func parseKey(b []byte) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != container.KeySize {
		return nil, fmt.Errorf("not a key (want %d hex digits)", 2*container.KeySize)
	}
	return key, nil
}

// FormatKey is a key file's content for key.
func FormatKey(key []byte) []byte { return []byte(hex.EncodeToString(key) + "\n") }

// ParseKey reads what FormatKey wrote.
func ParseKey(b []byte) ([]byte, error) {
	key, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return key, nil
}

// writeKeyFile writes key to path, mode 0600, fsynced, refusing to
// replace another file.
func writeKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("chunkstore: key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("chunkstore: key file: %w", err)
	}
	_, err = f.Write(FormatKey(key))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("chunkstore: key file %s: %w", path, err)
	}
	return nil
}

// CreateDomainWith makes a new dedup domain with a fresh random key and,
// when o.Encrypt, a fresh encryption key written to its key file first.
func (e *Engine) CreateDomainWith(name string, params chunker.Params, o DomainOptions) (dedup.Domain, error) {
	if !o.Encrypt {
		if o.KeyFile != "" {
			return dedup.Domain{}, fmt.Errorf("%w: a key file without encryption", ErrInvalid)
		}
		return e.createDomain(name, params, nil)
	}
	if o.KeyFile != "" && !filepath.IsAbs(o.KeyFile) {
		return dedup.Domain{}, fmt.Errorf("%w: key file %q is not an absolute path", ErrInvalid, o.KeyFile)
	}
	key := make([]byte, container.KeySize)
	_, _ = rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	enc := &dedup.Encryption{KeyFile: filepath.Clean(o.KeyFile), KeyID: container.KeyID(key)}
	if o.KeyFile == "" {
		enc.KeyFile = ""
	}
	kek, err := container.NewKEK(key)
	if err != nil {
		return dedup.Domain{}, fmt.Errorf("chunkstore: %w", err)
	}
	return e.createDomain(name, params, &sealing{enc: enc, kek: kek, key: key})
}

// sealing is what an encrypted domain is created with.
type sealing struct {
	enc *dedup.Encryption
	kek *container.KEK
	key []byte
}

// ExportDomainKey returns the encryption key of domain name, for disaster
// recovery: with the data directory (or a copy of its volumes and index)
// it is all that is needed to read the domain back. Keep it secret.
func (e *Engine) ExportDomainKey(name string) ([]byte, error) {
	d, err := e.Domain(name)
	if err != nil {
		return nil, err
	}
	if d.Encryption == nil {
		return nil, fmt.Errorf("%w: domain %s is not encrypted", ErrInvalid, name)
	}
	b, err := os.ReadFile(e.keyPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: domain %s: %s", ErrKeyMissing, name, e.keyPath(d))
	}
	if err != nil {
		return nil, fmt.Errorf("chunkstore: domain %s key: %w", name, err)
	}
	return parseKey(b)
}

// ImportDomainKey puts back the key of encrypted domain name (one
// ExportDomainKey gave) in the domain's key file and makes the domain
// usable again. A key that is not the domain's is ErrKeyWrong.
func (e *Engine) ImportDomainKey(name string, key []byte) error {
	d, err := e.Domain(name)
	if err != nil {
		return err
	}
	if d.Encryption == nil {
		return fmt.Errorf("%w: domain %s is not encrypted", ErrInvalid, name)
	}
	if id := container.KeyID(key); id != d.Encryption.KeyID {
		return fmt.Errorf("%w: domain %s: the key given is %s, the domain's is %s", ErrKeyWrong, name, id, d.Encryption.KeyID)
	}
	path := e.keyPath(d)
	if _, err := os.Stat(path); err == nil {
		if _, err := readKeyFile(path, d); err == nil {
			e.loadKey(d)
			return nil // already there
		}
		return fmt.Errorf("%w: domain %s: %s holds another key; move it away first", ErrKeyWrong, name, path)
	}
	if err := writeKeyFile(path, key); err != nil {
		return err
	}
	e.loadKey(d)
	return e.DomainKeyError(name)
}

// DomainKeyError is nil when domain name is plain or its key is loaded,
// and otherwise says why its stores cannot be used (ErrKeyMissing or
// ErrKeyWrong): what health reports for it.
func (e *Engine) DomainKeyError(name string) error {
	e.mu.RLock()
	d, err := e.domainByName(name)
	e.mu.RUnlock()
	if err != nil {
		return err
	}
	return e.keys.err(d.ID)
}

func (k *keyring) err(domain uint32) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.errs[domain]
}

// kek is the sealing key of domain (nil for a plain domain) or its error.
func (k *keyring) kek(domain uint32) (*container.KEK, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.errs[domain]; err != nil {
		return nil, err
	}
	return k.keks[domain], nil
}

// newBuilder returns a container builder for domain: sealing when the
// domain is encrypted.
func (e *Engine) newBuilder(domain uint32) (*container.Builder, error) {
	kek, err := e.keys.kek(domain)
	if err != nil {
		return nil, err
	}
	return container.NewSealingBuilder(e.opts.ContainerSize, kek), nil
}

// openRecord opens in place record en read from container rec and
// returns its stored bytes: for a plain domain, sealed itself.
func (e *Engine) openRecord(rec index.ContainerRec, en container.Entry, sealed []byte) ([]byte, error) {
	kek, err := e.keys.kek(rec.Domain)
	if err != nil || kek == nil {
		return sealed, err
	}
	dk, err := e.dataKey(rec, kek)
	if err != nil {
		return nil, err
	}
	out, err := dk.OpenRecord(sealed, en.Offset, en.FP, en.Raw, en.Codec)
	if err != nil {
		return nil, e.translate(err)
	}
	return out, nil
}

// dataKey returns the data key of sealed container rec, reading its key
// block at the first use.
func (e *Engine) dataKey(rec index.ContainerRec, kek *container.KEK) (*container.DataKey, error) {
	k := e.keys
	k.mu.RLock()
	dk := k.dks[rec.ID]
	k.mu.RUnlock()
	if dk != nil {
		return dk, nil
	}
	var block [container.KeyBlockSize]byte
	if err := e.vols.ReadAt(rec.Volume, block[:], rec.Offset+container.HeaderSize); err != nil {
		return nil, fmt.Errorf("%w: key block of container %d: %v", ErrCorrupt, rec.ID, err)
	}
	dk, err := kek.Unwrap(block[:], rec.ID, rec.Domain)
	if err != nil {
		return nil, e.translate(err)
	}
	k.mu.Lock()
	if len(k.dks) >= keyCacheSize {
		for id := range k.dks { // drop an arbitrary one
			delete(k.dks, id)
			break
		}
	}
	k.dks[rec.ID] = dk
	k.mu.Unlock()
	return dk, nil
}

// forgetKey drops the cached data key of a container housekeeping freed.
func (k *keyring) forget(id uint64) {
	k.mu.Lock()
	delete(k.dks, id)
	k.mu.Unlock()
}

// entryOf is the container entry a chunk location describes.
func entryOf(fp dedup.Fingerprint, loc index.Loc) container.Entry {
	return container.Entry{FP: fp, Offset: loc.Offset, Stored: loc.Stored, Raw: loc.Raw, Codec: loc.Codec}
}
