package web

import (
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/dedup"
)

// TestCommitFailureMetrics: the front ends' failed commits are on
// /metrics, every protocol and reason from 0.
func TestCommitFailureMetrics(t *testing.T) {
	var f dedup.CommitFailures
	f.CommitFailed("smb", dedup.ReasonFull)
	f.CommitFailed("smb", dedup.ReasonFull)
	f.CommitFailed("iscsi", dedup.ReasonIO)
	e := newEnv(t, withOptions(func(o *Options) { o.CommitFailures = &f }))
	r := e.do(req{method: "GET", path: "/metrics"})
	if r.status != 200 {
		t.Fatalf("metrics %d", r.status)
	}
	for _, want := range []string{
		`backstop_commit_failures_total{protocol="smb",reason="full"} 2`,
		`backstop_commit_failures_total{protocol="iscsi",reason="io"} 1`,
		`backstop_commit_failures_total{protocol="catalyst",reason="full"} 0`,
		`backstop_commit_failures_total{protocol="replication",reason="immutable"} 0`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
