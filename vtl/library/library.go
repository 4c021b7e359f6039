package library

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/changer"
	"github.com/backstop-appliance/backstop/vtl/scsi"
	"github.com/backstop-appliance/backstop/vtl/tape"
)

// Library is one virtual tape library at run time: its changer and
// drives, the logical units of its iSCSI target.
type Library struct {
	m       *Manager
	name    string
	store   string
	changer *changer.Changer
	drives  []*tape.Drive
	luns    map[uint64]scsi.Device
}

// LUNs is the library's LUN set: LUN 0 the changer, then the drives.
func (l *Library) LUNs() map[uint64]scsi.Device { return l.luns }

// storeName is the chunkstore store of a library's cartridges.
func storeName(lib string) string { return "vtl-" + lib }

// naa is a locally assigned NAA designator (NAA 3h) derived from s.
func naa(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return 3<<60 | h.Sum64()&(1<<60-1)
}

// check says whether rec, as read from the file, can be built: its entry
// decoded, its emulation and generation are known, its elements match its
// spec and hold only its own cartridges, each once, and its store exists.
func (m *Manager) check(rec *libraryRecord) error {
	if rec.bad != nil {
		return rec.bad
	}
	if !chunkstore.ValidName(rec.Name) {
		return fmt.Errorf("%w: name %q", ErrInvalid, rec.Name)
	}
	emu, ok := LookupEmulation(rec.Emulation)
	if !ok {
		return fmt.Errorf("%w: emulation %q", ErrInvalid, rec.Emulation)
	}
	if _, ok := tape.LookupGeneration(rec.Generation); !ok {
		return fmt.Errorf("%w: LTO generation %d", ErrInvalid, rec.Generation)
	}
	if rec.Spec.Drives < 1 || rec.Spec.Drives > emu.MaxDrives || len(rec.InDrives) != rec.Spec.Drives ||
		len(rec.InSlots) != rec.Slots || len(rec.InMail) != rec.MailSlots {
		return fmt.Errorf("%w: %d drives, %d slots, %d mail slots recorded for a spec of %d, %d, %d", ErrInvalid,
			len(rec.InDrives), len(rec.InSlots), len(rec.InMail), rec.Spec.Drives, rec.Slots, rec.MailSlots)
	}
	known := map[string]bool{}
	for _, c := range rec.Cartridges {
		if known[c.Barcode] {
			return fmt.Errorf("%w: cartridge %s recorded twice", ErrInvalid, c.Barcode)
		}
		known[c.Barcode] = true
	}
	placed := map[string]bool{}
	for _, els := range [][]string{rec.InSlots, rec.InMail, rec.InDrives} {
		for _, bc := range els {
			if bc == "" {
				continue
			}
			if !known[bc] {
				return fmt.Errorf("%w: an element holds cartridge %s, which the library does not have", ErrInvalid, bc)
			}
			if placed[bc] {
				return fmt.Errorf("%w: cartridge %s is in two elements", ErrInvalid, bc)
			}
			placed[bc] = true
		}
	}
	if _, err := m.eng.Store(storeName(rec.Name)); err != nil {
		return fmt.Errorf("the cartridges' store %s: %w", storeName(rec.Name), err)
	}
	return nil
}

// build creates the run-time library of rec. The caller holds m.mu.
func (m *Manager) build(ctx context.Context, rec *libraryRecord) (*Library, error) {
	if err := m.check(rec); err != nil {
		return nil, err
	}
	emu, _ := LookupEmulation(rec.Emulation)
	gen, _ := tape.LookupGeneration(rec.Generation)
	l := &Library{m: m, name: rec.Name, store: storeName(rec.Name), luns: map[uint64]scsi.Device{}}
	vendor, product, rev := emu.driveIdentity(gen)
	var ds []changer.Drive
	for i := 0; i < rec.Spec.Drives; i++ {
		serial := fmt.Sprintf("%s%02d", driveSerialPrefix(rec.Serial), i+1)
		d, err := tape.New(m.eng, tape.Options{Generation: gen.N, Serial: serial, NAA: naa(serial),
			Vendor: vendor, Product: product, Revision: rev, Logger: m.log, Failures: m.fail})
		if err != nil {
			return nil, err
		}
		l.drives = append(l.drives, d)
		ds = append(ds, d)
		l.luns[uint64(i+1)] = d
	}
	l.changer = changer.New(changer.Options{
		Identity: scsi.Identity{Vendor: emu.ChangerVendor, Product: emu.ChangerProduct, Revision: emu.ChangerRev,
			Serial: rec.Serial, NAA: naa(rec.Serial)},
		Slots: rec.InSlots, Mail: rec.InMail, Drives: ds, Media: l, Logger: m.log,
	})
	l.luns[0] = l.changer
	// cartridges left in drives at shutdown are loaded again
	for i, bc := range rec.InDrives {
		if bc == "" || i >= len(l.drives) {
			continue
		}
		med, err := m.medium(rec, bc)
		if err != nil {
			return nil, err
		}
		if err := l.drives[i].Insert(ctx, med); err != nil {
			m.log.Error("vtl: reload cartridge", "library", rec.Name, "barcode", bc, "err", err)
		}
	}
	return l, nil
}

