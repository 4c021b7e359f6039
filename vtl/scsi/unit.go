package scsi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Access says how a command fares when another I_T nexus holds a
// reservation (SPC-4 5.13.1, table 65, simplified to three classes).
type Access int

const (
	// AccessAlways: allowed whatever the reservation (INQUIRY, REQUEST
	// SENSE, TEST UNIT READY, PERSISTENT RESERVE IN/OUT, ...).
	AccessAlways Access = iota
	// AccessRead: allowed under Write Exclusive reservations held by
	// another nexus, in conflict under Exclusive Access ones.
	AccessRead
	// AccessWrite: in conflict whenever another nexus holds the
	// reservation (a registrant is allowed under the registrants-only
	// and all-registrants types).
	AccessWrite
)

// Handler runs one command. It returns Data-In (cut to the CDB's
// allocation length by the handler) or an error: a *SenseError becomes
// CHECK CONDITION with its sense, ErrConflict RESERVATION CONFLICT, any
// other error HARDWARE ERROR, INTERNAL TARGET FAILURE.
type Handler func(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error)

// Entry is one row of a device's dispatch table.
type Entry struct {
	Handle Handler
	Access Access
	// NoUA: the command is answered even with a unit attention pending
	// and does not clear it (INQUIRY, REPORT LUNS, REQUEST SENSE).
	NoUA bool
}

// ErrConflict makes Execute answer RESERVATION CONFLICT.
var ErrConflict = errors.New("scsi: reservation conflict")

// Identity is what INQUIRY reports.
type Identity struct {
	DeviceType byte // 01h sequential access, 08h medium changer
	Removable  bool
	Vendor     string // 8 bytes
	Product    string // 16 bytes
	Revision   string // 4 bytes
	Serial     string // unit serial number (VPD 80h)
	// NAA is the 64-bit NAA IEEE Registered designator of VPD 83h
	// (NAA 5: 4 bits 5h, 24-bit IEEE company id, 36-bit vendor part).
	NAA uint64
	// Version is the claimed standard, 06h for SPC-4.
	Version byte
	// Descriptors are version descriptors (SPC-4 table 144), up to 8.
	Descriptors []uint16
	// VendorSpecific fills standard INQUIRY bytes 36..55 when set.
	VendorSpecific []byte
}

// Config builds a Unit: its identity, its dispatch table (merged over the
// SPC commands this package answers), its mode and log pages, and VPD
// pages beyond 00h, 80h and 83h.
type Config struct {
	Identity Identity
	Commands map[byte]Entry
	Mode     ModeConfig
	Logs     []LogPage
	VPD      map[byte]func() []byte // page code -> page (header included)
	// Ready answers TEST UNIT READY (and the no-UA case of REQUEST
	// SENSE): nil when ready, the not-ready sense otherwise.
	Ready  func() error
	Logger *slog.Logger
}

// Unit is the SPC part of a logical unit: dispatch, unit attentions,
// reservations, mode and log pages, INQUIRY. A device builds one from a
// Config and hands Execute and Reset to the transport. Every command runs
// under the unit's lock, so a device's handlers see its state serialized.
type Unit struct {
	mu sync.Mutex // serializes commands
	// st guards the unit attentions, the nexuses seen, PREVENT and the
	// reservations: Reset takes only st, so a task-management event never
	// waits for a long command.
	st      sync.Mutex
	id      Identity
	table   map[byte]Entry
	mode    ModeConfig
	logs    []LogPage
	vpd     map[byte]func() []byte
	ready   func() error
	log     *slog.Logger
	ua      map[string][]Code // pending unit attentions by nexus, oldest first
	seen    map[string]bool
	res     reservations
	prevent map[string]bool
}

// NewUnit builds a unit from cfg.
func NewUnit(cfg Config) *Unit {
	u := &Unit{id: cfg.Identity, mode: cfg.Mode, logs: cfg.Logs, vpd: cfg.VPD, ready: cfg.Ready, log: cfg.Logger,
		ua: map[string][]Code{}, seen: map[string]bool{}, prevent: map[string]bool{}}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.id.Version == 0 {
		u.id.Version = 0x06
	}
	u.res.init()
	u.table = map[byte]Entry{
		OpTestUnitReady:        {Handle: u.testUnitReady, Access: AccessAlways},
		OpRequestSense:         {Handle: u.requestSense, Access: AccessAlways, NoUA: true},
		OpInquiry:              {Handle: u.inquiry, Access: AccessAlways, NoUA: true},
		OpModeSense6:           {Handle: u.modeSense, Access: AccessRead},
		OpModeSense10:          {Handle: u.modeSense, Access: AccessRead},
		OpModeSelect6:          {Handle: u.modeSelect, Access: AccessWrite},
		OpModeSelect10:         {Handle: u.modeSelect, Access: AccessWrite},
		OpLogSense:             {Handle: u.logSense, Access: AccessRead},
		OpLogSelect:            {Handle: u.logSelect, Access: AccessWrite},
		OpReserve6:             {Handle: u.reserve, Access: AccessAlways},
		OpReserve10:            {Handle: u.reserve, Access: AccessAlways},
		OpRelease6:             {Handle: u.release, Access: AccessAlways},
		OpRelease10:            {Handle: u.release, Access: AccessAlways},
		OpPersistentReserveIn:  {Handle: u.prIn, Access: AccessAlways},
		OpPersistentReserveOut: {Handle: u.prOut, Access: AccessAlways},
		OpPreventAllow:         {Handle: u.preventAllow, Access: AccessWrite},
	}
	for op, e := range cfg.Commands {
		u.table[op] = e
	}
	return u
}

