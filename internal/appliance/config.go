package appliance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// loadConfig reads config.json into s. A missing file is a new appliance; a
// file that does not parse is an error, never a silent reset.
func (s *State) loadConfig() error {
	path := filepath.Join(s.dir, configName)
	s.users = map[string]userRecord{}
	s.settings = Settings{Blackout: []Window{}, Housekeeping: DefaultHousekeeping()}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	var c config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&c)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("data after the configuration object")
	}
	if err != nil {
		return fmt.Errorf("appliance: %s does not parse (fix or restore it; it is never reset): %w", path, err)
	}
	if c.Version != configVersion {
		return fmt.Errorf("appliance: %s has format version %d, this backstop reads %d", path, c.Version, configVersion)
	}
	for _, u := range c.Users {
		if err := validateRecord(u); err != nil {
			return fmt.Errorf("appliance: %s: %w", path, err)
		}
		if _, dup := s.users[u.Name]; dup {
			return fmt.Errorf("appliance: %s: user %q appears twice", path, u.Name)
		}
		s.users[u.Name] = u
	}
	if err := c.Settings.Validate(); err != nil {
		return fmt.Errorf("appliance: %s: %w", path, err)
	}
	s.settings = c.Settings.clone()
	return nil
}

func validateRecord(u userRecord) error {
	if err := validateName(u.Name); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return fmt.Errorf("%w: user %q has role %q", ErrInvalid, u.Name, u.Role)
	}
	if _, err := parseHash(u.PasswordHash); err != nil {
		return fmt.Errorf("user %q password hash: %w", u.Name, err)
	}
	return nil
}

// commit applies change to a copy of the configuration, saves the copy, and
// only then makes it the current one, so a failed save changes nothing.
// s.mu must be held.
func (s *State) commit(change func(users map[string]userRecord, settings *Settings) error) error {
	if s.closed {
		return ErrClosed
	}
	users := maps.Clone(s.users)
	settings := s.settings.clone()
	if err := change(users, &settings); err != nil {
		return err
	}
	if err := s.save(users, settings); err != nil {
		return err
	}
	s.users, s.settings = users, settings
	return nil
}

// save writes config.json atomically: a temporary file in the same
// directory, fsync, rename over the old one, fsync the directory.
func (s *State) save(users map[string]userRecord, settings Settings) error {
	c := config{Version: configVersion, Users: make([]userRecord, 0, len(users)), Settings: settings}
	for _, name := range slices.Sorted(maps.Keys(users)) {
		c.Users = append(c.Users, users[name])
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("appliance: encode config: %w", err)
	}
	b = append(b, '\n')
	if err := writeFileAtomic(s.dir, configName, b); err != nil {
		return fmt.Errorf("appliance: save %s: %w", configName, err)
	}
	return nil
}

func writeFileAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
