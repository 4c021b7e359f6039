package main

import (
	"fmt"
	"log/slog"

	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// vtlTargets serves the libraries' targets to the iSCSI server: each
// library is one target, LUN 0 its changer, LUN 1.. its drives.
type vtlTargets struct{ libs *library.Manager }

func (v vtlTargets) Targets() []iscsi.Target {
	lt := v.libs.Targets()
	out := make([]iscsi.Target, 0, len(lt))
	for _, t := range lt {
		out = append(out, iscsi.Target{Name: t.Name, Alias: t.Alias, LUNs: t.LUNs, CHAP: iscsi.CHAP(t.CHAP)})
	}
	return out
}

// newISCSI makes the iSCSI server of the libraries' targets on addr.
func newISCSI(addr string, libs *library.Manager, logins iscsi.LoginLimiter, log *slog.Logger) *iscsi.Server {
	opts := iscsi.DefaultOptions()
	opts.Addr, opts.Logger, opts.Logins = addr, log, logins
	return iscsi.New(vtlTargets{libs}, opts)
}

// printISCSI tells where the libraries' targets are.
func printISCSI(e *env, addr string, libs *library.Manager) {
	fmt.Fprintf(e.stdout, "  iSCSI virtual tape libraries: %s\n", addr)
	for _, t := range libs.Targets() {
		fmt.Fprintf(e.stdout, "    target %s (%s)\n", t.Name, t.Alias)
	}
}
