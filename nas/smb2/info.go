package smb2

import (
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Info types and classes ([MS-SMB2] 2.2.37, [MS-FSCC] 2.4, 2.5).
const (
	infoFile       = 1
	infoFilesystem = 2
	infoSecurity   = 3
	infoQuota      = 4

	fileBasicInformation          = 4
	fileStandardInformation       = 5
	fileInternalInformation       = 6
	fileEaInformation             = 7
	fileAccessInformation         = 8
	fileNameInformation           = 9
	fileRenameInformation         = 10
	fileDispositionInformation    = 13
	filePositionInformation       = 14
	fileFullEaInformation         = 15
	fileModeInformation           = 16
	fileAlignmentInformation      = 17
	fileAllInformation            = 18
	fileAllocationInformation     = 19
	fileEndOfFileInformation      = 20
	fileAlternateNameInformation  = 21
	fileStreamInformation         = 22
	fileCompressionInformation    = 28
	fileNetworkOpenInformation    = 34
	fileAttributeTagInformation   = 35
	fileNormalizedNameInformation = 48
	fileIDInformation             = 59

	fsVolumeInformation     = 1
	fsSizeInformation       = 3
	fsDeviceInformation     = 4
	fsAttributeInformation  = 5
	fsFullSizeInformation   = 7
	fsControlInformation    = 6
	fsObjectIDInformation   = 8
	fsSectorSizeInformation = 11
)

const clusterSize = 4096

func (c *conn) queryInfo(r *request) ([]byte, Status) {
	b := r.body
	typ, class := b[2], b[3]
	outLen := le.Uint32(b[4:])
	addl := le.Uint32(b[16:])
	o, st := c.lookupOpen(r, b[24:])
	if st != StatusSuccess {
		return nil, st
	}
	if outLen > c.maxIO() {
		return nil, StatusInvalidParameter
	}
	var data []byte
	var fixed int
	switch typ {
	case infoFile:
		data, fixed, st = c.fileInfo(o, class)
	case infoFilesystem:
		data, fixed, st = c.fsInfo(o, class)
	case infoSecurity:
		if o.access&accReadControl == 0 {
			return nil, StatusAccessDenied
		}
		data, fixed, st = securityDescriptor(addl), 20, StatusSuccess
	case infoQuota:
		return nil, StatusNotSupported
	default:
		return nil, StatusInvalidParameter
	}
	if st != StatusSuccess {
		return nil, st
	}
	if int(outLen) < fixed {
		if typ == infoSecurity {
			var w buf
			w.u32(uint32(len(data)))
			return append([]byte{9, 0, 0, 0, 4, 0, 0, 0}, w.b...), StatusBufferTooSmall
		}
		return nil, StatusInfoLengthMismatch
	}
	if len(data) > int(outLen) {
		data = data[:outLen]
		st = StatusBufferOverflow
	}
	var w buf
	w.u16(9)
	w.u16(headerSize + 8)
	w.u32(uint32(len(data)))
	w.bytes(data)
	return w.b, st
}

// fileInfo encodes a file information class; fixed is the size a
// buffer must at least have.
func (c *conn) fileInfo(o *open, class byte) ([]byte, int, Status) {
	needAttr := func() Status {
		if o.access&accReadAttributes == 0 {
			return StatusAccessDenied
		}
		return StatusSuccess
	}
	info, err := o.f.Stat()
	if err != nil {
		return nil, 0, statusOf(err)
	}
	c.srv.files.mu.Lock()
	deletePending := o.state.deletePending
	path := o.state.path
	c.srv.files.mu.Unlock()
	var w buf
	switch class {
	case fileBasicInformation:
		if st := needAttr(); st != StatusSuccess {
			return nil, 0, st
		}
		putBasic(&w, info)
		return w.b, 40, StatusSuccess
	case fileStandardInformation:
		putStandard(&w, info, deletePending)
		return w.b, 24, StatusSuccess
	case fileInternalInformation:
		w.u64(info.ID)
		return w.b, 8, StatusSuccess
	case fileEaInformation:
		w.u32(0)
		return w.b, 4, StatusSuccess
	case fileAccessInformation:
		w.u32(o.access)
		return w.b, 4, StatusSuccess
	case filePositionInformation:
		w.u64(uint64(o.pos))
		return w.b, 8, StatusSuccess
	case fileModeInformation:
		w.u32(o.mode)
		return w.b, 4, StatusSuccess
	case fileAlignmentInformation:
		w.u32(0)
		return w.b, 4, StatusSuccess
	case fileNameInformation:
		name := utf16le(`\` + winPath(path))
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b, 8, StatusSuccess
	case fileNormalizedNameInformation:
		if c.dialect < dialect311 {
			return nil, 0, StatusNotSupported
		}
		name := utf16le(winPath(path))
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b, 8, StatusSuccess
	case fileFullEaInformation:
		if o.access&accReadEA == 0 {
			return nil, 0, StatusAccessDenied
		}
		return nil, 0, StatusSuccess // no extended attributes: an empty list
	case fileAllInformation:
		if st := needAttr(); st != StatusSuccess {
			return nil, 0, st
		}
		putBasic(&w, info)
		putStandard(&w, info, deletePending)
		w.u64(info.ID)
		w.u32(0)
		w.u32(o.access)
		w.u64(uint64(o.pos))
		w.u32(o.mode)
		w.u32(0)
		name := utf16le(`\` + winPath(path))
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b, 104, StatusSuccess
	case fileAlternateNameInformation:
		_, base := parentOf(path)
		name := utf16le(shortName(base))
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b, 8, StatusSuccess
	case fileStreamInformation:
		if !info.IsDir {
			name := utf16le("::$DATA")
			w.u32(0)
			w.u32(uint32(len(name)))
			w.u64(uint64(info.Size))
			w.u64(uint64(info.AllocSize))
			w.bytes(name)
		}
		return w.b, 32, StatusSuccess
	case fileCompressionInformation:
		w.u64(uint64(info.Size))
		w.u16(0)
		w.u8(0)
		w.u8(0)
		w.u8(0)
		w.zero(3)
		return w.b, 16, StatusSuccess
	case fileNetworkOpenInformation:
		if st := needAttr(); st != StatusSuccess {
			return nil, 0, st
		}
		putTimes(&w, info)
		w.u64(uint64(info.AllocSize))
		w.u64(uint64(info.Size))
		w.u32(attrsOf(info))
		w.u32(0)
		return w.b, 56, StatusSuccess
	case fileAttributeTagInformation:
		if st := needAttr(); st != StatusSuccess {
			return nil, 0, st
		}
		w.u32(attrsOf(info))
		w.u32(0)
		return w.b, 8, StatusSuccess
	case fileIDInformation:
		w.u64(0)
		w.u64(info.ID)
		w.u64(0)
		return w.b, 24, StatusSuccess
	}
	return nil, 0, StatusInvalidInfoClass
}

func winPath(p string) string {
	out := []byte(p)
	for i, c := range out {
		if c == '/' {
			out[i] = '\\'
		}
	}
	return string(out)
}

func putBasic(w *buf, i vfs.Info) {
	putTimes(w, i)
	w.u32(attrsOf(i))
	w.u32(0)
}

func putStandard(w *buf, i vfs.Info, deletePending bool) {
	w.u64(uint64(i.AllocSize))
	w.u64(uint64(i.Size))
	w.u32(max(i.Links, 1))
	w.u8(b2u8(deletePending))
	w.u8(b2u8(i.IsDir))
	w.u16(0)
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (c *conn) fsInfo(o *open, class byte) ([]byte, int, Status) {
	fi, err := o.tree.share.FS.StatFS(c.ctx)
	if err != nil {
		return nil, 0, statusOf(err)
	}
	var w buf
	switch class {
	case fsVolumeInformation:
		label := utf16le(fi.Label)
		w.time(fi.Created)
		w.u32(fi.SerialNumber)
		w.u32(uint32(len(label)))
		w.u8(0)
		w.u8(0)
		w.bytes(label)
		return w.b, 24, StatusSuccess
	case fsSizeInformation:
		w.u64(uint64(fi.TotalBytes / clusterSize))
		w.u64(uint64(fi.FreeBytes / clusterSize))
		w.u32(clusterSize / 512)
		w.u32(512)
		return w.b, 24, StatusSuccess
	case fsFullSizeInformation:
		w.u64(uint64(fi.TotalBytes / clusterSize))
		w.u64(uint64(fi.FreeBytes / clusterSize))
		w.u64(uint64(fi.FreeBytes / clusterSize))
		w.u32(clusterSize / 512)
		w.u32(512)
		return w.b, 32, StatusSuccess
	case fsDeviceInformation:
		w.u32(7)    // FILE_DEVICE_DISK
		w.u32(0x20) // FILE_DEVICE_IS_MOUNTED
		return w.b, 8, StatusSuccess
	case fsAttributeInformation:
		attrs := uint32(0x2 | 0x4 | 0x40) // case preserved, unicode, sparse
		if !fi.CaseInsensitive {
			attrs |= 0x1
		}
		if _, ok := o.f.(vfs.Cloner); ok {
			attrs |= fsSupportsBlockRefcounting // block cloning (clone.go)
		}
		name := utf16le("NTFS")
		w.u32(attrs)
		w.u32(255)
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b, 16, StatusSuccess
	case fsControlInformation:
		w.zero(24)
		w.u64(^uint64(0)) // default quota threshold: none
		w.u64(^uint64(0)) // default quota limit: none
		w.u32(0)
		w.u32(0)
		return w.b, 48, StatusSuccess
	case fsObjectIDInformation:
		w.zero(64)
		return w.b, 64, StatusSuccess
	case fsSectorSizeInformation:
		w.u32(512)
		w.u32(512)
		w.u32(512)
		w.u32(512)
		w.u32(0x3) // aligned device, partition aligned
		w.u32(0)
		w.u32(0)
		return w.b, 28, StatusSuccess
	}
	return nil, 0, StatusInvalidInfoClass
}

// securityDescriptor is a self-relative descriptor: owner and group
// Everyone, a DACL granting Everyone full access, as much as asked.
func securityDescriptor(addl uint32) []byte {
	everyone := []byte{1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0} // S-1-1-0
	var dacl buf
	dacl.u8(2) // revision
	dacl.u8(0)
	dacl.u16(8 + 4 + 4 + uint16(len(everyone)))
	dacl.u16(1)
	dacl.u16(0)
	dacl.u8(0) // ACCESS_ALLOWED_ACE
	dacl.u8(0)
	dacl.u16(uint16(4 + 4 + len(everyone)))
	dacl.u32(accessAllFile)
	dacl.bytes(everyone)
	var w buf
	w.u8(1)
	w.u8(0)
	ctl := uint16(0x8000) // self-relative
	if addl&4 != 0 {
		ctl |= 0x0004 // DACL present
	}
	w.u16(ctl)
	w.zero(16)
	off := uint32(20)
	if addl&1 != 0 {
		le.PutUint32(w.b[4:], off)
		w.bytes(everyone)
		off += uint32(len(everyone))
	}
	if addl&2 != 0 {
		le.PutUint32(w.b[8:], off)
		w.bytes(everyone)
		off += uint32(len(everyone))
	}
	if addl&4 != 0 {
		le.PutUint32(w.b[16:], off)
		w.bytes(dacl.b)
	}
	return w.b
}
