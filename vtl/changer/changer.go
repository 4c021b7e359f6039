package changer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/backstop-appliance/backstop/vtl/scsi"
	"github.com/backstop-appliance/backstop/vtl/tape"
)

// Element type codes (SMC-3 table 5).
const (
	TypeAll       = 0
	TypeTransport = 1
	TypeStorage   = 2
	TypeMail      = 3 // import/export
	TypeDrive     = 4 // data transfer
)

// First element address of each type: the medium transport, then the
// drives, the mail slots and the storage slots.
const (
	BaseTransport = 0x0000
	BaseDrive     = 0x0100
	BaseMail      = 0x0200
	BaseStorage   = 0x0400
)

// Drive is what the changer needs from a tape drive.
type Drive interface {
	Insert(ctx context.Context, m *tape.Medium) error
	Remove(ctx context.Context) (*tape.Medium, error)
	Medium() *tape.Medium
	Identity() scsi.Identity
}

// Media is what the changer needs from the library: a cartridge by
// barcode to load into a drive, and where to record that the layout
// changed.
type Media interface {
	Medium(barcode string) (*tape.Medium, error)
	Moved(layout Layout) error
}

// Layout is what each element holds: barcodes, "" for empty.
type Layout struct {
	Slots  []string
	Mail   []string
	Drives []string
	// Source is the storage element address each barcode came from last.
	Source map[string]uint16
}

// Options build a changer.
type Options struct {
	Identity scsi.Identity
	Slots    []string // barcodes in storage slots, "" for empty
	Mail     []string // barcodes in mail slots
	Drives   []Drive
	Media    Media
	Logger   *slog.Logger
}

// Errors of the administrative moves.
var (
	ErrBadElement   = errors.New("changer: no such element")
	ErrSourceEmpty  = errors.New("changer: source element is empty")
	ErrDestFull     = errors.New("changer: destination element is full")
	ErrPrevented    = errors.New("changer: medium removal prevented")
	ErrMailClosed   = errors.New("changer: mail slot is not open to the operator")
	ErrUnknownMedia = errors.New("changer: no such cartridge")
)

// Changer is a medium changer (SMC-3) with storage slots, mail slots and
// drives. It implements scsi.Device.
type Changer struct {
	*scsi.Unit
	media  Media
	slots  []string
	mail   []string
	drives []Drive
	source map[string]uint16
	// imported are the cartridges an operator put in a mail slot (IMPEXP).
	imported map[string]bool
	log      *slog.Logger
}

