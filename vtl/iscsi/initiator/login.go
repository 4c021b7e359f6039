package initiator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// Config says how to log in.
type Config struct {
	InitiatorName string
	// TargetName is empty for a discovery session.
	TargetName string
	// ISID; zero picks a random one (type 10b, "random").
	ISID [6]byte
	// CHAP: the initiator's name and secret; MutualSecret (with
	// MutualUser) makes the initiator challenge the target too.
	CHAPUser, CHAPSecret     string
	MutualUser, MutualSecret string

	HeaderDigest, DataDigest bool
	// Offered values; zero means the RFC default (8192, 262144, 65536).
	MaxRecvDataSegmentLength int
	MaxBurstLength           int
	FirstBurstLength         int
	InitialR2T               bool
	ImmediateData            bool
	// ExtraKeys are offered in the operational stage as they are (for
	// negotiation tests).
	ExtraKeys wire.Text
	// SkipOperational goes from the security stage straight to the full
	// feature phase.
	SkipOperational bool
	// IgnorePings leaves the target's NOP-In pings unanswered.
	IgnorePings bool
}

// Params are the session's negotiated values.
type Params struct {
	HeaderDigest, DataDigest bool
	MaxRecv, MaxXmit         int // ours, the target's MaxRecvDataSegmentLength
	MaxBurst, FirstBurst     int
	InitialR2T               bool
	ImmediateData            bool
	// Answers holds every key=value the target sent during login.
	Answers map[string]string
}

// LoginError is a login the target refused with a status.
type LoginError struct{ Class, Detail byte }

func (e *LoginError) Error() string {
	return fmt.Sprintf("iscsi initiator: login refused, status %02x%02x", e.Class, e.Detail)
}

// ErrAuth is a target whose mutual CHAP answer is wrong.
var ErrAuth = errors.New("iscsi initiator: target failed mutual CHAP")

// Dial connects to addr and logs in.
func Dial(ctx context.Context, addr string, cfg Config) (*Session, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := Login(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

type login struct {
	nc      net.Conn
	cfg     Config
	isid    [6]byte
	itt     uint32
	cmdSN   uint32
	expStat uint32
	tsih    uint16
	ans     map[string]string
}

// Login logs in over an open connection.
func Login(ctx context.Context, nc net.Conn, cfg Config) (*Session, error) {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(30 * time.Second))
	}
	defer nc.SetDeadline(time.Time{})
	l := &login{nc: nc, cfg: cfg, isid: cfg.ISID, ans: map[string]string{}, cmdSN: 1, itt: 0x10000}
	if l.isid == ([6]byte{}) {
		rand.Read(l.isid[1:])
		l.isid[0] = 0x80
	}
	first := wire.Text{{Key: "InitiatorName", Value: cfg.InitiatorName}}
	if cfg.TargetName == "" {
		first = append(first, wire.KV{Key: "SessionType", Value: "Discovery"})
	} else {
		first = append(first, wire.KV{Key: "SessionType", Value: "Normal"}, wire.KV{Key: "TargetName", Value: cfg.TargetName})
	}
	nsgAfterSec := byte(1)
	if cfg.SkipOperational {
		nsgAfterSec = 3
	}
	if cfg.CHAPUser != "" {
		first = append(first, wire.KV{Key: "AuthMethod", Value: "CHAP,None"})
		if err := l.chap(first, nsgAfterSec); err != nil {
			return nil, err
		}
	} else {
		first = append(first, wire.KV{Key: "AuthMethod", Value: "None"})
		if _, err := l.exchangeUntil(0, nsgAfterSec, first); err != nil {
			return nil, err
		}
	}
	p := Params{MaxRecv: 8192, MaxXmit: 8192, MaxBurst: 262144, FirstBurst: 65536, InitialR2T: true, ImmediateData: true}
	if !cfg.SkipOperational {
		if err := l.operational(&p); err != nil {
			return nil, err
		}
	}
	p.Answers = l.ans
	return newSession(nc, cfg, l, p), nil
}

// chap runs the security stage with CHAP.
func (l *login) chap(first wire.Text, nsg byte) error {
	kv, err := l.step(0, nsg, false, first)
	if err != nil {
		return err
	}
	if m := kv["AuthMethod"]; m != "CHAP" {
		return fmt.Errorf("iscsi initiator: target chose AuthMethod %q", m)
	}
	kv, err = l.step(0, nsg, false, wire.Text{{Key: "CHAP_A", Value: wire.CHAPMD5}})
	if err != nil {
		return err
	}
	id, err := strconv.Atoi(kv["CHAP_I"])
	if err != nil {
		return fmt.Errorf("iscsi initiator: CHAP_I %q", kv["CHAP_I"])
	}
	chal, err := wire.ParseBinary(kv["CHAP_C"])
	if err != nil {
		return err
	}
	out := wire.Text{{Key: "CHAP_N", Value: l.cfg.CHAPUser},
		{Key: "CHAP_R", Value: wire.FormatBinary(wire.CHAPResponse(byte(id), l.cfg.CHAPSecret, chal))}}
	var myID byte
	var myChal []byte
	if l.cfg.MutualSecret != "" {
		myID, myChal = wire.NewChallenge()
		out = append(out, wire.KV{Key: "CHAP_I", Value: strconv.Itoa(int(myID))}, wire.KV{Key: "CHAP_C", Value: wire.FormatBinary(myChal)})
	}
	kv, err = l.exchangeUntil(0, nsg, out)
	if err != nil {
		return err
	}
	if l.cfg.MutualSecret != "" {
		r, err := wire.ParseBinary(kv["CHAP_R"])
		if err != nil || kv["CHAP_N"] != l.cfg.MutualUser || string(r) != string(wire.CHAPResponse(myID, l.cfg.MutualSecret, myChal)) {
			return ErrAuth
		}
	}
	return nil
}

