package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the client SDK free of server code: backup
// applications link this package, and must not get badger, the engine or
// the appliance with it.
func TestDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const mod = "github.com/backstop-appliance/backstop/"
	forbidden := func(p string) bool {
		switch {
		case p == mod+"chunkstore",
			strings.HasPrefix(p, mod+"chunkstore/index"),
			strings.HasPrefix(p, mod+"chunkstore/volume"),
			strings.HasPrefix(p, mod+"internal/"),
			p == mod+"catalyst",
			strings.HasPrefix(p, "github.com/dgraph-io/badger"),
			strings.HasPrefix(p, "github.com/gin-gonic/"),
			strings.HasPrefix(p, "github.com/prometheus/"):
			return true
		}
		return false
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages; expected the client's whole closure", len(deps))
	}
	for _, p := range deps {
		if forbidden(p) {
			t.Errorf("catalyst/client depends on %s, which is server code (see doc.go)", p)
		}
	}
}
