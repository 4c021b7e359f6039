package library

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/changer"
)

// Info describes a library with its figures.
type Info struct {
	Spec
	Serial     string      `json:"serial"`
	Created    time.Time   `json:"created"`
	Drives     []DriveInfo `json:"drive_status"`
	SlotsUsed  int         `json:"slots_used"`
	MailUsed   int         `json:"mail_slots_used"`
	Cartridges int         `json:"cartridges"`
	// LogicalBytes is what the cartridges hold as written (record maps
	// included), StoredBytes what they added to the volumes.
	LogicalBytes int64   `json:"logical_bytes"`
	StoredBytes  int64   `json:"stored_bytes"`
	DedupRatio   float64 `json:"dedup_ratio"`
	// Degraded says why the library could not open (its target is not
	// offered, its cartridges cannot be used); empty when it is online.
	Degraded string `json:"degraded,omitempty"`
}

// DriveInfo is one drive of a library.
type DriveInfo struct {
	Index   int    `json:"index"`
	LUN     int    `json:"lun"`
	Address int    `json:"address"`
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
	Serial  string `json:"serial"`
	Barcode string `json:"barcode,omitempty"`
}

// CartridgeInfo describes a cartridge.
type CartridgeInfo struct {
	Barcode        string    `json:"barcode"`
	Location       Location  `json:"location"`
	Capacity       int64     `json:"capacity"`
	UsedBytes      int64     `json:"used_bytes"`
	WriteProtected bool      `json:"write_protected"`
	WORM           bool      `json:"worm"`
	LoadCount      uint64    `json:"load_count"`
	Created        time.Time `json:"created"`
}

// info describes rec. The caller holds m.mu.
func (m *Manager) info(rec *libraryRecord) Info {
	in := Info{Spec: rec.Spec, Serial: rec.Serial, Created: rec.Created, Cartridges: len(rec.Cartridges), DedupRatio: 1}
	if err := m.broken[rec.Name]; err != nil {
		in.Degraded = err.Error()
	}
	for _, b := range rec.InSlots {
		if b != "" {
			in.SlotsUsed++
		}
	}
	for _, b := range rec.InMail {
		if b != "" {
			in.MailUsed++
		}
	}
	if l, ok := m.libs[rec.Name]; ok {
		for i, d := range l.drives {
			id := d.Identity()
			di := DriveInfo{Index: i, LUN: i + 1, Address: changer.BaseDrive + i, Vendor: id.Vendor, Product: id.Product, Serial: id.Serial}
			if i < len(rec.InDrives) {
				di.Barcode = rec.InDrives[i]
			}
			in.Drives = append(in.Drives, di)
		}
	}
	for _, st := range m.eng.Stats().Stores {
		if st.Name == storeName(rec.Name) {
			in.LogicalBytes, in.StoredBytes, in.DedupRatio = st.LogicalBytes, st.StoredBytes, st.DedupRatio
		}
	}
	return in
}

// Libraries lists the libraries by name.
func (m *Manager) Libraries() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.file.Libraries))
	for i := range m.file.Libraries {
		out = append(out, m.info(&m.file.Libraries[i]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Library describes one library.
func (m *Manager) Library(name string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.record(name)
	if rec == nil {
		return Info{}, fmt.Errorf("%w: library %s", ErrNotFound, name)
	}
	return m.info(rec), nil
}

// Cartridges lists a library's cartridges by barcode.
func (m *Manager) Cartridges(ctx context.Context, name string) ([]CartridgeInfo, error) {
	m.mu.Lock()
	rec := m.record(name)
	if rec == nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: library %s", ErrNotFound, name)
	}
	var out []CartridgeInfo
	for _, c := range rec.Cartridges {
		out = append(out, CartridgeInfo{Barcode: c.Barcode, Location: rec.location(c.Barcode), Capacity: c.Capacity,
			WriteProtected: c.WriteProtected, WORM: c.WORM, LoadCount: c.LoadCount, Created: c.Created})
	}
	m.mu.Unlock()
	items, err := m.eng.List(ctx, storeName(name), "")
	if err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		return nil, err
	}
	size := map[string]int64{} // by barcode: a cartridge is items BARCODE/NNNNNNNN
	for _, it := range items {
		if bc, _, ok := strings.Cut(it.Name, "/"); ok {
			size[bc] += it.Size
		}
	}
	for i := range out {
		out[i].UsedBytes = size[out[i].Barcode]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Barcode < out[j].Barcode })
	return out, nil
}

