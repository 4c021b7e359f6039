package appliance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// cloudName is the file, in the appliance directory, of the cloud targets
// and of the one that holds the data directory's containers (mode 0600:
// it holds the targets' secret keys).
const cloudName = "cloud.json"

// CloudTarget is an S3-compatible bucket an admin configured as a place
// for containers (docs/cloud.md). SecretKey is never logged (LogValue) and
// never returned by CloudTargets.
type CloudTarget struct {
	Name      string `json:"name"`
	Endpoint  string `json:"endpoint"` // host[:port]
	Region    string `json:"region,omitempty"`
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix,omitempty"` // "" or ending in "/"
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key,omitempty"`
	// PathStyle addresses endpoint/bucket/key (most self-hosted stores).
	PathStyle bool `json:"path_style,omitempty"`
	// TLS uses https; CAPEM, when set, is the CA that signs the endpoint.
	TLS   bool   `json:"tls,omitempty"`
	CAPEM string `json:"ca_pem,omitempty"`
	// HasSecret says that a secret key is set (it is never shown).
	HasSecret bool `json:"has_secret,omitempty"`
}

var (
	cloudTargetName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	bucketName      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Validate checks the target's fields.
func (t CloudTarget) Validate() error {
	switch {
	case !cloudTargetName.MatchString(t.Name):
		return fmt.Errorf("%w: cloud target name %q: lower-case letters, digits, '.', '_', '-', at most 63", ErrInvalid, t.Name)
	case t.Endpoint == "" || bytes.ContainsAny([]byte(t.Endpoint), "/ "):
		return fmt.Errorf("%w: cloud target %s: the endpoint is host[:port], without a scheme or path", ErrInvalid, t.Name)
	case !bucketName.MatchString(t.Bucket):
		return fmt.Errorf("%w: cloud target %s: %q is not an S3 bucket name", ErrInvalid, t.Name, t.Bucket)
	case t.Prefix != "" && t.Prefix[len(t.Prefix)-1] != '/':
		return fmt.Errorf("%w: cloud target %s: the prefix must end in '/'", ErrInvalid, t.Name)
	case t.AccessKey == "" || t.SecretKey == "":
		return fmt.Errorf("%w: cloud target %s: an access key and a secret key are required", ErrInvalid, t.Name)
	case t.CAPEM != "" && !t.TLS:
		return fmt.Errorf("%w: cloud target %s: a CA without TLS", ErrInvalid, t.Name)
	}
	return nil
}

// Redacted is t without its secret key.
func (t CloudTarget) Redacted() CloudTarget {
	t.HasSecret = t.SecretKey != ""
	t.SecretKey = ""
	return t
}

// LogValue logs the target without its secret key.
func (t CloudTarget) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", t.Name), slog.String("endpoint", t.Endpoint),
		slog.String("bucket", t.Bucket), slog.String("prefix", t.Prefix), slog.String("access_key", t.AccessKey))
}

// String is the target without its secret key, for %v.
func (t CloudTarget) String() string {
	return fmt.Sprintf("%s (%s/%s/%s)", t.Name, t.Endpoint, t.Bucket, t.Prefix)
}

// CloudConfig is the content of cloud.json.
type CloudConfig struct {
	Targets []CloudTarget `json:"targets"`
	// Containers names the target that holds this data directory's
	// containers; "" keeps them in local volumes. It is set once, when the
	// data directory is made (backstop cloud init), and never changes.
	Containers string `json:"containers,omitempty"`
}

// Target returns the target named name, with its secret key.
func (c CloudConfig) Target(name string) (CloudTarget, error) {
	for _, t := range c.Targets {
		if t.Name == name {
			return t, nil
		}
	}
	return CloudTarget{}, fmt.Errorf("%w: cloud target %q", ErrNotFound, name)
}

// ReadCloud reads the cloud configuration of the appliance directory dir
// (DATA/appliance) without taking its lock: the engine needs to know where
// its containers are before it opens, and the State opens after it. A
// missing file is no target and local containers.
func ReadCloud(dir string) (CloudConfig, error) {
	var c CloudConfig
	b, err := os.ReadFile(filepath.Join(dir, cloudName))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("appliance: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("appliance: %s does not parse (fix or restore it; it is never reset): %w", filepath.Join(dir, cloudName), err)
	}
	return c, nil
}