// driveSerialPrefix makes drive serials from the library serial.
func driveSerialPrefix(libSerial string) string {
	if len(libSerial) > 8 {
		libSerial = libSerial[len(libSerial)-8:]
	}
	return "HU" + libSerial
}

// Medium gives the changer the cartridge to load in a drive.
func (l *Library) Medium(barcode string) (*tape.Medium, error) {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	rec := l.m.record(l.name)
	if rec == nil {
		return nil, ErrNotFound
	}
	return l.m.medium(rec, barcode)
}

// medium builds the tape.Medium of a cartridge. The caller holds m.mu.
func (m *Manager) medium(rec *libraryRecord, barcode string) (*tape.Medium, error) {
	c := rec.cartridge(barcode)
	if c == nil {
		return nil, fmt.Errorf("%w: cartridge %s", ErrNotFound, barcode)
	}
	attrs := map[uint16][]byte{}
	for k, v := range c.Attributes {
		attrs[k] = append([]byte(nil), v...)
	}
	lib := rec.Name
	return &tape.Medium{
		Barcode: barcode,
		Store:   storeName(lib),
		Options: cartridge.Options{Capacity: c.Capacity, WriteProtected: c.WriteProtected, WORM: c.WORM,
			ImmutableDays: m.immutableDays(lib), Now: m.now},
		Attributes: attrs,
		LoadCount:  c.LoadCount,
		SaveAttributes: func(a map[uint16][]byte) error {
			return m.update(lib, func(r *libraryRecord) error {
				if c := r.cartridge(barcode); c != nil {
					c.Attributes = map[uint16][]byte{}
					for k, v := range a {
						c.Attributes[k] = append([]byte(nil), v...)
					}
				}
				return nil
			})
		},
	}, nil
}

// immutableDays is the immutability period of library lib's store (0
// when it cannot be read: the engine still refuses deleting retained
// items).
func (m *Manager) immutableDays(lib string) int {
	st, err := m.eng.Store(storeName(lib))
	if err != nil {
		m.log.Warn("vtl: read the library store's options", "library", lib, "err", err)
		return 0
	}
	return st.ImmutableDays
}

// Moved records the changer's new layout.
func (l *Library) Moved(layout changer.Layout) error {
	return l.m.update(l.name, func(r *libraryRecord) error {
		for i, bc := range layout.Drives {
			if bc != "" && (i >= len(r.InDrives) || r.InDrives[i] != bc) {
				if c := r.cartridge(bc); c != nil {
					c.LoadCount++
				}
			}
		}
		r.InSlots, r.InMail, r.InDrives, r.Source = layout.Slots, layout.Mail, layout.Drives, layout.Source
		return nil
	})
}

func (r *libraryRecord) cartridge(barcode string) *cartridgeRecord {
	for i := range r.Cartridges {
		if r.Cartridges[i].Barcode == barcode {
			return &r.Cartridges[i]
		}
	}
	return nil
}

// location says where a cartridge is.
func (r *libraryRecord) location(barcode string) Location {
	for i, b := range r.InSlots {
		if b == barcode {
			return Location{Type: "slot", Index: i, Address: changer.BaseStorage + i}
		}
	}
	for i, b := range r.InMail {
		if b == barcode {
			return Location{Type: "mail", Index: i, Address: changer.BaseMail + i}
		}
	}
	for i, b := range r.InDrives {
		if b == barcode {
			return Location{Type: "drive", Index: i, Address: changer.BaseDrive + i}
		}
	}
	return Location{Type: "vault", Index: -1, Address: -1}
}

// Location is where a cartridge is: a storage slot, a mail slot, a drive,
// or out of the library ("vault").
type Location struct {
	Type    string `json:"type"`
	Index   int    `json:"index"`
	Address int    `json:"address"`
}

func (loc Location) element() (uint16, error) {
	switch loc.Type {
	case "slot":
		return uint16(changer.BaseStorage + loc.Index), nil
	case "mail":
		return uint16(changer.BaseMail + loc.Index), nil
	case "drive":
		return uint16(changer.BaseDrive + loc.Index), nil
	}
	return 0, fmt.Errorf("%w: location type %q (slot, mail or drive)", ErrInvalid, loc.Type)
}
