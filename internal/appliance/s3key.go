package appliance

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// BucketPrefix is the store name prefix of S3 buckets: bucket B keeps its
// objects in store "s3.B" (reserved like SharePrefix).
const BucketPrefix = "s3."

// ErrNoS3Key reports an access key that does not exist.
var ErrNoS3Key = errors.New("appliance: no such S3 access key")

// S3Key is one S3 access key of a user. SigV4 needs the secret itself to
// check a signature, so it is kept as is, in a file of mode 0600
// (docs/security.md).
type S3Key struct {
	Access  string    `json:"access_key"`
	Secret  string    `json:"secret_key,omitempty"` // only when created
	User    string    `json:"user"`
	Created time.Time `json:"created"`
}

// S3Keys are the appliance's S3 access keys, in one JSON file.
type S3Keys struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]S3Key
}

// OpenS3Keys loads the keys of file (none if it does not exist).
func OpenS3Keys(file string, now func() time.Time) (*S3Keys, error) {
	if now == nil {
		now = time.Now
	}
	k := &S3Keys{path: file, now: now, keys: map[string]S3Key{}}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("s3 keys: %w", err)
	}
	var list []S3Key
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("s3 keys %s: %w", file, err)
	}
	for _, key := range list {
		k.keys[key.Access] = key
	}
	return k, nil
}

// Create makes a key for user and returns it with its secret, which is
// shown only now.
func (k *S3Keys) Create(user string) (S3Key, error) {
	a := make([]byte, 10)
	s := make([]byte, 30)
	rand.Read(a)
	rand.Read(s)
	key := S3Key{Access: "BK" + strings.ToUpper(base32(a)), Secret: base64.RawURLEncoding.EncodeToString(s), User: user,
		Created: k.now().UTC()}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[key.Access] = key
	if err := k.save(); err != nil {
		delete(k.keys, key.Access)
		return S3Key{}, err
	}
	return key, nil
}

func base32(b []byte) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var out []byte
	for _, c := range b {
		out = append(out, alpha[c&31])
	}
	return string(out)
}

// S3Secret returns an access key with its secret, for SigV4.
func (k *S3Keys) S3Secret(access string) (S3Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[access]
	if !ok {
		return S3Key{}, ErrNoS3Key
	}
	return key, nil
}

// List returns the keys of user ("" for every user's), without secrets,
// by access key.
func (k *S3Keys) List(user string) []S3Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []S3Key
	for _, key := range k.keys {
		if user == "" || key.User == user {
			key.Secret = ""
			out = append(out, key)
		}
	}
	slices.SortFunc(out, func(a, b S3Key) int { return strings.Compare(a.Access, b.Access) })
	return out
}

// Get returns one key without its secret.
func (k *S3Keys) Get(access string) (S3Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[access]
	if !ok {
		return S3Key{}, fmt.Errorf("%w: %s", ErrNoS3Key, access)
	}
	key.Secret = ""
	return key, nil
}

// Delete removes a key.
func (k *S3Keys) Delete(access string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[access]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoS3Key, access)
	}
	delete(k.keys, access)
	if err := k.save(); err != nil {
		k.keys[access] = key
		return err
	}
	return nil
}

// save writes the file (mode 0600) through a synced temporary file.
func (k *S3Keys) save() error {
	list := make([]S3Key, 0, len(k.keys))
	for _, key := range k.keys {
		list = append(list, key)
	}
	slices.SortFunc(list, func(a, b S3Key) int { return strings.Compare(a.Access, b.Access) })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("s3 keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("s3 keys: %w", err)
	}
	tmp := k.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("s3 keys: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, k.path)
	}
	if err != nil {
		return fmt.Errorf("s3 keys: %w", err)
	}
	return nil
}
