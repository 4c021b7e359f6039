// Package smb2 is Backstop's SMB2/3 file server, written from [MS-SMB2]
// and [MS-NLMP]: it serves the shares a nas.ShareSource names, each a
// vfs.FS, to Windows, Samba and Linux clients, authenticating users by
// NTLMv2 against the NT hashes an NTHasher gives.
//
// # Transport
//
// Direct TCP (port 445): every message is framed by a 4-byte header, a
// zero byte and a 24-bit big-endian length, then that many bytes: one
// SMB2 message, a compound of several (each 8-byte aligned, linked by
// NextCommand), or an SMB3 TRANSFORM_HEADER (0xFD 'S' 'M' 'B') wrapping
// either. A frame longer than MaxIO plus 64 KiB drops the connection.
//
// # Limits
//
// Until the connection has an authenticated session a frame may be at
// most Options.MaxPreauthFrame long (the largest SESSION_SETUP); a longer
// length drops the connection before the body is read. A connection has
// NegotiateTimeout from accept to authenticate, IdleTimeout when it has
// no session and SessionIdleTimeout when nothing is open, as read
// deadlines on the socket; MaxConns and MaxConnsPerAddr are enforced at
// accept by internal/netsvc. Signing, once required by the session or
// by a tree's share, is checked on every request ([MS-SMB2] 3.3.5.2.4).
//
// # SMB2 header (64 bytes, little-endian)
//
//	0  ProtocolId     0xFE 'S' 'M' 'B'
//	4  StructureSize  64
//	6  CreditCharge
//	8  Status (responses) / ChannelSequence (3.x requests)
//	12 Command        0x00 NEGOTIATE .. 0x12 OPLOCK_BREAK
//	14 CreditRequest / CreditResponse
//	16 Flags          0x1 response, 0x2 async, 0x4 related, 0x8 signed
//	20 NextCommand    offset of the next message of a compound, or 0
//	24 MessageId
//	32 Reserved, TreeId (sync) / AsyncId (async, 8 bytes)
//	40 SessionId
//	48 Signature      16 bytes
//
// # Transform header (52 bytes)
//
//	0  ProtocolId 0xFD 'S' 'M' 'B'
//	4  Signature  the AEAD tag (16)
//	20 Nonce      11 bytes used by AES-CCM, 12 by AES-GCM (16)
//	36 OriginalMessageSize
//	40 Reserved (2), Flags = 1 (encrypted) (2)
//	44 SessionId
//
// The additional data of the AEAD is bytes 20 to 52.
//
// # Keys
//
// NTLMv2 gives a 16-byte session key (the exported key, RC4-decrypted
// when the client asked for key exchange). 2.x signs with HMAC-SHA256 of
// it. 3.x derives keys with the SP800-108 counter-mode KDF over
// HMAC-SHA256: labels "SMB2AESCMAC", "SMB2AESCCM" (contexts "SmbSign",
// "ServerIn ", "ServerOut") for 3.0 and 3.0.2, and "SMBSigningKey",
// "SMBC2SCipherKey", "SMBS2CCipherKey" with the session's SHA-512
// pre-authentication hash as context for 3.1.1. Signing is AES-CMAC, or
// AES-GMAC when a 3.1.1 client offers it; encryption AES-128/256-CCM or
// -GCM, chosen by the server from the client's list (GCM first).
//
// # State
//
// A conn holds its sessions; a session its tree connects and opens. The
// server-wide fileTable holds what all opens of one file share: share
// modes, delete-pending, byte-range locks, oplocks, and the pending change
// notifications. Requests of one connection are served in order; a
// blocking lock, a create waiting for an oplock break and a change notify
// go async (an interim STATUS_PENDING, the final response later).
//
// # Lifecycle
//
// New, then Start(ctx) listens on Options.Addr (internal/netsvc's accept
// loop) and Shutdown(ctx) stops it: the listener and every connection
// close, and Shutdown waits for the connections and for the goroutines
// they started (oplock break notifications, lock waiters, creates
// waiting for a break, durable handle expiries), then closes every open
// file, durable ones included.
package smb2
