package iscsi_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// TestShutdownEndsSessions: when Shutdown returns, every session has ended
// with a nexus loss the devices heard of, and nothing listens any more.
func TestShutdownEndsSessions(t *testing.T) {
	f := start(t, nil)
	s := f.dial(t, cfg())
	if len(f.srv.Sessions()) != 1 {
		t.Fatalf("sessions %+v", f.srv.Sessions())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tape.resetKinds(); !slices.Equal(got, []scsi.ResetKind{scsi.ResetNexusLoss, scsi.ResetNexusLoss}) {
		t.Errorf("resets %v, want a nexus loss at login and one at Shutdown", got)
	}
	if n := len(f.srv.Sessions()); n != 0 {
		t.Errorf("%d sessions after Shutdown", n)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Error("the initiator's session did not end")
	}
	if c, err := net.DialTimeout("tcp", f.addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting after Shutdown")
	}
}

// TestStartBusy: Start on a port in use returns the listen error.
func TestStartBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	opts := iscsi.DefaultOptions()
	opts.Addr = busy.Addr().String()
	srv := iscsi.New(&source{}, opts)
	if err := srv.Start(context.Background()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start: %v, want EADDRINUSE", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
