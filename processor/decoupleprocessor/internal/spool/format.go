package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// An item file is a fixed header followed by the payload, little-endian:
//
//	offset size field
//	0      4    magic "ODCP"
//	4      1    version (1)
//	5      1    route
//	6      2    reserved (0)
//	8      4    record count
//	12     8    enqueue time, unix nanoseconds
//	20     4    payload length
//	24     4    CRC32-C of the payload
//	28     ...  payload
//
// Magic and version stay at their offsets in every version, so an older
// binary recognises a newer file and discards it instead of misreading it.
const (
	headerSize = 28
	version    = 1
	magic      = "ODCP"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errUnreadable: the header cannot be trusted (short, not ours, unknown
	// version), so neither can its record count.
	errUnreadable = errors.New("unreadable header")
	// errDamaged: the header is sound but the payload is truncated, too long
	// or fails its checksum.
	errDamaged = errors.New("damaged payload")
)

type header struct {
	route    Route
	records  uint32
	enqueued int64
	length   uint32
	crc      uint32
}

func newHeader(route Route, records int, enqueued int64, payload []byte) header {
	return header{
		route:    route,
		records:  uint32(records), // a record costs at least a byte: fewer than 4 Gi in a payload
		enqueued: enqueued,
		length:   uint32(len(payload)), // Put refuses payloads of 4 GiB and more
		crc:      crc32.Checksum(payload, castagnoli),
	}
}

func (h header) encode() [headerSize]byte {
	var b [headerSize]byte
	copy(b[0:4], magic)
	b[4] = version
	b[5] = byte(h.route)
	binary.LittleEndian.PutUint32(b[8:], h.records)
	binary.LittleEndian.PutUint64(b[12:], uint64(h.enqueued))
	binary.LittleEndian.PutUint32(b[20:], h.length)
	binary.LittleEndian.PutUint32(b[24:], h.crc)
	return b
}

// parseHeader reads the header at the start of b.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize || string(b[0:4]) != magic || b[4] != version {
		return header{}, errUnreadable
	}
	return header{
		route:    Route(b[5]),
		records:  binary.LittleEndian.Uint32(b[8:]),
		enqueued: int64(binary.LittleEndian.Uint64(b[12:])),
		length:   binary.LittleEndian.Uint32(b[20:]),
		crc:      binary.LittleEndian.Uint32(b[24:]),
	}, nil
}

// decode checks a whole item file and returns its header and payload.
func decode(b []byte) (header, []byte, error) {
	h, err := parseHeader(b)
	if err != nil {
		return h, nil, err
	}
	payload := b[headerSize:]
	if uint64(len(payload)) != uint64(h.length) || crc32.Checksum(payload, castagnoli) != h.crc {
		return h, nil, errDamaged
	}
	return h, payload, nil
}
