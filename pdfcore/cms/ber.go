package cms

// A bounded BER to DER normaliser (ITU-T X.690). Many PDF signers (NSS as used by poppler's
// pdfsig, older BouncyCastle and Adobe releases, `openssl cms -stream`) write CMS in BER:
// indefinite lengths closed by end-of-contents octets, strings split into constructed
// segments, long-form lengths with spare octets. The parser below reads DER only, so Parse
// first rewrites such input into the DER form of the same values:
//
//   - indefinite lengths (§8.1.3.6) become definite ones, in the fewest octets (§10.1);
//   - constructed BIT STRING, OCTET STRING and restricted character string (and time)
//     encodings (§8.6.4, §8.7.3, §8.23) become one primitive encoding of the concatenated
//     segments (§10.2);
//   - a BOOLEAN TRUE is written as FF (§11.1).
//
// The order of SET OF elements is kept: RFC 5652 §5.4 says the signature covers the DER
// encoding of the signed attributes, and the attributes are hashed as they are received
// (what OpenSSL does too). Tag numbers above 30 (the high-tag-number form) are refused:
// CMS does not use them and the DER reader cannot represent them.
//
// The work is linear in the input: a first pass validates and records the length of every
// rewritten element, a second pass writes the output, which it can do front to back because
// the lengths are known. Nesting depth, element count and input size are bounded, and every
// failure is a CodeMalformed *Error.

const (
	// maxBERDepth bounds nesting; real CMS with a time-stamp token nests about 25 levels.
	maxBERDepth = 64
	// maxBERElements bounds the number of encodings (segments and end-of-contents
	// included); it also bounds the memory of the first pass.
	maxBERElements = 1 << 20
)

type berNormalizer struct {
	in    []byte
	write bool    // false: first pass (validate, measure); true: second pass (emit)
	out   []byte  // the DER being written in the second pass
	lens  []int32 // content lengths of rewritten elements, in pre-order
	next  int     // second pass: index of the next entry of lens
	elems int     // encodings seen in this pass

	unusedSeen bool // a BIT STRING segment with unused bits was read: it must be the last
	lastUnused int  // the unused-bit count of the last BIT STRING segment read
}

type berHeader struct {
	pos         int  // offset of the identifier octet
	id          byte // identifier octet (class, constructed bit, tag number < 31)
	indefinite  bool
	start, end  int // contents octets; end is only meaningful for definite lengths
	constructed bool
}

// normalizeBER reads one BER encoding at the start of in and returns its DER form and the
// number of input bytes it occupies (for an indefinite length, up to and including the
// matching end-of-contents octets). Bytes after it are not looked at.
func normalizeBER(in []byte) (der []byte, n int, err error) {
	if len(in) > MaxSize {
		return nil, 0, malformed("the signature is %d bytes, more than the %d accepted", len(in), MaxSize)
	}
	r := &berNormalizer{in: in}
	end, size, err := r.element(0, len(in), 0)
	if err != nil {
		return nil, 0, err
	}
	r.write, r.out, r.elems = true, make([]byte, 0, size), 0
	if _, _, err := r.element(0, len(in), 0); err != nil {
		return nil, 0, err // cannot happen: the second pass reads what the first accepted
	}
	if len(r.out) != size {
		return nil, 0, malformed("BER normalisation wrote %d bytes, expected %d", len(r.out), size)
	}
	return r.out, end, nil
}

// header reads identifier and length octets at pos; the element must end by limit.
func (r *berNormalizer) header(pos, limit int) (berHeader, error) {
	in := r.in
	if limit-pos < 2 {
		return berHeader{}, malformed("BER: truncated encoding at offset %d", pos)
	}
	h := berHeader{pos: pos, id: in[pos], constructed: in[pos]&0x20 != 0}
	if h.id&0x1f == 0x1f {
		return berHeader{}, malformed("BER: high tag number form at offset %d is not supported", pos)
	}
	l := int(in[pos+1])
	p := pos + 2
	var length int
	switch {
	case l < 0x80:
		length = l
	case l == 0x80:
		if !h.constructed {
			return berHeader{}, malformed("BER: primitive encoding with an indefinite length at offset %d", pos)
		}
		h.indefinite = true
	case l == 0xff:
		return berHeader{}, malformed("BER: reserved length octet at offset %d", pos)
	default:
		n := l & 0x7f
		if limit-p < n {
			return berHeader{}, malformed("BER: truncated length at offset %d", pos)
		}
		for i := 0; i < n; i++ {
			length = length<<8 | int(in[p+i])
			// Checked at every octet, so length never exceeds the input size times 256.
			if length > limit-(p+n) {
				return berHeader{}, malformed("BER: the length at offset %d exceeds the available data", pos)
			}
		}
		p += n
	}
	h.start = p
	if !h.indefinite {
		if length > limit-p {
			return berHeader{}, malformed("BER: the length at offset %d exceeds the available data", pos)
		}
		h.end = p + length
	}
	return h, nil
}

