package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// listenerFlag is one of serve's listeners as the first-start check sees
// it.
type listenerFlag struct {
	flag, name string
	component  string  // its part in the appliance's health
	none       string  // the flag's value that turns it off
	addr       *string // the flag's value; set to none when skipped
}

// notListening is a default listener that could not bind: serve runs
// without it, says so with the flag that changes it, and marks its part
// of the health failed.
type notListening struct {
	component, reason string
}

// listeners are serve's listeners, web first: without it serve is of no
// use, so it must bind even when its address is the default.
func (f *serveFlags) listeners() []listenerFlag {
	return []listenerFlag{
		{"web", "web UI", appliance.ComponentWeb, "", &f.web},
		{"catalyst", "Catalyst", appliance.ComponentCatalyst, "off", &f.catalyst},
		{"replication", "replication", appliance.ComponentReplication, "", &f.replication},
		{"smb", "SMB", appliance.ComponentSMB, "", &f.smb},
		{"nfs", "NFS", "", "", &f.nfs},
		{"iscsi", "iSCSI", appliance.ComponentISCSI, "", &f.iscsi},
	}
}

// checkListeners binds every listener's address and lets it go, before
// serve creates anything (data directory, admin user, certificate). A
// listener named on the command line that cannot bind is an error; so is
// the web one. Any other is switched off and returned, to be reported
// and marked in the health.
func (f *serveFlags) checkListeners() ([]notListening, error) {
	var skipped []notListening
	for _, l := range f.listeners() {
		addr := *l.addr
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			continue
		}
		why := bindError(addr, err)
		if f.explicit[l.flag] || l.flag == "web" {
			return nil, fmt.Errorf("%s %w: %s (--%s ADDR for another address%s); nothing was created",
				l.name, errListen, why, l.flag, offHint(l))
		}
		*l.addr = l.none
		if *l.addr == "off" {
			*l.addr = ""
		}
		skipped = append(skipped, notListening{component: l.component,
			reason: fmt.Sprintf("%s not listening: %s; use --%s ADDR%s", l.name, why, l.flag, offHint(l))})
	}
	return skipped, nil
}

// errListen is serve's error for a listener it was told to use that
// cannot bind.
var errListen = errors.New("cannot listen")

func offHint(l listenerFlag) string {
	if l.flag == "web" {
		return ""
	}
	return fmt.Sprintf(", or --%s %q for none", l.flag, l.none)
}

// bindError words a failed listen as "bind ADDR: permission denied".
func bindError(addr string, err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s %s: %v", se.Syscall, addr, se.Err)
	}
	return err.Error()
}
