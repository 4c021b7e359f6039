package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/backstop-appliance/backstop/nas/nfs"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// nfsFlagUsage says what --nfs does and why it is off by default: NFSv3
// with AUTH_SYS trusts the uid a client asserts and admits clients by
// address, and port 2049 is often a host's own nfsd; an appliance opens
// it only when told to. Shares are exported only once their NFS export
// is enabled (with client networks).
const nfsFlagUsage = `NFSv3 and MOUNT address of the shares whose NFS export is enabled, both on one port ` +
	`(clients mount with port=P,mountport=P,mountproto=tcp, no rpcbind); default "": off`

// newNFS makes the NFS server of the shares.
func newNFS(addr string, shares *sharefs.Manager, log *slog.Logger) *nfs.Server {
	o := nfs.DefaultOptions(addr)
	o.Logger = log
	return nfs.New(shares, o)
}

// printNFS tells where NFS listens and how a Linux client mounts.
func printNFS(e *env, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		port = "2049"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "APPLIANCE"
	}
	fmt.Fprintf(e.stdout, "  NFS exports: %s (shares with nfs.enabled; mount -t nfs -o vers=3,proto=tcp,port=%s,mountport=%s,mountproto=tcp %s:/SHARE DIR)\n",
		addr, port, port, host)
}