// operational offers the operational keys and records the results.
func (l *login) operational(p *Params) error {
	c := l.cfg
	dig := func(b bool) string {
		if b {
			return "CRC32C,None"
		}
		return "None"
	}
	or := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	p.MaxRecv = or(c.MaxRecvDataSegmentLength, 8192)
	out := wire.Text{
		{Key: "HeaderDigest", Value: dig(c.HeaderDigest)},
		{Key: "DataDigest", Value: dig(c.DataDigest)},
		{Key: "MaxRecvDataSegmentLength", Value: strconv.Itoa(p.MaxRecv)},
	}
	if c.TargetName != "" {
		out = append(out,
			wire.KV{Key: "InitialR2T", Value: yesNo(c.InitialR2T)},
			wire.KV{Key: "ImmediateData", Value: yesNo(c.ImmediateData)},
			wire.KV{Key: "MaxBurstLength", Value: strconv.Itoa(or(c.MaxBurstLength, 262144))},
			wire.KV{Key: "FirstBurstLength", Value: strconv.Itoa(or(c.FirstBurstLength, 65536))},
			wire.KV{Key: "MaxOutstandingR2T", Value: "1"},
			wire.KV{Key: "MaxConnections", Value: "1"},
			wire.KV{Key: "DataPDUInOrder", Value: "Yes"},
			wire.KV{Key: "DataSequenceInOrder", Value: "Yes"},
			wire.KV{Key: "ErrorRecoveryLevel", Value: "0"},
			wire.KV{Key: "DefaultTime2Wait", Value: "2"},
			wire.KV{Key: "DefaultTime2Retain", Value: "0"},
			wire.KV{Key: "IFMarker", Value: "No"},
			wire.KV{Key: "OFMarker", Value: "No"},
		)
	}
	for _, kv := range c.ExtraKeys {
		out.Set(kv.Key, kv.Value)
	}
	if _, err := l.exchangeUntil(1, 3, out); err != nil {
		return err
	}
	a := l.ans
	p.HeaderDigest = a["HeaderDigest"] == "CRC32C"
	p.DataDigest = a["DataDigest"] == "CRC32C"
	if v, err := strconv.Atoi(a["MaxRecvDataSegmentLength"]); err == nil {
		p.MaxXmit = v
	}
	if v, err := strconv.Atoi(a["MaxBurstLength"]); err == nil {
		p.MaxBurst = v
	}
	if v, err := strconv.Atoi(a["FirstBurstLength"]); err == nil {
		p.FirstBurst = v
	}
	if v, ok := a["InitialR2T"]; ok {
		p.InitialR2T = v == "Yes"
	}
	if v, ok := a["ImmediateData"]; ok {
		p.ImmediateData = v == "Yes"
	}
	return nil
}

// exchangeUntil sends keys with the transit bit to nsg and repeats empty
// requests until the target grants the transit.
func (l *login) exchangeUntil(csg, nsg byte, kv wire.Text) (map[string]string, error) {
	all := map[string]string{}
	for i := 0; i < 8; i++ {
		got, err := l.step(csg, nsg, true, kv)
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			all[k] = v
		}
		if got["\x00transit"] == "yes" {
			delete(all, "\x00transit")
			return all, nil
		}
		kv = nil
	}
	return nil, errors.New("iscsi initiator: target never grants the stage transition")
}

// step sends one Login Request and reads its response.
func (l *login) step(csg, nsg byte, transit bool, kv wire.Text) (map[string]string, error) {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpLoginReq, true)
	p.BHS[1] = csg<<2 | nsg
	if transit {
		p.BHS[1] |= wire.FlagTransit
	}
	copy(p.BHS[8:14], l.isid[:])
	p.BHS[14], p.BHS[15] = byte(l.tsih>>8), byte(l.tsih)
	p.SetUint32(16, l.itt)
	p.SetUint32(24, l.cmdSN)
	p.SetUint32(28, l.expStat)
	p.Data = kv.Encode()
	if err := wire.WritePDU(l.nc, p, wire.Digests{}); err != nil {
		return nil, err
	}
	r, err := wire.ReadPDU(l.nc, wire.Digests{}, 1<<20)
	if err != nil {
		return nil, err
	}
	if r.Opcode() != wire.OpLoginResp {
		return nil, fmt.Errorf("iscsi initiator: opcode %#x during login", r.Opcode())
	}
	l.expStat = r.Uint32(24) + 1
	if r.BHS[36] != 0 || r.BHS[37] != 0 {
		return nil, &LoginError{r.BHS[36], r.BHS[37]}
	}
	l.tsih = uint16(r.BHS[14])<<8 | uint16(r.BHS[15])
	got, err := wire.ParseText(r.Data)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, x := range got {
		m[x.Key] = x.Value
		l.ans[x.Key] = x.Value
	}
	if r.Flags()&wire.FlagTransit != 0 {
		if r.Flags()&3 != nsg {
			return nil, fmt.Errorf("iscsi initiator: target moved to stage %d", r.Flags()&3)
		}
		m["\x00transit"] = "yes"
	}
	return m, nil
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// ParseTargets turns SendTargets text into name -> addresses.
func ParseTargets(t wire.Text) map[string][]string {
	out := map[string][]string{}
	var cur string
	for _, kv := range t {
		switch kv.Key {
		case "TargetName":
			cur = kv.Value
			if _, ok := out[cur]; !ok {
				out[cur] = nil // listed even without an address
			}
		case "TargetAddress":
			if cur != "" {
				out[cur] = append(out[cur], strings.TrimSpace(kv.Value))
			}
		}
	}
	return out
}
