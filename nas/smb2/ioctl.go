package smb2

import "bytes"

// FSCTL codes the server knows.
const (
	fsctlDFSGetReferrals         = 0x00060194
	fsctlDFSGetReferralsEx       = 0x000601B0
	fsctlPipeTransceive          = 0x0011C017
	fsctlValidateNegotiateInfo   = 0x00140204
	fsctlQueryNetworkInterfaces  = 0x001401FC
	fsctlSrvRequestResumeKey     = 0x00140078
	fsctlSetSparse               = 0x000900C4
	fsctlGetReparsePoint         = 0x000900A8
	fsctlCreateOrGetObjectID     = 0x000900C0
	fsctlQueryAllocatedRanges    = 0x000940CF
	fsctlGetIntegrityInformation = 0x0009027C
	fsctlGetCompression          = 0x0009003C
	fsctlSetCompression          = 0x0009C040

	// statusInvalidUserBuffer: an output buffer too small for a fixed
	// answer (FSCTL_GET_COMPRESSION, as Windows and Samba answer).
	statusInvalidUserBuffer Status = 0xC00000E8
)

func (c *conn) ioctl(r *request) ([]byte, Status) {
	b := r.body
	code := le.Uint32(b[4:])
	fid := getFileID(b[8:])
	in, ok := field(r.msg, le.Uint32(b[24:]), le.Uint32(b[28:]))
	maxOut := le.Uint32(b[44:])
	flags := le.Uint32(b[48:])
	if !ok || maxOut > c.maxIO() {
		return nil, StatusInvalidParameter
	}
	if flags != 1 {
		return nil, StatusNotSupported
	}
	var out []byte
	var st Status
	switch code {
	case fsctlValidateNegotiateInfo:
		out, st = c.validateNegotiate(in)
		if st == statusDisconnect {
			return nil, st
		}
	case fsctlDFSGetReferrals, fsctlDFSGetReferralsEx:
		return nil, StatusNotFound
	case fsctlSrvRequestResumeKey, fsctlSrvCopyChunk, fsctlSrvCopyChunkWrite,
		fsctlDuplicateExtentsToFile, fsctlDuplicateExtentsToFileX:
		o, st2 := c.lookupOpen(r, b[8:])
		if st2 != StatusSuccess {
			return nil, st2
		}
		switch code {
		case fsctlSrvRequestResumeKey:
			if maxOut < 32 {
				return nil, StatusInvalidParameter
			}
			out = resumeKey(o)
		case fsctlDuplicateExtentsToFile, fsctlDuplicateExtentsToFileX:
			out, st = c.duplicateExtents(r, o, code, in)
		default:
			out, st = c.copyChunk(r, o, code, in, maxOut)
		}
	case fsctlQueryNetworkInterfaces:
		out, st = c.networkInterfaces(fid)
	case fsctlGetIntegrityInformation:
		return nil, StatusNotSupported
	case fsctlPipeTransceive:
		return nil, StatusNotSupported
	case fsctlSetSparse, fsctlGetReparsePoint, fsctlQueryAllocatedRanges,
		fsctlGetCompression, fsctlSetCompression, fsctlCreateOrGetObjectID:
		o, st2 := c.lookupOpen(r, b[8:])
		if st2 != StatusSuccess {
			return nil, st2
		}
		out, st = c.fileIoctl(o, code, in, maxOut)
	case fsctlSetZeroData:
		o, st2 := c.lookupOpen(r, b[8:])
		if st2 != StatusSuccess {
			return nil, st2
		}
		out, st = c.setZeroData(o, in)
	default:
		return nil, StatusInvalidDeviceRequest
	}
	if st != StatusSuccess && out == nil {
		return nil, st
	}
	if uint32(len(out)) > maxOut {
		return nil, StatusBufferTooSmall
	}
	var w buf
	w.u16(49)
	w.u16(0)
	w.u32(code)
	w.u64(fid.Persistent)
	w.u64(fid.Volatile)
	w.u32(headerSize + 48)
	w.u32(0)
	w.u32(headerSize + 48)
	w.u32(uint32(len(out)))
	w.u32(0)
	w.u32(0)
	w.bytes(out)
	return w.b, st // an error with a body: a copychunk's progress or limits
}

// validateNegotiate checks what the client says it negotiated against
// what this connection saw ([MS-SMB2] 3.3.5.15.12); a mismatch drops
// the connection.
func (c *conn) validateNegotiate(in []byte) ([]byte, Status) {
	if c.dialect == dialect311 {
		return nil, statusDisconnect
	}
	if len(in) < 24 {
		return nil, statusDisconnect
	}
	count := int(le.Uint16(in[22:]))
	if len(in) < 24+2*count {
		return nil, statusDisconnect
	}
	var dialects []uint16
	for i := 0; i < count; i++ {
		dialects = append(dialects, le.Uint16(in[24+2*i:]))
	}
	if le.Uint32(in) != c.clientCaps || !bytes.Equal(in[4:20], c.clientGUID[:]) ||
		le.Uint16(in[20:]) != c.clientSecMode || !equalDialects(dialects, c.clientDialects) {
		return nil, statusDisconnect
	}
	var w buf
	w.u32(c.serverCaps)
	w.bytes(c.srv.guid[:])
	w.u16(c.serverSecMode)
	w.u16(c.dialect)
	return w.b, StatusSuccess
}

func equalDialects(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c *conn) fileIoctl(o *open, code uint32, in []byte, maxOut uint32) ([]byte, Status) {
	switch code {
	case fsctlSetSparse:
		return nil, c.setSparse(o, in)
	case fsctlGetReparsePoint:
		return nil, StatusNotAReparsePoint
	case fsctlQueryAllocatedRanges:
		return c.allocatedRanges(o, in, maxOut)
	case fsctlCreateOrGetObjectID:
		return c.objectID(o)
	case fsctlGetCompression:
		// No compression: every file answers COMPRESSION_FORMAT_NONE, as
		// Windows does on a filesystem without it (ReFS).
		if maxOut < 2 {
			return nil, statusInvalidUserBuffer
		}
		return []byte{0, 0}, StatusSuccess
	case fsctlSetCompression:
		if o.access&accWriteData == 0 {
			return nil, StatusAccessDenied
		}
		if len(in) < 2 {
			return nil, StatusInvalidParameter
		}
		if le.Uint16(in) != 0 { // anything but COMPRESSION_FORMAT_NONE
			return nil, StatusNotSupported
		}
		return nil, StatusSuccess
	}
	return nil, StatusInvalidDeviceRequest
}

// objectIDTag fills the rest of an object ID after the file ID and the
// volume serial.
var objectIDTag = [4]byte{'B', 'k', 's', 't'}

// objectID answers FSCTL_CREATE_OR_GET_OBJECT_ID ([MS-FSCC] 2.3.7,
// 2.1.3.1) with a FILE_OBJECTID_BUFFER derived from the file's ID, which
// stays the same across renames for the file's life: ObjectId and
// BirthObjectId are the ID, the share's volume serial and a tag;
// BirthVolumeId the serial; DomainId zero. Nothing is stored.
func (c *conn) objectID(o *open) ([]byte, Status) {
	info, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	fsi, err := o.tree.share.FS.StatFS(c.ctx)
	if err != nil {
		return nil, statusOf(err)
	}
	var id buf
	id.u64(info.ID)
	id.u32(fsi.SerialNumber)
	id.bytes(objectIDTag[:])
	var w buf
	w.bytes(id.b)
	w.u32(fsi.SerialNumber)
	w.zero(12)
	w.bytes(id.b)
	w.zero(16)
	return w.b, StatusSuccess
}
