// Package container encodes and decodes the containers that chunkstore
// appends to its volume files, and compresses the chunk records in them.
//
// A container groups the chunks that one ingest stream produced together, so
// that a restore reads them sequentially and a dedup hit on one of them can
// load the fingerprints of all its neighbours at once (the locality cache).
//
// # Layout
//
// All integers are little endian.
//
//	header  (32 bytes)
//	  0  magic      "BKSC"
//	  4  version    uint8 (1)
//	  5  reserved   3 bytes, zero
//	  8  id         uint64   container id, unique in the data directory
//	 16  domain     uint32   dedup domain whose key made the fingerprints
//	 20  count      uint32   number of chunk records
//	 24  body       uint32   length of the body in bytes
//	 28  header crc uint32   CRC-32C of bytes 0..27
//	body    (body bytes)     the stored chunk records, back to back
//	footer  (count * 48 bytes), one entry per record in body order:
//	  0  fingerprint [32]byte  keyed BLAKE3-256 of the raw chunk
//	 32  offset      uint32    record offset within the body
//	 36  stored      uint32    record length in the body
//	 40  raw         uint32    chunk length once decoded
//	 44  codec       uint8     0 raw, 1 s2, 2 zstd
//	 45  reserved    3 bytes, zero
//	trailer (8 bytes)
//	  0  footer crc  uint32    CRC-32C of the footer
//	  4  crc         uint32    CRC-32C of header, body and footer
//
// A sealed container (encryption at rest, crypt.go) has version 2; its
// body starts with a 64-byte key block (12-byte random nonce, the
// container's 32-byte data key sealed with AES-256-GCM under the domain's
// encryption key with the container id and domain as additional data, 4
// zero bytes), and each record is the stored bytes sealed with
// AES-256-GCM under the data key: nonce the record's body offset (12
// bytes, little endian, zero padded), additional data its fingerprint,
// raw length and codec; stored counts the 16-byte tag. Header, footer
// and trailer are as above, the checksums covering the sealed bytes.
//
// The header says how long the container is, so a volume can be walked
// container by container from its start; the trailer tells a torn write from
// a complete one. The footer checksum lets the locality cache trust a footer
// read on its own, without reading the body.
package container
