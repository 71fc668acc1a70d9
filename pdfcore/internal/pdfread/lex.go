package pdfread

import "bytes"

// Byte-level helpers for the few tokens the reader looks at itself (xref tables, object
// headers, stream keywords). Everything inside an object goes to object.go's parser.

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
	if off < 0 || off > int64(len(data))-int64(len(kw)) {
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

// tokenStart reports whether a token can begin at off: at the start of the data or after
// white space or a delimiter. An offset one byte into "12 0 obj" would otherwise read as
// "2 0 obj", and a cross-reference that is off by one would be taken for a good one.
func tokenStart(data []byte, off int64) bool {
	if off <= 0 || off > int64(len(data)) {
		return off == 0
	}
	switch c := data[off-1]; c {
	case '(', ')', '<', '>', '[', ']', '{', '}':
		return true
	default:
		return isSpace(c)
	}
}

// objectHeader parses "num gen obj" at off and returns the offset after "obj", or where it
// stopped when there is no header. The number must start a token, and off must lie inside
// data (an entry of an older revision is not checked by Open and may hold any offset).
func objectHeader(data []byte, off int64) (num, gen int64, next int64, ok bool) {
	if off < 0 || off >= int64(len(data)) || !tokenStart(data, skipSpace(data, off)) {
		return 0, 0, off, false
	}
	if num, off, ok = readUint(data, off); !ok {
		return 0, 0, off, false
	}
	if gen, off, ok = readUint(data, off); !ok {
		return 0, 0, off, false
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

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// scanExtent measures the array or dictionary that starts at off without building it: it
// returns the offset just after its closing bracket and the number of its tokens (strings,
// names, numbers, keywords and brackets; nested objects included). It stops counting past
// limit (then tokens > limit). ok is false when data[off] does not open an array or
// dictionary or it does not close within data. Strings are skipped with their nesting and
// escapes, hex strings to their '>', comments to the end of their line.
func scanExtent(data []byte, off int64, limit int) (end int64, tokens int, ok bool) {
	n := int64(len(data))
	depth := 0
	i := off
	for i < n {
		c := data[i]
		if isSpace(c) {
			i++
			continue
		}
		if c == '%' {
			for i < n && data[i] != '\n' && data[i] != '\r' {
				i++
			}
			continue
		}
		if i == off && c != '[' && c != '<' {
			return 0, 0, false
		}
		tokens++
		if tokens > limit {
			return 0, tokens, false
		}
		switch c {
		case '[':
			depth++
			i++
		case ']':
			depth--
			i++
		case '<':
			if i+1 < n && data[i+1] == '<' {
				depth++
				i += 2
				break
			}
			if i == off {
				return 0, tokens, false // a hex string, not a dictionary
			}
			j := bytes.IndexByte(data[i:], '>')
			if j < 0 {
				return 0, tokens, false
			}
			i += int64(j) + 1
		case '>':
			if i+1 < n && data[i+1] == '>' {
				depth--
				i += 2
			} else {
				i++
			}
		case '(':
			level := 0
			for i < n {
				ch := data[i]
				i++
				if ch == '\\' {
					i++
					continue
				}
				if ch == '(' {
					level++
				} else if ch == ')' {
					if level--; level == 0 {
						break
					}
				}
			}
			if level != 0 {
				return 0, tokens, false
			}
		case ')', '{', '}':
			i++
		default: // a name, number or keyword: up to the next white space or delimiter
			i++
			for i < n && !isSpace(data[i]) && !isDelimiter(data[i]) {
				i++
			}
		}
		if depth == 0 {
			return i, tokens, true
		}
		if depth < 0 {
			return 0, tokens, false
		}
	}
	return 0, tokens, false
}