// New builds a changer.
func New(opts Options) *Changer {
	c := &Changer{media: opts.Media, slots: append([]string(nil), opts.Slots...),
		mail: append([]string(nil), opts.Mail...), drives: opts.Drives, source: map[string]uint16{},
		imported: map[string]bool{}, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	id := opts.Identity
	id.DeviceType = 0x08
	id.Removable = true
	c.Unit = scsi.NewUnit(scsi.Config{
		Identity: id,
		Commands: map[byte]scsi.Entry{
			scsi.OpReadElementStatus: {Handle: c.readElementStatus, Access: scsi.AccessRead},
			scsi.OpMoveMedium:        {Handle: c.moveMedium, Access: scsi.AccessWrite},
			scsi.OpInitElementStatus: {Handle: c.initElementStatus, Access: scsi.AccessWrite},
			scsi.OpInitElementRange:  {Handle: c.initElementStatus, Access: scsi.AccessWrite},
			scsi.OpPositionToElement: {Handle: c.positionToElement, Access: scsi.AccessWrite},
			scsi.OpOpenCloseIE:       {Handle: c.openCloseIE, Access: scsi.AccessWrite},
		},
		Mode: scsi.ModeConfig{Pages: c.modePages()},
		Logs: []scsi.LogPage{{Code: 0x2e, Params: func() []scsi.LogParam {
			ps := make([]scsi.LogParam, 64)
			for i := range ps {
				ps[i] = scsi.LogParam{Code: uint16(i + 1), Control: 0x03, Value: []byte{0}}
			}
			return ps
		}}},
		Logger: c.log,
	})
	return c
}

// element is one addressable element.
type element struct {
	typ  byte
	addr uint16
	idx  int
}

// lookup resolves an element address.
func (c *Changer) lookup(addr uint16) (element, bool) {
	switch {
	case addr == BaseTransport:
		return element{TypeTransport, addr, 0}, true
	case addr >= BaseDrive && int(addr-BaseDrive) < len(c.drives):
		return element{TypeDrive, addr, int(addr - BaseDrive)}, true
	case addr >= BaseMail && int(addr-BaseMail) < len(c.mail):
		return element{TypeMail, addr, int(addr - BaseMail)}, true
	case addr >= BaseStorage && int(addr-BaseStorage) < len(c.slots):
		return element{TypeStorage, addr, int(addr - BaseStorage)}, true
	}
	return element{}, false
}

// barcode is what element e holds, "" when empty.
func (c *Changer) barcode(e element) string {
	switch e.typ {
	case TypeStorage:
		return c.slots[e.idx]
	case TypeMail:
		return c.mail[e.idx]
	case TypeDrive:
		if m := c.drives[e.idx].Medium(); m != nil {
			return m.Barcode
		}
	}
	return ""
}

// Layout returns what every element holds.
func (c *Changer) Layout() Layout {
	var l Layout
	c.Locked(func() { l = c.layout() })
	return l
}

func (c *Changer) layout() Layout {
	l := Layout{Slots: append([]string(nil), c.slots...), Mail: append([]string(nil), c.mail...),
		Source: map[string]uint16{}}
	for i := range c.drives {
		l.Drives = append(l.Drives, c.barcode(element{TypeDrive, uint16(BaseDrive + i), i}))
	}
	for k, v := range c.source {
		l.Source[k] = v
	}
	return l
}

// move carries the cartridge in from to to, loading or unloading drives.
func (c *Changer) move(ctx context.Context, from, to element) error {
	bc := c.barcode(from)
	if bc == "" {
		return ErrSourceEmpty
	}
	if from == to {
		return nil
	}
	if c.barcode(to) != "" {
		return ErrDestFull
	}
	if to.typ == TypeDrive {
		m, err := c.media.Medium(bc)
		if err != nil {
			return err
		}
		if err := c.drives[to.idx].Insert(ctx, m); err != nil {
			return err
		}
	}
	delete(c.imported, bc)
	switch from.typ {
	case TypeStorage:
		c.slots[from.idx] = ""
		c.source[bc] = from.addr
	case TypeMail:
		c.mail[from.idx] = ""
	case TypeDrive:
		if _, err := c.drives[from.idx].Remove(ctx); err != nil {
			if errors.Is(err, tape.ErrPrevented) {
				return ErrPrevented
			}
			return err
		}
	}
	switch to.typ {
	case TypeStorage:
		c.slots[to.idx] = bc
	case TypeMail:
		c.mail[to.idx] = bc
	}
	if err := c.media.Moved(c.layout()); err != nil {
		return fmt.Errorf("record the move of %s: %w", bc, err)
	}
	return nil
}

// Move carries a cartridge between two element addresses (an
// administrator's move, as a MOVE MEDIUM from the library's panel).
func (c *Changer) Move(ctx context.Context, from, to uint16) error {
	var err error
	c.Locked(func() {
		f, ok1 := c.lookup(from)
		t, ok2 := c.lookup(to)
		if !ok1 || !ok2 || f.typ == TypeTransport || t.typ == TypeTransport {
			err = ErrBadElement
			return
		}
		err = c.move(ctx, f, t)
		if err == nil && (f.typ == TypeMail || t.typ == TypeMail) {
			c.Attention(scsi.CodeImportExportAccessed)
		}
	})
	return err
}

// Import places a new cartridge in an empty mail slot, as an operator
// does (the cartridge must exist in the library); -1 picks the first
// empty one. It returns the mail slot's address.
func (c *Changer) Import(barcode string, slot int) (uint16, error) {
	var (
		addr uint16
		err  error
	)
	c.Locked(func() {
		if c.Prevented() {
			err = ErrPrevented
			return
		}
		if slot < 0 {
			for i, b := range c.mail {
				if b == "" {
					slot = i
					break
				}
			}
		}
		if slot < 0 || slot >= len(c.mail) {
			err = ErrDestFull
			return
		}
		if c.mail[slot] != "" {
			err = ErrDestFull
			return
		}
		c.mail[slot] = barcode
		c.imported[barcode] = true
		addr = uint16(BaseMail + slot)
		c.Attention(scsi.CodeImportExportAccessed)
		err = c.media.Moved(c.layout())
	})
	return addr, err
}

// Export takes the cartridge out of a mail slot, as an operator does: it
// leaves the library. The host can lock the mail slots with PREVENT.
func (c *Changer) Export(slot int) (string, error) {
	var (
		bc  string
		err error
	)
	c.Locked(func() {
		if slot < 0 || slot >= len(c.mail) {
			err = ErrBadElement
			return
		}
		if c.Prevented() {
			err = ErrPrevented
			return
		}
		if bc = c.mail[slot]; bc == "" {
			err = ErrSourceEmpty
			return
		}
		c.mail[slot] = ""
		delete(c.imported, bc)
		c.Attention(scsi.CodeImportExportAccessed)
		err = c.media.Moved(c.layout())
	})
	return bc, err
}

// Place puts a cartridge in an empty storage slot directly (a new
// cartridge created by the administrator); -1 picks the first empty one.
func (c *Changer) Place(barcode string, slot int) (uint16, error) {
	var (
		addr uint16
		err  error
	)
	c.Locked(func() {
		if slot < 0 {
			for i, b := range c.slots {
				if b == "" {
					slot = i
					break
				}
			}
		}
		if slot < 0 || slot >= len(c.slots) || c.slots[slot] != "" {
			err = ErrDestFull
			return
		}
		c.slots[slot] = barcode
		addr = uint16(BaseStorage + slot)
		err = c.media.Moved(c.layout())
	})
	return addr, err
}

// Take removes a cartridge from wherever it sits in a slot or mail slot
// (deleting it); a cartridge in a drive must be moved out first.
func (c *Changer) Take(barcode string) error {
	var err error
	c.Locked(func() {
		for i, b := range c.slots {
			if b == barcode {
				c.slots[i] = ""
				err = c.media.Moved(c.layout())
				return
			}
		}
		for i, b := range c.mail {
			if b == barcode {
				c.mail[i] = ""
				err = c.media.Moved(c.layout())
				return
			}
		}
		for _, d := range c.drives {
			if m := d.Medium(); m != nil && m.Barcode == barcode {
				err = ErrDestFull
				return
			}
		}
		err = ErrUnknownMedia
	})
	return err
}
