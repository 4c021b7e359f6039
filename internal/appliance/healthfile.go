package appliance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// healthName is the file the health registry is kept in, in the
// appliance directory.
const (
	healthName    = "health.json"
	healthVersion = 1
)

// healthDoc is health.json: every part's state as last set, and the
// damage the last verify found that still exists.
type healthDoc struct {
	Version int               `json:"version"`
	Parts   []ComponentHealth `json:"parts"`
	Damage  []DamagedItem     `json:"damage"`
}

// loadHealth reads dir's health.json; a missing one is empty.
func loadHealth(dir string) (healthDoc, error) {
	b, err := os.ReadFile(filepath.Join(dir, healthName))
	if errors.Is(err, os.ErrNotExist) {
		return healthDoc{Version: healthVersion}, nil
	}
	if err != nil {
		return healthDoc{}, fmt.Errorf("read %s: %w", healthName, err)
	}
	var doc healthDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return healthDoc{}, fmt.Errorf("parse %s: %w", healthName, err)
	}
	if doc.Version != healthVersion {
		return healthDoc{}, fmt.Errorf("%s: version %d, want %d", healthName, doc.Version, healthVersion)
	}
	return doc, nil
}

// saveLocked writes health.json atomically (as config.json is). A failure
// is logged, not returned: the registry in memory stays right, and the
// next change writes the file again. h.mu is held.
func (h *Health) saveLocked() {
	if h.opts.Dir == "" {
		return
	}
	doc := healthDoc{Version: healthVersion, Parts: make([]ComponentHealth, 0, len(h.parts)+len(h.last)),
		Damage: append([]DamagedItem{}, h.damage...)}
	for _, p := range h.last {
		doc.Parts = append(doc.Parts, p)
	}
	for _, p := range h.parts {
		doc.Parts = append(doc.Parts, p)
	}
	sort.Slice(doc.Parts, func(i, j int) bool { return doc.Parts[i].Name < doc.Parts[j].Name })
	b, err := json.MarshalIndent(doc, "", "  ")
	if err == nil {
		err = writeFileAtomic(h.opts.Dir, healthName, append(b, '\n'))
	}
	if err != nil {
		h.opts.Logger.Error("health: save", "file", filepath.Join(h.opts.Dir, healthName), "err", err)
	}
}
