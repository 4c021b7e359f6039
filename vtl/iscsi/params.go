package iscsi

import (
	"strconv"
	"strings"

	"backstop/vtl/iscsi/wire"
)

// params are a connection's and its session's negotiated values.
type params struct {
	headerDigest, dataDigest bool
	maxRecv                  int // MaxRecvDataSegmentLength we declared
	maxXmit                  int // the initiator's MaxRecvDataSegmentLength
	maxBurst, firstBurst     int
	initialR2T               bool
	immediateData            bool
	maxOutstandingR2T        int
	errorRecoveryLevel       int
	maxConnections           int
	time2Wait, time2Retain   int
}

// defaultParams are RFC 7143's defaults: what holds for a key nobody
// negotiated.
func defaultParams() params {
	return params{
		maxRecv: 8192, maxXmit: 8192,
		maxBurst: 262144, firstBurst: 65536,
		initialR2T: true, immediateData: true,
		maxOutstandingR2T: 1, maxConnections: 1,
		time2Wait: 2, time2Retain: 20,
	}
}

func (p params) digests() wire.Digests {
	return wire.Digests{Header: p.headerDigest, Data: p.dataDigest}
}

// negotiator answers the initiator's operational keys from the target's
// limits. A key answered once is not answered again (RFC 7143 5.3).
type negotiator struct {
	lim       Limits
	p         params
	discovery bool
	answered  map[string]bool
	declared  bool // our MaxRecvDataSegmentLength was sent
	fb, mb    bool // FirstBurstLength / MaxBurstLength seen
}

func newNegotiator(lim Limits, discovery bool) *negotiator {
	return &negotiator{lim: lim, p: defaultParams(), discovery: discovery, answered: map[string]bool{}}
}

// keys that belong to the security stage or to login in general, handled
// by the login code.
var loginKeys = map[string]bool{
	"InitiatorName": true, "InitiatorAlias": true, "TargetName": true, "SessionType": true,
	"AuthMethod": true, "CHAP_A": true, "CHAP_N": true, "CHAP_R": true, "CHAP_I": true, "CHAP_C": true,
}

// answer negotiates one operational key and appends the answer to out.
func (n *negotiator) answer(k, v string, out *wire.Text) {
	if n.answered[k] {
		return
	}
	n.answered[k] = true
	switch k {
	case "HeaderDigest", "DataDigest":
		choice := ""
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			if o == "CRC32C" || o == "None" {
				choice = o
				break
			}
		}
		if choice == "" {
			out.Set(k, "Reject")
			return
		}
		if k == "HeaderDigest" {
			n.p.headerDigest = choice == "CRC32C"
		} else {
			n.p.dataDigest = choice == "CRC32C"
		}
		out.Set(k, choice)
	case "MaxRecvDataSegmentLength": // declarative
		x, ok := number(v, 512, wire.MaxDataSegment)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		n.p.maxXmit = x
	case "MaxBurstLength", "FirstBurstLength":
		if n.discovery {
			out.Set(k, "Irrelevant")
			return
		}
		x, ok := number(v, 512, wire.MaxDataSegment)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		if k == "MaxBurstLength" {
			x = min(x, n.lim.MaxBurstLength)
			n.p.maxBurst, n.mb = x, true
		} else {
			x = min(x, n.lim.FirstBurstLength)
			n.p.firstBurst, n.fb = x, true
		}
		out.Set(k, strconv.Itoa(x))
	case "InitialR2T", "DataPDUInOrder", "DataSequenceInOrder": // OR
		b, ok := boolean(v)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		if n.discovery {
			out.Set(k, "Irrelevant")
			return
		}
		if k == "InitialR2T" {
			n.p.initialR2T = b || n.lim.InitialR2T
			out.Set(k, yesNo(n.p.initialR2T))
			return
		}
		out.Set(k, "Yes") // we deliver and accept data in order only
	case "ImmediateData", "IFMarker", "OFMarker": // AND
		b, ok := boolean(v)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		if n.discovery && k == "ImmediateData" {
			out.Set(k, "Irrelevant")
			return
		}
		if k == "ImmediateData" {
			n.p.immediateData = b && n.lim.ImmediateData
			out.Set(k, yesNo(n.p.immediateData))
			return
		}
		out.Set(k, "No")
	case "OFMarkInt", "IFMarkInt":
		out.Set(k, "Irrelevant")
	case "MaxOutstandingR2T":
		if n.discovery {
			out.Set(k, "Irrelevant")
			return
		}
		x, ok := number(v, 1, 65535)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		n.p.maxOutstandingR2T = min(x, n.lim.MaxOutstandingR2T)
		out.Set(k, strconv.Itoa(n.p.maxOutstandingR2T))
	case "ErrorRecoveryLevel":
		if _, ok := number(v, 0, 2); !ok {
			out.Set(k, "Reject")
			return
		}
		n.p.errorRecoveryLevel = 0
		out.Set(k, "0")
	case "MaxConnections":
		if n.discovery {
			out.Set(k, "Irrelevant")
			return
		}
		if _, ok := number(v, 1, 65535); !ok {
			out.Set(k, "Reject")
			return
		}
		out.Set(k, "1")
	case "DefaultTime2Wait":
		x, ok := number(v, 0, 3600)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		n.p.time2Wait = max(x, n.lim.DefaultTime2Wait)
		out.Set(k, strconv.Itoa(n.p.time2Wait))
	case "DefaultTime2Retain":
		x, ok := number(v, 0, 3600)
		if !ok {
			out.Set(k, "Reject")
			return
		}
		n.p.time2Retain = min(x, n.lim.DefaultTime2Retain)
		out.Set(k, strconv.Itoa(n.p.time2Retain))
	default:
		out.Set(k, "NotUnderstood")
	}
}

// finish fixes up values that depend on each other and appends the
// target's declarations that have not been sent yet.
func (n *negotiator) finish(out *wire.Text) {
	if !n.declared {
		n.declared = true
		n.p.maxRecv = n.lim.MaxRecvDataSegmentLength
		out.Set("MaxRecvDataSegmentLength", strconv.Itoa(n.p.maxRecv))
	}
	if !n.mb {
		n.p.maxBurst = min(n.p.maxBurst, n.lim.MaxBurstLength)
	}
	if !n.fb {
		n.p.firstBurst = min(n.p.firstBurst, n.lim.FirstBurstLength)
	}
	if n.p.firstBurst > n.p.maxBurst {
		n.p.firstBurst = n.p.maxBurst
	}
}

func number(v string, lo, hi int) (int, bool) {
	x, err := wire.ParseNumber(v)
	if err != nil || x < uint64(lo) || x > uint64(hi) {
		return 0, false
	}
	return int(x), true
}

func boolean(v string) (bool, bool) {
	switch v {
	case "Yes":
		return true, true
	case "No":
		return false, true
	}
	return false, false
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