// Cartridge describes one cartridge.
func (m *Manager) Cartridge(ctx context.Context, name, barcode string) (CartridgeInfo, error) {
	all, err := m.Cartridges(ctx, name)
	if err != nil {
		return CartridgeInfo{}, err
	}
	for _, c := range all {
		if c.Barcode == barcode {
			return c, nil
		}
	}
	return CartridgeInfo{}, fmt.Errorf("%w: cartridge %s", ErrNotFound, barcode)
}

// NewCartridges asks for new blank cartridges: the listed barcodes, or
// Count barcodes from Prefix (then a number, then the generation's media
// suffix, e.g. BKS001L6). They go into empty storage slots, or the vault
// (outside the library, ready to import) when Vault is set.
type NewCartridges struct {
	Barcodes       []string `json:"barcodes"`
	Prefix         string   `json:"prefix"`
	Count          int      `json:"count"`
	Capacity       int64    `json:"capacity"`
	WriteProtected bool     `json:"write_protected"`
	WORM           bool     `json:"worm"`
	Vault          bool     `json:"vault"`
}

// AddCartridges creates blank cartridges.
func (m *Manager) AddCartridges(ctx context.Context, name string, req NewCartridges) ([]CartridgeInfo, error) {
	l, err := m.runtime(name)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	rec := m.record(name)
	barcodes, err := m.newBarcodes(rec, req)
	free := 0
	for _, b := range rec.InSlots {
		if b == "" {
			free++
		}
	}
	capacity := req.Capacity
	if capacity == 0 {
		capacity = rec.CartridgeSize
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if capacity < 1<<20 {
		return nil, fmt.Errorf("%w: capacity below 1 MiB", ErrInvalid)
	}
	if !req.Vault && len(barcodes) > free {
		return nil, fmt.Errorf("%w: %d cartridges, %d empty slots", ErrNoSlot, len(barcodes), free)
	}
	now := m.now().UTC()
	err = m.update(name, func(r *libraryRecord) error {
		for _, bc := range barcodes {
			r.Cartridges = append(r.Cartridges, cartridgeRecord{Barcode: bc, Capacity: capacity,
				WriteProtected: req.WriteProtected, WORM: req.WORM, Created: now})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !req.Vault {
		for _, bc := range barcodes {
			if _, err := l.changer.Place(bc, -1); err != nil {
				return nil, err
			}
		}
	}
	var out []CartridgeInfo
	for _, bc := range barcodes {
		c, err := m.Cartridge(ctx, name, bc)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// newBarcodes validates or generates the barcodes of a request. The
// caller holds m.mu.
func (m *Manager) newBarcodes(rec *libraryRecord, req NewCartridges) ([]string, error) {
	taken := map[string]bool{}
	for _, c := range rec.Cartridges {
		taken[c.Barcode] = true
	}
	var out []string
	if len(req.Barcodes) > 0 {
		for _, bc := range req.Barcodes {
			if !barcodePattern.MatchString(bc) {
				return nil, fmt.Errorf("%w: barcode %q: 1 to 16 upper-case letters and digits", ErrInvalid, bc)
			}
			if taken[bc] {
				return nil, fmt.Errorf("%w: cartridge %s", ErrExists, bc)
			}
			taken[bc] = true
			out = append(out, bc)
		}
		return out, nil
	}
	if req.Count < 1 || req.Count > 1000 {
		return nil, fmt.Errorf("%w: count: 1 to 1000 (or list barcodes)", ErrInvalid)
	}
	if req.Prefix == "" || len(req.Prefix) > 5 || !barcodePattern.MatchString(req.Prefix) {
		return nil, fmt.Errorf("%w: prefix %q: 1 to 5 upper-case letters and digits", ErrInvalid, req.Prefix)
	}
	suffix := "L" + fmt.Sprint(rec.Generation)
	width := 6 - len(req.Prefix)
	for n := 1; len(out) < req.Count; n++ {
		num := fmt.Sprintf("%0*d", max(width, 1), n)
		if len(req.Prefix)+len(num) > 6 {
			return nil, fmt.Errorf("%w: prefix %q leaves no room for %d numbers", ErrInvalid, req.Prefix, req.Count)
		}
		bc := req.Prefix + num + suffix
		if !taken[bc] {
			taken[bc] = true
			out = append(out, bc)
		}
	}
	return out, nil
}

// DeleteCartridge deletes a cartridge and its data. It must not be in a
// drive. A WORM cartridge that holds data, or one whose data is younger
// than the library store's immutability period, is refused for every
// caller (an error that is chunkstore.ErrImmutable, and cartridge.ErrWORM
// or cartridge.ErrRetained); see cartridge.Locked.
func (m *Manager) DeleteCartridge(ctx context.Context, name, barcode string) error {
	l, err := m.runtime(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	rec := m.record(name)
	loc := Location{}
	c := rec.cartridge(barcode)
	found, worm := c != nil, c != nil && c.WORM
	if found {
		loc = rec.location(barcode)
	}
	m.mu.Unlock()
	if !found {
		return fmt.Errorf("%w: cartridge %s", ErrNotFound, barcode)
	}
	if loc.Type == "drive" {
		return fmt.Errorf("%w: move %s out of drive %d first", ErrBusy, barcode, loc.Index)
	}
	err = cartridge.Locked(ctx, m.eng, storeName(name), barcode, worm, m.immutableDays(name), m.now())
	if err != nil {
		return fmt.Errorf("library: delete cartridge %s: %w", barcode, err)
	}
	if loc.Type != "vault" {
		if err := l.changer.Take(barcode); err != nil {
			return err
		}
	}
	if err := cartridge.Delete(ctx, m.eng, storeName(name), barcode); err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		return err
	}
	return m.update(name, func(r *libraryRecord) error {
		for i := range r.Cartridges {
			if r.Cartridges[i].Barcode == barcode {
				r.Cartridges = append(r.Cartridges[:i], r.Cartridges[i+1:]...)
				break
			}
		}
		delete(r.Source, barcode)
		return nil
	})
}

// where returns the location of a cartridge.
func (m *Manager) where(name, barcode string) (*Library, Location, error) {
	l, err := m.runtime(name)
	if err != nil {
		return nil, Location{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.record(name)
	if rec == nil || rec.cartridge(barcode) == nil {
		return nil, Location{}, fmt.Errorf("%w: cartridge %s", ErrNotFound, barcode)
	}
	return l, rec.location(barcode), nil
}

// Move carries a cartridge to a slot, mail slot or drive (loading it).
func (m *Manager) Move(ctx context.Context, name, barcode string, to Location) error {
	l, from, err := m.where(name, barcode)
	if err != nil {
		return err
	}
	if from.Type == "vault" {
		return fmt.Errorf("%w: %s is outside the library: import it first", ErrInvalid, barcode)
	}
	src, _ := from.element()
	dst, err := to.element()
	if err != nil {
		return err
	}
	return l.changer.Move(ctx, src, dst)
}

// Import puts a cartridge from the vault into an empty mail slot, as an
// operator loading the mail slot does; the backup application then moves
// it in.
func (m *Manager) Import(ctx context.Context, name, barcode string) (Location, error) {
	l, from, err := m.where(name, barcode)
	if err != nil {
		return Location{}, err
	}
	if from.Type != "vault" {
		return Location{}, fmt.Errorf("%w: %s is already in the library (%s %d)", ErrInvalid, barcode, from.Type, from.Index)
	}
	addr, err := l.changer.Import(barcode, -1)
	if err != nil {
		return Location{}, err
	}
	return Location{Type: "mail", Index: int(addr) - changer.BaseMail, Address: int(addr)}, nil
}

// Export takes a cartridge out of the library through a mail slot: from
// a storage slot it is first carried to an empty mail slot.
func (m *Manager) Export(ctx context.Context, name, barcode string) error {
	l, from, err := m.where(name, barcode)
	if err != nil {
		return err
	}
	switch from.Type {
	case "vault":
		return nil
	case "drive":
		return fmt.Errorf("%w: move %s out of drive %d first", ErrBusy, barcode, from.Index)
	case "slot":
		layout := l.changer.Layout()
		mail := -1
		for i, b := range layout.Mail {
			if b == "" {
				mail = i
				break
			}
		}
		if mail < 0 {
			return fmt.Errorf("%w: every mail slot is full", ErrNoSlot)
		}
		if err := l.changer.Move(ctx, uint16(changer.BaseStorage+from.Index), uint16(changer.BaseMail+mail)); err != nil {
			return err
		}
		from = Location{Type: "mail", Index: mail}
	}
	_, err = l.changer.Export(from.Index)
	return err
}

// Protect sets or clears a cartridge's write protection (its tab).
func (m *Manager) Protect(ctx context.Context, name, barcode string, wp bool) error {
	l, _, err := m.where(name, barcode)
	if err != nil {
		return err
	}
	if err := m.update(name, func(r *libraryRecord) error {
		r.cartridge(barcode).WriteProtected = wp
		return nil
	}); err != nil {
		return err
	}
	for _, d := range l.drives {
		d.SetProtection(barcode, wp)
	}
	return nil
}
