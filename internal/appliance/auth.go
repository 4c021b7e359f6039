package appliance

// hash returns the PHC string of a new hash of password with the configured
// parameters, waiting for a free hashing slot.
func (s *State) hash(password string) string {
	s.hashSem <- struct{}{}
	defer func() { <-s.hashSem }()
	s.hashes.Add(1)
	return newHash(s.opts.Hash, password).String()
}

// check reports whether password matches h, waiting for a free hashing slot.
func (s *State) check(h phcHash, password string) bool {
	s.hashSem <- struct{}{}
	defer func() { <-s.hashSem }()
	s.hashes.Add(1)
	return h.matches(password)
}

// Authenticate returns the user called name if password is theirs. It
// returns ErrBadCredentials for an unknown user or a wrong password alike,
// and takes about as long for both: an unknown user's password is checked
// against a dummy hash of the same cost. A user whose hash was made with
// other parameters than the configured ones gets a new hash on success.
func (s *State) Authenticate(name, password string) (User, error) {
	s.mu.Lock()
	rec, known := s.users[name]
	s.mu.Unlock()

	h := dummyHash(s.opts.Hash)
	if known {
		var err error
		if h, err = parseHash(rec.PasswordHash); err != nil {
			// loadConfig checks every hash, so this is memory damage or a bug.
			s.log.Error("appliance: unreadable password hash", "user", name, "err", err)
			h, known = dummyHash(s.opts.Hash), false
		}
	}
	ok := s.check(h, password)
	if !known || !ok || len(password) > MaxPasswordLen {
		return User{}, ErrBadCredentials
	}
	// The lock was not held while hashing: the user may have been deleted
	// or given another password meanwhile.
	s.mu.Lock()
	cur, still := s.users[name]
	s.mu.Unlock()
	if !still || cur.PasswordHash != rec.PasswordHash {
		return User{}, ErrBadCredentials
	}
	rec = cur
	if h.params != s.opts.Hash {
		s.rehash(rec, password)
	}
	return rec.User, nil
}

// rehash replaces rec's password hash by one with the configured parameters,
// unless the password changed meanwhile. A failure is only logged: the old
// hash still works.
func (s *State) rehash(rec userRecord, password string) {
	hash := s.hash(password)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.commit(func(users map[string]userRecord, _ *Settings) error {
		cur, ok := users[rec.Name]
		if !ok || cur.PasswordHash != rec.PasswordHash {
			return nil
		}
		cur.PasswordHash = hash
		users[rec.Name] = cur
		return nil
	})
	if err != nil {
		s.log.Warn("appliance: password hash upgrade", "user", rec.Name, "err", err)
	}
}
