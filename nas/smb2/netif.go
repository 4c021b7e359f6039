package smb2

import (
	"encoding/binary"
	"net"
)

// netifLinkSpeed is the LinkSpeed reported for the interface (bits per
// second). The server does not do multichannel (docs/smb.md), so clients
// only display it.
const netifLinkSpeed = 10_000_000_000

// networkInterfaces answers FSCTL_QUERY_NETWORK_INTERFACE_INFO
// ([MS-SMB2] 3.3.5.15.11, 2.2.32.5) with one NETWORK_INTERFACE_INFO:
// the address this connection reached, neither RSS- nor RDMA-capable.
// SMB2_GLOBAL_CAP_MULTI_CHANNEL stays off: without session binding a
// client must not open more channels.
func (c *conn) networkInterfaces(fid fileID) ([]byte, Status) {
	if fid.Persistent != ^uint64(0) || fid.Volatile != ^uint64(0) {
		return nil, StatusInvalidParameter
	}
	if c.dialect < dialect300 {
		return nil, StatusNotSupported
	}
	var ip net.IP
	if a, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
		ip = a.IP
	}
	var sa [128]byte
	if ip4 := ip.To4(); ip4 != nil {
		binary.LittleEndian.PutUint16(sa[0:], 0x0002) // InterNetwork
		copy(sa[4:8], ip4)                            // port 0 before it
	} else if len(ip) == net.IPv6len {
		binary.LittleEndian.PutUint16(sa[0:], 0x0017) // InterNetworkV6
		copy(sa[8:24], ip)                            // after port and flow info
	} else {
		return nil, StatusNotSupported
	}
	var w buf
	w.u32(0) // Next: the only entry
	w.u32(1) // IfIndex
	w.u32(0) // Capability
	w.u32(0)
	w.u64(netifLinkSpeed)
	w.bytes(sa[:])
	return w.b, StatusSuccess
}
