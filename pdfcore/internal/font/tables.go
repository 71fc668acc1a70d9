package font

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// sfnt's parser reads a font but cannot write one, so the subset program is assembled here
// from the raw tables. Only the table directory is parsed; sfnt has already validated the
// tables it uses.

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// readTables returns each table of a TrueType font by tag.
func readTables(ttf []byte) (map[string][]byte, error) {
	if len(ttf) < 12 {
		return nil, fmt.Errorf("font: table directory truncated")
	}
	n := int(be16(ttf[4:]))
	if len(ttf) < 12+16*n {
		return nil, fmt.Errorf("font: table directory truncated")
	}
	tables := make(map[string][]byte, n)
	for i := range n {
		rec := ttf[12+16*i:]
		tag := string(rec[:4])
		off, length := uint64(be32(rec[8:])), uint64(be32(rec[12:]))
		if off+length > uint64(len(ttf)) {
			return nil, fmt.Errorf("font: table %q lies outside the file", tag)
		}
		tables[tag] = ttf[off : off+length]
	}
	for _, tag := range []string{"head", "hhea", "maxp", "loca", "glyf", "hmtx"} {
		if tables[tag] == nil {
			return nil, fmt.Errorf("font: required table %q missing", tag)
		}
	}
	if len(tables["head"]) < 54 || len(tables["hhea"]) < 36 {
		return nil, fmt.Errorf("font: head or hhea truncated")
	}
	return tables, nil
}

// checksum is the TrueType table checksum: the sum of big-endian uint32s, the last one
// zero-padded.
func checksum(b []byte) uint32 {
	var sum uint32
	for len(b) >= 4 {
		sum += be32(b)
		b = b[4:]
	}
	if len(b) > 0 {
		var tail [4]byte
		copy(tail[:], b)
		sum += be32(tail[:])
	}
	return sum
}

// fontTable is one table of a program being written. Tables the subsets of a face share
// carry their checksum from parsing (summed), so that it is not taken again for every subset.
type fontTable struct {
	tag    string
	data   []byte
	sum    uint32
	summed bool
}

func summedTable(tag string, data []byte) fontTable {
	return fontTable{tag: tag, data: data, sum: checksum(data), summed: true}
}

// writeFont lays tables out as a TrueType file: directory sorted by tag (viewers binary-search
// it), each table 4-byte aligned with its checksum, and head.checkSumAdjustment set so the
// whole file sums to 0xB1B0AFBA.
func writeFont(tables []fontTable) []byte {
	sort.Slice(tables, func(i, j int) bool { return tables[i].tag < tables[j].tag })
	n := len(tables)
	pow := 1
	log := 0
	for pow*2 <= n {
		pow *= 2
		log++
	}
	size := 12 + 16*n
	for _, t := range tables {
		size += (len(t.data) + 3) &^ 3
	}
	out := make([]byte, 12+16*n, size)
	binary.BigEndian.PutUint32(out[0:], 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(pow*16))
	binary.BigEndian.PutUint16(out[8:], uint16(log))
	binary.BigEndian.PutUint16(out[10:], uint16(n*16-pow*16))
	headAt := -1
	// The file's checksum is the directory's plus the tables': each table starts 4-byte
	// aligned and is padded with zeros, so its words are exactly those of its checksum.
	var total uint32
	for i, t := range tables {
		data, sum := t.data, t.sum
		if t.tag == "head" {
			// The adjustment is computed over the file with it zeroed, and the head
			// table's own checksum is taken the same way.
			data = append([]byte(nil), data...)
			binary.BigEndian.PutUint32(data[8:], 0)
			headAt = len(out)
			sum = checksum(data)
		} else if !t.summed {
			sum = checksum(data)
		}
		total += sum
		rec := out[12+16*i:]
		copy(rec, t.tag)
		binary.BigEndian.PutUint32(rec[4:], sum)
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	if headAt >= 0 {
		total += checksum(out[:12+16*n])
		binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-total)
	}
	return out
}
