package pdfread

import "bytes"

// Byte-level helpers for the few tokens the reader looks at itself (xref tables, object
// headers, stream keywords). Everything inside an object goes to pdfcpu's parser.

func isSpace(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', '\f', 0:
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipSpace returns the first offset at or after off that is not white space or a comment.
func skipSpace(data []byte, off int64) int64 {
	n := int64(len(data))
	for off < n {
		c := data[off]
		if isSpace(c) {
			off++
			continue
		}
		if c == '%' {
			for off < n && data[off] != '\n' && data[off] != '\r' {
				off++
			}
			continue
		}
		break
	}
	return off
}

// readUint reads an unsigned decimal at off (after white space). It returns the value and the
// offset after it; ok is false when there is no number or it overflows int64.
func readUint(data []byte, off int64) (v int64, next int64, ok bool) {
	off = skipSpace(data, off)
	start := off
	for off < int64(len(data)) && isDigit(data[off]) {
		if v > (1<<62)/10 {
			return 0, off, false
		}
		v = v*10 + int64(data[off]-'0')
		off++
	}
	return v, off, off > start
}

// hasKeyword reports whether data[off:] starts with kw followed by a delimiter or the end.
func hasKeyword(data []byte, off int64, kw string) bool {
	if off < 0 || off+int64(len(kw)) > int64(len(data)) {
		return false
	}
	if !bytes.Equal(data[off:off+int64(len(kw))], []byte(kw)) {
		return false
	}
	end := off + int64(len(kw))
	if end == int64(len(data)) {
		return true
	}
	c := data[end]
	return isSpace(c) || c == '<' || c == '[' || c == '/' || c == '(' || c == '%'
}

// objectHeader parses "num gen obj" at off and returns the offset after "obj".
func objectHeader(data []byte, off int64) (num, gen int64, next int64, ok bool) {
	num, off, ok = readUint(data, off)
	if !ok {
		return
	}
	gen, off, ok = readUint(data, off)
	if !ok {
		return
	}
	off = skipSpace(data, off)
	if !hasKeyword(data, off, "obj") {
		return 0, 0, off, false
	}
	return num, gen, off + 3, true
}

// skipEOL skips one end-of-line marker (CRLF, LF or a lone CR).
func skipEOL(data []byte, off int64) int64 {
	if off < int64(len(data)) && data[off] == '\r' {
		off++
	}
	if off < int64(len(data)) && data[off] == '\n' {
		off++
	}
	return off
}