// Identity returns what INQUIRY reports.
func (u *Unit) Identity() Identity { return u.id }

// Execute runs one command: CDB checks, unit attentions, reservation
// conflicts, then the dispatch table.
func (u *Unit) Execute(ctx context.Context, cmd *Command) Response {
	r := u.execute(ctx, cmd)
	if u.log.Enabled(ctx, slog.LevelDebug) {
		u.log.Debug("scsi command", "unit", u.id.Serial, "nexus", cmd.Nexus, "cdb", fmt.Sprintf("% x", cmd.CDB),
			"out", len(cmd.DataOut), "in", len(r.Data), "status", r.Status, "sense", fmt.Sprintf("% x", r.Sense))
	}
	return r
}

func (u *Unit) execute(ctx context.Context, cmd *Command) Response {
	if err := ctx.Err(); err != nil {
		return Response{Status: StatusTaskAborted}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(cmd.CDB) == 0 {
		return CheckCondition(InvalidField(0, -1))
	}
	e, ok := u.table[cmd.CDB[0]]
	if !ok {
		return CheckCondition(NewSense(KeyIllegalRequest, CodeInvalidOpcode))
	}
	cdb, err := ParseCDB(cmd.CDB)
	if err != nil {
		return u.response(nil, err)
	}
	u.st.Lock()
	u.seen[cmd.Nexus] = true
	if !e.NoUA {
		if c, ok := u.popUA(cmd.Nexus); ok {
			u.st.Unlock()
			return CheckCondition(NewSense(KeyUnitAttention, c))
		}
	}
	conflict := u.conflict(cmd.Nexus, e.Access)
	u.st.Unlock()
	if conflict {
		return Response{Status: StatusReservationConflict}
	}
	data, err := e.Handle(ctx, cmd, cdb)
	return u.response(data, err)
}

func (u *Unit) response(data []byte, err error) Response {
	if err == nil {
		return Response{Status: StatusGood, Data: data}
	}
	var se *SenseError
	switch {
	case errors.As(err, &se):
		r := CheckCondition(se)
		r.Data = data // READ with ILI or filemark still returns what it read
		return r
	case errors.Is(err, ErrConflict):
		return Response{Status: StatusReservationConflict}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Response{Status: StatusTaskAborted}
	}
	u.log.Error("scsi command failed", "err", err)
	return CheckCondition(NewSense(KeyHardwareError, CodeInternalFailure))
}

// Locked runs f under the unit's lock, as handlers run: a device uses it
// for work that does not come through Execute (a changer loading a drive).
func (u *Unit) Locked(f func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f()
}

// Reset reports a task-management event or a nexus's arrival or loss.
func (u *Unit) Reset(kind ResetKind, nexus string) {
	u.st.Lock()
	defer u.st.Unlock()
	switch kind {
	case ResetNexusLoss:
		u.seen[nexus] = true
		u.ua[nexus] = []Code{CodePowerOnReset}
		delete(u.prevent, nexus)
		if u.res.holder6 == nexus {
			u.res.holder6 = ""
		}
	default:
		for n := range u.seen {
			u.ua[n] = []Code{CodePowerOnReset}
		}
		u.prevent = map[string]bool{}
		u.res.holder6 = ""
	}
}

// Attention queues a unit attention for every nexus the unit has seen
// (media change: CodeNotReadyToReady). addUA and popUA need st held.
func (u *Unit) Attention(c Code) {
	u.st.Lock()
	defer u.st.Unlock()
	for n := range u.seen {
		u.addUA(n, c)
	}
}

func (u *Unit) addUA(nexus string, c Code) {
	for _, have := range u.ua[nexus] {
		if have == c {
			return
		}
	}
	u.ua[nexus] = append(u.ua[nexus], c)
}

func (u *Unit) popUA(nexus string) (Code, bool) {
	q := u.ua[nexus]
	if len(q) == 0 {
		return 0, false
	}
	c := q[0]
	if len(q) == 1 {
		delete(u.ua, nexus)
	} else {
		u.ua[nexus] = q[1:]
	}
	return c, true
}

// Prevented reports whether some nexus prevents medium removal.
func (u *Unit) Prevented() bool {
	u.st.Lock()
	defer u.st.Unlock()
	return len(u.prevent) > 0
}

// AllowRemoval clears every nexus's PREVENT (the medium went away).
func (u *Unit) AllowRemoval() {
	u.st.Lock()
	defer u.st.Unlock()
	u.prevent = map[string]bool{}
}

func (u *Unit) testUnitReady(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	if u.ready != nil {
		return nil, u.ready()
	}
	return nil, nil
}

func (u *Unit) requestSense(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	if cdb[1]&0x01 != 0 { // DESC: descriptor format not supported
		return nil, InvalidField(1, 0)
	}
	var s *SenseError
	u.st.Lock()
	c, ok := u.popUA(cmd.Nexus)
	u.st.Unlock()
	if ok {
		s = NewSense(KeyUnitAttention, c)
	} else if u.ready != nil {
		_ = errors.As(u.ready(), &s) // the not-ready condition, if any
	}
	if s == nil {
		s = NewSense(KeyNoSense, CodeNoAdditional)
	}
	return Trim(s.Bytes(), uint32(cdb[4])), nil
}

func (u *Unit) preventAllow(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	if err := cdb.Reserved(4, 0xfc); err != nil {
		return nil, err
	}
	u.st.Lock()
	defer u.st.Unlock()
	if cdb[4]&0x03 != 0 {
		u.prevent[cmd.Nexus] = true
	} else {
		delete(u.prevent, cmd.Nexus)
	}
	return nil, nil
}
