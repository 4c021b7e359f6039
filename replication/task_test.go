package replication

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestPassesAreTasks: a pass with items to send is a task with progress
// and a log; an empty poll is none; of a streak of failed passes only the
// first is.
func TestPassesAreTasks(t *testing.T) {
	ctx := context.Background()
	tasks := appliance.OpenTaskLog(appliance.TaskLogOptions{})
	a := newNodeWith(t, t.TempDir(), engineOptions(), func(o *Options) { o.Tasks = tasks })
	b := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "mon", testData(1, 1<<20))
	a.put("default", "tue", testData(2, 1<<20))
	a.mapTo(b, "m", "default", "copy", "")
	for range 2 { // the second pass finds nothing to send
		if err := a.svc.Sync(ctx, "m"); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := tasks.List(appliance.TaskFilter{Limit: 10})
	if len(list) != 1 {
		t.Fatalf("%d tasks after a pass and an empty one: %+v", len(list), list)
	}
	tk, err := tasks.Get(list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, l := range tk.Log {
		log = append(log, l.Text)
	}
	if tk.Kind != appliance.TaskReplication || tk.State != appliance.JobDone || tk.Progress != 1 || tk.Store != "default" ||
		tk.Text != "2 of 2 items" || !strings.Contains(strings.Join(log, "\n"), "sent tue") {
		t.Fatalf("pass task %+v, log %q", tk, log)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	if _, err := a.svc.CreateMapping(Mapping{Name: "dead", SourceStore: "default", Target: dead, TargetFingerprint: b.fp(), TargetStore: "x"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := a.svc.Sync(ctx, "dead"); err == nil {
			t.Fatal("a pass to a closed port succeeded")
		}
	}
	failed, _ := tasks.List(appliance.TaskFilter{State: appliance.JobFailed, Limit: 10})
	if len(failed) != 1 || !strings.Contains(failed[0].Error, "connect to "+dead) {
		t.Fatalf("failed tasks after three failed passes: %+v", failed)
	}
}
