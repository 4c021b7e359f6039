package alert

import (
	"encoding/pem"
	"mime"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

type mimeDecoder = mime.WordDecoder

// staticSettings is a fixed configuration.
type staticSettings struct{ s appliance.Settings }

func (f staticSettings) Settings() appliance.Settings { return f.s }

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// globMatch matches s against pattern, where "*" stands for any run of
// characters without a space.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1:] {
		i := strings.Index(s, " ")
		if p == "" {
			return i < 0
		}
		if i < 0 || !strings.HasPrefix(s[i:], p) {
			return false
		}
		s = s[i+len(p):]
	}
	return s == ""
}

func pid() int { return os.Getpid() }
