package tape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// Medium is a cartridge as the library hands it to a drive.
type Medium struct {
	Barcode string
	Store   string // chunkstore store holding the cartridge item
	Options cartridge.Options
	// Attributes are the host-writable MAM attributes (by identifier);
	// SaveAttributes, if set, persists them after WRITE ATTRIBUTE.
	Attributes     map[uint16][]byte
	SaveAttributes func(map[uint16][]byte) error
	LoadCount      uint64
}

// Options build a drive.
type Options struct {
	Generation int    // LTO generation, 6 by default
	Serial     string // unit serial number, e.g. "HU10000001"
	NAA        uint64 // VPD 83h NAA designator
	// Vendor, Product and Revision override the HP identity of the
	// generation (another emulation's drive).
	Vendor, Product, Revision string
	Logger                    *slog.Logger
	// Failures counts failed commits of records (nil: none counted);
	// backstop serve passes the counter the web metrics read.
	Failures CommitFailures
}

// CommitFailures counts failed commits by protocol and reason
// (dedup.CommitFailures is one).
type CommitFailures interface {
	CommitFailed(protocol, reason string)
}

// ErrPrevented: the host prevents medium removal.
var ErrPrevented = errors.New("tape: medium removal prevented")

// ErrNoMedium: the drive holds no cartridge.
var ErrNoMedium = errors.New("tape: no medium")

// ErrFull: the drive already holds a cartridge.
var ErrFull = errors.New("tape: drive is full")

// Drive is an LTO tape drive (SSC-4) over cartridges kept as chunkstore
// items. It implements scsi.Device.
type Drive struct {
	*scsi.Unit
	eng      cartridge.Engine
	gen      Generation
	log      *slog.Logger
	failures CommitFailures

	medium *Medium
	tape   *cartridge.Tape // nil when no medium or unloaded
	ready  bool            // loaded, as opposed to ejected and awaiting the changer

	blockSize uint32 // 0: variable-block mode
	buffered  byte   // buffered mode 0 or 1
	compress  bool   // DCE
	alerts    uint64 // TapeAlert flags, bit n-1 for flag n
	stats     counters
}

// counters feed the log pages.
type counters struct {
	written, read uint64 // bytes from / to the initiators
	wrote, readM  uint64 // bytes to / from the medium
}

// maxBlock is the largest record READ BLOCK LIMITS announces.
const maxBlock = 8 << 20

// New builds an empty drive.
func New(eng cartridge.Engine, opts Options) (*Drive, error) {
	if opts.Generation == 0 {
		opts.Generation = 6
	}
	gen, ok := LookupGeneration(opts.Generation)
	if !ok {
		return nil, fmt.Errorf("tape: no LTO generation %d", opts.Generation)
	}
	d := &Drive{eng: eng, gen: gen, log: opts.Logger, failures: opts.Failures, buffered: 1, compress: true}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	id := scsi.Identity{DeviceType: 0x01, Removable: true, Vendor: "HP", Product: gen.Product,
		Revision: gen.Revision, Serial: opts.Serial, NAA: opts.NAA}
	if opts.Vendor != "" {
		id.Vendor, id.Product, id.Revision = opts.Vendor, opts.Product, opts.Revision
	}
	d.Unit = scsi.NewUnit(scsi.Config{
		Identity: id,
		Commands: d.commands(),
		Mode:     d.modeConfig(),
		Logs:     d.logPages(),
		VPD:      map[byte]func() []byte{0xb0: d.vpdB0},
		Ready:    d.readyErr,
		Logger:   d.log,
	})
	return d, nil
}

func (d *Drive) commands() map[byte]scsi.Entry {
	return map[byte]scsi.Entry{
		scsi.OpRead6:           {Handle: d.read6, Access: scsi.AccessRead},
		scsi.OpWrite6:          {Handle: d.write6, Access: scsi.AccessWrite},
		scsi.OpWriteFilemarks6: {Handle: d.writeFilemarks, Access: scsi.AccessWrite},
		scsi.OpSpace6:          {Handle: d.space, Access: scsi.AccessRead},
		scsi.OpRewind:          {Handle: d.rewind, Access: scsi.AccessRead},
		scsi.OpLoadUnload:      {Handle: d.loadUnload, Access: scsi.AccessWrite},
		scsi.OpReadPosition:    {Handle: d.readPosition, Access: scsi.AccessRead},
		scsi.OpLocate10:        {Handle: d.locate, Access: scsi.AccessRead},
		scsi.OpLocate16:        {Handle: d.locate, Access: scsi.AccessRead},
		scsi.OpReadBlockLimits: {Handle: d.readBlockLimits, Access: scsi.AccessAlways},
		scsi.OpErase6:          {Handle: d.erase, Access: scsi.AccessWrite},
		scsi.OpReportDensity:   {Handle: d.reportDensity, Access: scsi.AccessRead},
		scsi.OpReadAttribute:   {Handle: d.readAttribute, Access: scsi.AccessRead},
		scsi.OpWriteAttribute:  {Handle: d.writeAttribute, Access: scsi.AccessWrite},
	}
}

