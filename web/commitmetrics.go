package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/dedup"
)

// CommitFailureCounts are the front ends' failed commits by protocol and
// reason (dedup.CommitFailures): data a client sent that was not stored
// and that the client was told about (docs/durability.md).
type CommitFailureCounts interface {
	Counts() []dedup.FailureCount
}

var descCommitFailures = prometheus.NewDesc("backstop_commit_failures_total",
	"Commits of client data that failed and were reported to the client, by protocol (smb, iscsi, catalyst, replication) and reason (full, immutable, io).",
	[]string{"protocol", "reason"}, nil)

// commitFailureCollector exports the counts at scrape time.
type commitFailureCollector struct{ c CommitFailureCounts }

func (cc commitFailureCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descCommitFailures }

// Collect sends every protocol and reason, 0 when none failed, so that
// rate() and alerts work before the first failure.
func (cc commitFailureCollector) Collect(ch chan<- prometheus.Metric) {
	n := map[dedup.FailureKey]int64{}
	for _, p := range []string{"smb", "iscsi", "catalyst", "replication"} {
		for _, r := range []string{dedup.ReasonFull, dedup.ReasonImmutable, dedup.ReasonIO} {
			n[dedup.FailureKey{Protocol: p, Reason: r}] = 0
		}
	}
	for _, f := range cc.c.Counts() {
		n[f.FailureKey] = f.Count
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(descCommitFailures, prometheus.CounterValue, float64(v), k.Protocol, k.Reason)
	}
}