// count charges one encoding at depth against the bounds.
func (r *berNormalizer) count(depth int) error {
	if depth > maxBERDepth {
		return malformed("BER: nesting deeper than %d levels", maxBERDepth)
	}
	r.elems++
	if r.elems > maxBERElements {
		return malformed("BER: more than %d encodings", maxBERElements)
	}
	return nil
}

// slot returns the index in lens of the element being rewritten: appended in the first
// pass, read back in the same (pre-)order in the second.
func (r *berNormalizer) slot() int {
	if r.write {
		r.next++
		return r.next - 1
	}
	r.lens = append(r.lens, 0)
	return len(r.lens) - 1
}

// atEnd reports whether the contents of h end at p, consuming the end-of-contents octets
// of an indefinite length; limit bounds an indefinite length.
func (r *berNormalizer) atEnd(h berHeader, p, limit int) (end int, done bool, err error) {
	if !h.indefinite {
		return p, p == h.end, nil
	}
	if limit-p >= 2 && r.in[p] == 0 && r.in[p+1] == 0 {
		return p + 2, true, nil
	}
	if p >= limit {
		return 0, false, malformed("BER: the indefinite length at offset %d has no end-of-contents", h.pos)
	}
	return p, false, nil
}

// contentsLimit is the bound for the encodings inside h.
func contentsLimit(h berHeader, limit int) int {
	if h.indefinite {
		return limit
	}
	return h.end
}

// element normalises the encoding at pos and returns where it ends and its DER size.
func (r *berNormalizer) element(pos, limit, depth int) (end, size int, err error) {
	if err := r.count(depth); err != nil {
		return 0, 0, err
	}
	h, err := r.header(pos, limit)
	if err != nil {
		return 0, 0, err
	}
	universal := h.id&0xc0 == 0
	number := h.id & 0x1f
	if universal {
		switch number {
		case 0:
			return 0, 0, malformed("BER: unexpected end-of-contents at offset %d", pos)
		case 1, 2, 5, 6, 9, 10, 13: // BOOLEAN, INTEGER, NULL, OID, REAL, ENUMERATED, RELATIVE-OID
			if h.constructed {
				return 0, 0, malformed("BER: universal type %d at offset %d must be primitive", number, pos)
			}
		case 16, 17: // SEQUENCE, SET
			if !h.constructed {
				return 0, 0, malformed("BER: universal type %d at offset %d must be constructed", number, pos)
			}
		}
		if h.constructed && isStringType(number) {
			return r.flatten(h, limit, depth)
		}
	}
	if h.constructed {
		return r.constructed(h, limit, depth)
	}

	content := r.in[h.start:h.end]
	if universal && number == 1 && len(content) != 1 {
		return 0, 0, malformed("BER: BOOLEAN at offset %d is not one octet", pos)
	}
	if universal && number == 3 {
		if err := checkBitStringSegment(content, pos); err != nil {
			return 0, 0, err
		}
	}
	if r.write {
		r.out = append(r.out, h.id)
		r.out = appendDERLength(r.out, len(content))
		if universal && number == 1 && content[0] != 0 {
			r.out = append(r.out, 0xff) // X.690 §11.1: DER TRUE is FF
		} else {
			r.out = append(r.out, content...)
		}
	}
	return h.end, 1 + derLengthSize(len(content)) + len(content), nil
}