// Generation is the LTO generation the drive emulates.
func (d *Drive) Generation() Generation { return d.gen }

// readyErr is TEST UNIT READY's answer.
func (d *Drive) readyErr() error {
	if d.tape == nil || !d.ready {
		return scsi.NewSense(scsi.KeyNotReady, scsi.CodeMediumNotPresent)
	}
	return nil
}

// loaded returns the tape, or the not-ready sense.
func (d *Drive) loaded() (*cartridge.Tape, error) {
	if err := d.readyErr(); err != nil {
		return nil, err
	}
	return d.tape, nil
}

// Insert puts a cartridge in the drive and loads it, as a changer does
// when it moves one into the drive: a media-change unit attention
// follows.
func (d *Drive) Insert(ctx context.Context, m *Medium) error {
	var err error
	d.Locked(func() {
		if d.medium != nil {
			err = ErrFull
			return
		}
		var t *cartridge.Tape
		t, err = cartridge.Open(ctx, d.eng, m.Store, m.Barcode, m.Options)
		if err != nil {
			return
		}
		m.LoadCount++
		d.medium, d.tape, d.ready = m, t, true
		d.alerts = 0
		d.Attention(scsi.CodeNotReadyToReady)
	})
	return err
}

// Remove takes the cartridge out of the drive (a changer moving it to a
// slot), committing what was written. The host must not prevent removal
// while the cartridge is loaded.
func (d *Drive) Remove(ctx context.Context) (*Medium, error) {
	var (
		m   *Medium
		err error
	)
	d.Locked(func() {
		if d.medium == nil {
			err = ErrNoMedium
			return
		}
		if d.ready && d.Prevented() {
			err = ErrPrevented
			return
		}
		if d.tape != nil {
			if cerr := d.tape.Close(ctx); cerr != nil {
				d.commitFailed(fmt.Errorf("on removal by the changer: %w", cerr))
			}
		}
		m, d.medium, d.tape, d.ready = d.medium, nil, nil, false
		d.AllowRemoval()
		d.Attention(scsi.CodeNotReadyToReady)
	})
	return m, err
}

// Reset reports a task-management event or a nexus's arrival or loss to
// the unit, then commits the records buffered in the drive: a host that
// logs out, or whose connection drops, has been told GOOD for records in
// the buffer, and a real drive writes its buffer to the medium whoever
// is connected. A failure is logged and counted (no host waits for it)
// and raises TapeAlert 06h for the next host that reads the log page.
func (d *Drive) Reset(kind scsi.ResetKind, nexus string) {
	d.Unit.Reset(kind, nexus)
	d.Locked(func() {
		if d.tape == nil {
			return
		}
		if err := d.tape.Flush(context.Background()); err != nil {
			if !errors.Is(err, cartridge.ErrCommit) {
				err = fmt.Errorf("%w: %w", cartridge.ErrCommit, err)
			}
			d.commitFailed(fmt.Errorf("at the end of a session: %w", err))
		}
	})
}

// commitFailed logs and counts a failed commit of the loaded cartridge's
// records and raises TapeAlert 06h (write failure). d's lock is held.
func (d *Drive) commitFailed(err error) {
	barcode := ""
	if d.medium != nil {
		barcode = d.medium.Barcode
	}
	reason := dedup.Reason(err)
	d.alerts |= 1 << (6 - 1) // TapeAlert 06h: write failure
	d.log.Error("tape: commit failed, buffered records lost", "barcode", barcode, "reason", reason, "err", err)
	if d.failures != nil {
		d.failures.CommitFailed("iscsi", reason)
	}
}

// Medium returns the cartridge in the drive, nil when empty.
func (d *Drive) Medium() *Medium {
	var m *Medium
	d.Locked(func() { m = d.medium })
	return m
}

// Flush commits what was written to the loaded cartridge (shutdown).
func (d *Drive) Flush(ctx context.Context) error {
	var err error
	d.Locked(func() {
		if d.tape != nil {
			err = d.tape.Flush(ctx)
		}
	})
	return err
}

// Close commits and releases the loaded cartridge, keeping it in the
// drive as far as the library knows (appliance shutdown).
func (d *Drive) Close(ctx context.Context) error {
	var err error
	d.Locked(func() {
		if d.tape != nil {
			err = d.tape.Close(ctx)
			d.tape, d.ready = nil, false
		}
	})
	return err
}

// SetProtection changes the loaded cartridge's write protection.
func (d *Drive) SetProtection(barcode string, wp bool) {
	d.Locked(func() {
		if d.medium != nil && d.medium.Barcode == barcode {
			d.medium.Options.WriteProtected = wp
			if d.tape != nil {
				d.tape.SetProtection(wp)
			}
		}
	})
}

// vpdB0 is the sequential-access device capabilities VPD page (SSC-4
// 6.2): WORM is supported.
func (d *Drive) vpdB0() []byte {
	return []byte{0x01, 0xb0, 0x00, 0x02, 0x01, 0x00}
}