// WriteCloud writes c as the cloud configuration of dir (atomically,
// mode 0600), creating dir (mode 0700) if needed. The State's methods
// below are the way while the appliance runs; WriteCloud is for a data
// directory being made.
func WriteCloud(dir string, c CloudConfig) error {
	for _, t := range c.Targets {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	if c.Containers != "" {
		if _, err := c.Target(c.Containers); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	if err := writeFileAtomic(dir, cloudName, append(b, '\n')); err != nil {
		return fmt.Errorf("appliance: save %s: %w", cloudName, err)
	}
	return nil
}

// CloudTargets returns the configured targets without their secret keys,
// and the one holding the containers ("" for local volumes).
func (s *State) CloudTargets() ([]CloudTarget, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := ReadCloud(s.dir)
	if err != nil {
		return nil, "", err
	}
	out := make([]CloudTarget, 0, len(c.Targets))
	for _, t := range c.Targets {
		out = append(out, t.Redacted())
	}
	return out, c.Containers, nil
}

// PutCloudTarget adds t or replaces the target of its name; an empty
// SecretKey on a replace keeps the one set. The target holding the
// containers may change its endpoint and keys but not its bucket or prefix.
func (s *State) PutCloudTarget(t CloudTarget) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := ReadCloud(s.dir)
	if err != nil {
		return err
	}
	t.HasSecret = false
	i := slices.IndexFunc(c.Targets, func(o CloudTarget) bool { return o.Name == t.Name })
	if i >= 0 {
		old := c.Targets[i]
		if t.SecretKey == "" {
			t.SecretKey = old.SecretKey
		}
		if c.Containers == t.Name && (t.Bucket != old.Bucket || t.Prefix != old.Prefix) {
			return fmt.Errorf("%w: cloud target %s holds this appliance's containers: its bucket and prefix cannot change", ErrInvalid, t.Name)
		}
		c.Targets[i] = t
	} else {
		c.Targets = append(c.Targets, t)
	}
	if err := WriteCloud(s.dir, c); err != nil {
		return err
	}
	s.log.Info("cloud target saved", "target", t)
	return nil
}

// DeleteCloudTarget removes the target name; the one holding the
// containers cannot be removed.
func (s *State) DeleteCloudTarget(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := ReadCloud(s.dir)
	if err != nil {
		return err
	}
	if _, err := c.Target(name); err != nil {
		return err
	}
	if c.Containers == name {
		return fmt.Errorf("%w: cloud target %s holds this appliance's containers", ErrInvalid, name)
	}
	c.Targets = slices.DeleteFunc(c.Targets, func(t CloudTarget) bool { return t.Name == name })
	return WriteCloud(s.dir, c)
}

// ComponentCloud is the health part of the cloud target holding the
// containers.
const ComponentCloud = "cloud"

// CloudStatus is what the health needs of a cloud tier.
type CloudStatus struct {
	Target string
	// Degraded: the object store's last request failed (LastError).
	Degraded  bool
	LastError string
	// Pending containers (PendingBytes) are staged and not yet uploaded;
	// StagingBytes is the staging area's bound.
	Pending                    int
	PendingBytes, StagingBytes int64
}

// CloudHealth is the cloud part's state: degraded while the object store
// fails (uploads retry; reads of data only in the bucket fail), warning
// when the staging area is over 80% full (writers are about to be slowed).
func CloudHealth(s CloudStatus) (HealthState, string) {
	waiting := fmt.Sprintf("%d containers (%d bytes) waiting for upload to %s", s.Pending, s.PendingBytes, s.Target)
	switch {
	case s.Degraded:
		return Degraded, fmt.Sprintf("the object store fails: %s; %s", s.LastError, waiting)
	case s.StagingBytes > 0 && float64(s.PendingBytes) > 0.8*float64(s.StagingBytes):
		return Warning, waiting + fmt.Sprintf(", the staging area (%d bytes) is over 80%% full", s.StagingBytes)
	}
	return OK, waiting
}
