package iscsi

import (
	"strconv"
	"strings"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
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
	var ans string
	switch k {
	case "HeaderDigest", "DataDigest":
		ans = n.digest(k, v)
	case "MaxRecvDataSegmentLength": // declarative: no answer
		if x, ok := number(v, 512, wire.MaxDataSegment); ok {
			n.p.maxXmit = x
			return
		}
		ans = "Reject"
	case "MaxBurstLength", "FirstBurstLength", "MaxOutstandingR2T", "ErrorRecoveryLevel",
		"MaxConnections", "DefaultTime2Wait", "DefaultTime2Retain":
		ans = n.numeric(k, v)
	case "InitialR2T", "DataPDUInOrder", "DataSequenceInOrder", "ImmediateData", "IFMarker", "OFMarker":
		ans = n.boolean(k, v)
	case "OFMarkInt", "IFMarkInt":
		ans = "Irrelevant"
	default:
		ans = "NotUnderstood"
	}
	out.Set(k, ans)
}

// digest picks the first of the initiator's digests we support.
func (n *negotiator) digest(k, v string) string {
	for _, o := range strings.Split(v, ",") {
		switch o = strings.TrimSpace(o); o {
		case "CRC32C", "None":
			if k == "HeaderDigest" {
				n.p.headerDigest = o == "CRC32C"
			} else {
				n.p.dataDigest = o == "CRC32C"
			}
			return o
		}
	}
	return "Reject"
}

// numeric answers the numerical keys: the smaller (or, for
// DefaultTime2Wait, the larger) of the offer and the target's limit.
func (n *negotiator) numeric(k, v string) string {
	sessionOnly := k != "ErrorRecoveryLevel" && k != "DefaultTime2Wait" && k != "DefaultTime2Retain"
	if n.discovery && sessionOnly {
		return "Irrelevant"
	}
	lo, hi := 0, 3600
	switch k {
	case "MaxBurstLength", "FirstBurstLength":
		lo, hi = 512, wire.MaxDataSegment
	case "MaxOutstandingR2T", "MaxConnections":
		lo, hi = 1, 65535
	case "ErrorRecoveryLevel":
		hi = 2
	}
	x, ok := number(v, lo, hi)
	if !ok {
		return "Reject"
	}
	switch k {
	case "MaxBurstLength":
		n.p.maxBurst, n.mb = min(x, n.lim.MaxBurstLength), true
		x = n.p.maxBurst
	case "FirstBurstLength":
		n.p.firstBurst, n.fb = min(x, n.lim.FirstBurstLength), true
		x = n.p.firstBurst
	case "MaxOutstandingR2T":
		n.p.maxOutstandingR2T = min(x, n.lim.MaxOutstandingR2T)
		x = n.p.maxOutstandingR2T
	case "ErrorRecoveryLevel":
		n.p.errorRecoveryLevel, x = 0, 0
	case "MaxConnections":
		x = 1
	case "DefaultTime2Wait":
		n.p.time2Wait = max(x, n.lim.DefaultTime2Wait)
		x = n.p.time2Wait
	case "DefaultTime2Retain":
		n.p.time2Retain = min(x, n.lim.DefaultTime2Retain)
		x = n.p.time2Retain
	}
	return strconv.Itoa(x)
}

// boolean answers the Yes/No keys: InitialR2T and the in-order keys are
// OR-ed (we want Yes), ImmediateData and the markers AND-ed.
func (n *negotiator) boolean(k, v string) string {
	b, ok := boolean(v)
	if !ok {
		return "Reject"
	}
	if n.discovery && (k == "InitialR2T" || k == "ImmediateData" || k == "DataPDUInOrder" || k == "DataSequenceInOrder") {
		return "Irrelevant"
	}
	switch k {
	case "InitialR2T":
		n.p.initialR2T = b || n.lim.InitialR2T
		return yesNo(n.p.initialR2T)
	case "ImmediateData":
		n.p.immediateData = b && n.lim.ImmediateData
		return yesNo(n.p.immediateData)
	case "IFMarker", "OFMarker":
		return "No"
	}
	return "Yes" // DataPDUInOrder, DataSequenceInOrder: we accept data in order only
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