// constructed rewrites a constructed encoding whose elements are kept as they are.
func (r *berNormalizer) constructed(h berHeader, limit, depth int) (end, size int, err error) {
	idx := r.slot()
	if r.write {
		r.out = append(r.out, h.id)
		r.out = appendDERLength(r.out, int(r.lens[idx]))
	}
	climit := contentsLimit(h, limit)
	total := 0
	p := h.start
	for {
		e, done, err := r.atEnd(h, p, limit)
		if err != nil {
			return 0, 0, err
		}
		if done {
			p = e
			break
		}
		e, n, err := r.element(p, climit, depth+1)
		if err != nil {
			return 0, 0, err
		}
		p, total = e, total+n
	}
	if !r.write {
		r.lens[idx] = int32(total)
	}
	return p, 1 + derLengthSize(total) + total, nil
}

// flatten rewrites a constructed string as one primitive encoding of its segments.
func (r *berNormalizer) flatten(h berHeader, limit, depth int) (end, size int, err error) {
	bits := h.id&0x1f == 3
	segTag := byte(0x04) // X.690 §8.23.5: character strings are segmented as OCTET STRINGs
	if bits {
		segTag = 0x03
	}
	idx := r.slot()
	uidx := -1
	if bits {
		uidx = r.slot()
	}
	if r.write {
		r.out = append(r.out, h.id&^0x20)
		r.out = appendDERLength(r.out, int(r.lens[idx]))
		if bits {
			r.out = append(r.out, byte(r.lens[uidx]))
		}
	}
	r.unusedSeen, r.lastUnused = false, 0
	end, n, err := r.segments(h, limit, depth, segTag)
	if err != nil {
		return 0, 0, err
	}
	if bits {
		n++ // the unused-bits octet
	}
	if !r.write {
		r.lens[idx] = int32(n)
		if bits {
			r.lens[uidx] = int32(r.lastUnused)
		}
	}
	return end, 1 + derLengthSize(n) + n, nil
}

// segments walks the segments of a constructed string (which may themselves be constructed)
// and, in the second pass, writes their data; it returns the data length.
func (r *berNormalizer) segments(h berHeader, limit, depth int, segTag byte) (end, n int, err error) {
	climit := contentsLimit(h, limit)
	p := h.start
	for {
		e, done, err := r.atEnd(h, p, limit)
		if err != nil {
			return 0, 0, err
		}
		if done {
			return e, n, nil
		}
		if err := r.count(depth + 1); err != nil {
			return 0, 0, err
		}
		s, err := r.header(p, climit)
		if err != nil {
			return 0, 0, err
		}
		switch s.id {
		case segTag:
			data := r.in[s.start:s.end]
			if segTag == 0x03 {
				if err := checkBitStringSegment(data, p); err != nil {
					return 0, 0, err
				}
				if r.unusedSeen {
					return 0, 0, malformed("BER: a BIT STRING segment before offset %d has unused bits but is not the last", p)
				}
				r.lastUnused = int(data[0])
				r.unusedSeen = data[0] != 0
				data = data[1:]
			}
			if r.write {
				r.out = append(r.out, data...)
			}
			p, n = s.end, n+len(data)
		case segTag | 0x20:
			e, m, err := r.segments(s, climit, depth+1, segTag)
			if err != nil {
				return 0, 0, err
			}
			p, n = e, n+m
		default:
			return 0, 0, malformed("BER: a segment of a constructed string has tag %#x at offset %d", s.id, p)
		}
	}
}

func checkBitStringSegment(content []byte, pos int) error {
	if len(content) == 0 || content[0] > 7 || (len(content) == 1 && content[0] != 0) {
		return malformed("BER: bad BIT STRING at offset %d", pos)
	}
	return nil
}

// isStringType reports whether the universal type may use the constructed (segmented)
// encoding: BIT STRING, OCTET STRING, ObjectDescriptor, the restricted character strings and
// the time types (encoded as VisibleString).
func isStringType(number byte) bool {
	switch number {
	case 3, 4, 7, 12, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

func derLengthSize(n int) int {
	if n < 0x80 {
		return 1
	}
	size := 1
	for ; n > 0; n >>= 8 {
		size++
	}
	return size
}

func appendDERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	k := derLengthSize(n) - 1
	b = append(b, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		b = append(b, byte(n>>(8*i)))
	}
	return b
}
