package main

// Damage is not forgotten (issue 14): a verify that finds a share file
// damaged is still reported after a restart, in GET /api/v1/health, named
// by the share and the file's path.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// flipInVolumes overwrites probe where a volume file of dir holds it.
func flipInVolumes(t *testing.T, dir string, probe []byte) {
	t.Helper()
	vols, _ := filepath.Glob(filepath.Join(dir, "volumes", "*.vol"))
	for _, v := range vols {
		b, err := os.ReadFile(v)
		if err != nil {
			t.Fatal(err)
		}
		if at := bytes.Index(b, probe); at >= 0 {
			f, err := os.OpenFile(v, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(bytes.Repeat([]byte{0x5a}, len(probe)), int64(at)); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("the probe is in none of %v", vols)
}

// healthOfAPI is GET /api/v1/health as user sees it.
func (a *sideDoorAppliance) healthOfAPI(t *testing.T, user string) appliance.HealthReport {
	t.Helper()
	code, body := a.do(t, user, "GET", "/api/v1/health", nil)
	var h appliance.HealthReport
	if err := json.Unmarshal([]byte(body), &h); code != http.StatusOK || err != nil {
		t.Fatalf("health: %d %s", code, body)
	}
	return h
}

func TestDamageSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := rand.New(rand.NewPCG(14, 14))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	const name = "share backup: /reports/q3.bin"
	t.Run("verify finds damage", func(t *testing.T) {
		a := serveSideDoorIn(t, dir)
		fs, err := a.mount(t, "admin", sharefs.DefaultShare)
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Mkdir("reports", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := fs.WriteFile("reports/q3.bin", data, 0o644); err != nil {
			t.Fatal(err)
		}
		fs.Umount()
		flipInVolumes(t, dir, data[512<<10:512<<10+64])
		if code, body := a.do(t, "admin", "POST", "/api/v1/verify", nil); code != http.StatusAccepted {
			t.Fatalf("start verify: %d %s", code, body)
		}
		var v appliance.VerifyStatus
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			_, body := a.do(t, "admin", "GET", "/api/v1/verify", nil)
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatal(err)
			}
			if v.State == appliance.JobDone || v.State == appliance.JobFailed || time.Now().After(deadline) {
				break
			}
		}
		if v.State != appliance.JobDone || len(v.Damage) == 0 || !strings.Contains(strings.Join(v.Damage[0].Names, ","), name) {
			t.Fatalf("verify %+v", v)
		}
	})
	t.Run("after the restart", func(t *testing.T) {
		a := serveSideDoorIn(t, dir)
		h := a.healthOfAPI(t, "admin")
		p, _ := part(h, appliance.ComponentVerify)
		if h.State != appliance.Degraded || p.State != appliance.Degraded || !strings.Contains(p.Reason, name) {
			t.Fatalf("health after restart %+v", h)
		}
		if len(h.Damage) != 1 || h.Damage[0].Share != "backup" || h.Damage[0].Path != "/reports/q3.bin" || h.Damage[0].Name != name {
			t.Fatalf("damage after restart %+v", h.Damage)
		}
		if c, ok := part(h, appliance.ComponentCapacity); !ok || c.State != appliance.OK {
			t.Fatalf("capacity part %+v", c)
		}
		// Deleting the damaged file ends the damage: the next refresh of
		// the damage (at start, every 30 s) drops it.
		fs, err := a.mount(t, "admin", sharefs.DefaultShare)
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Remove("reports/q3.bin"); err != nil {
			t.Fatal(err)
		}
		fs.Umount()
	})
	t.Run("after the file is deleted", func(t *testing.T) {
		a := serveSideDoorIn(t, dir)
		var h appliance.HealthReport
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if h = a.healthOfAPI(t, "admin"); len(h.Damage) == 0 {
				break
			}
		}
		if p, _ := part(h, appliance.ComponentVerify); len(h.Damage) != 0 || p.State != appliance.OK {
			t.Fatalf("health once the damaged file is gone %+v", h)
		}
	})
}

// TestHealthMonitorCapacity: the monitor's capacity part follows the
// engine's figures: an engine 85% full is a warning.
func TestHealthMonitorCapacity(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")
	o := chunkstore.DefaultOptions()
	o.Create, o.Capacity, o.Reserve = true, 1<<30, 0
	eng, err := chunkstore.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	w, err := eng.Create(ctx, chunkstore.DefaultStore, "x", chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	stored := eng.Stats().StoredBytes
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	o.Create, o.Capacity = false, stored*100/85
	if eng, err = chunkstore.Open(ctx, dir, o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	h := appliance.NewHealth(time.Now)
	m := &healthMonitor{eng: eng, health: h, log: slog.New(slog.DiscardHandler), interval: time.Hour}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if p, ok := part(h.Report(), appliance.ComponentCapacity); !ok || p.State != appliance.Warning || !strings.Contains(p.Reason, "% of the capacity used") {
		t.Fatalf("capacity part %+v (capacity %d, stored %d)", p, eng.Stats().CapacityBytes, eng.Stats().StoredBytes)
	}
}
