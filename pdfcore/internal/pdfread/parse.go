package pdfread

import (
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

const (
	// maxObjectText bounds the text of one object outside streams; dictionaries of real
	// files are far smaller, and a hostile file must not make us copy the whole input.
	maxObjectText = 16 << 20
	// maxDecoded bounds a decoded xref or object stream (and each intermediate stage of a
	// filter chain). pdfcpu's filters grow a buffer until the limit, which costs about three
	// times the limit in heap before they give up: at 256 MB a 4 KB decompression bomb made
	// the reader hold 900 MB. Object streams of real files are kilobytes; 32 MB of xref
	// rows describe over four million objects.
	maxDecoded = 32 << 20
	// maxObjects bounds object numbers and /Size: ISO 32000-1 (C.2) lets a conforming
	// file have 8,388,607 objects; the reader allows twice that.
	maxObjects = 1 << 24
	// maxObjStmObjects bounds the objects of one object stream (producers write about 100).
	maxObjStmObjects = 1 << 20
	// maxParseDepth bounds nesting inside one object.
	maxParseDepth = 100
)

// maxObjectTokens bounds the tokens of one array or dictionary, since parsing builds
// every element: a 15 MB array of 7 million numbers took over 2 s and 300 MB of heap
// (malformed-input suite). A million tokens is a flat /Kids array of 300,000 pages.
const maxObjectTokens = 1 << 20

// parseValue parses one PDF object from t starting at off (object.go's parser). An array or
// dictionary is first measured by scanExtent (its end and its number of tokens), so that it
// is parsed once, from a window that holds all of it, or refused when it has too many
// tokens or does not close. Other objects are parsed from a window that grows from a few KB
// until the object is complete. It returns the object and the offset just after it.
func parseValue(t text, off int64, num int) (types.Object, int64, error) {
	off = skipSpaceIn(t, off)
	size := t.length()
	window := firstWindow(4 << 10)
	measured := false
	head, hb := t.upto(off, off+2)
	head = head[min(off-hb, int64(len(head))):]
	if len(head) > 0 && (head[0] == '[' || head[0] == '<' && len(head) > 1 && head[1] == '<') {
		// Measured over growing windows, since t may be read lazily: a scan that does not
		// close inside a window that is not yet the whole allowance is tried again on a
		// larger one.
		limit := min(size, off+maxObjectText)
		var end int64
		var tokens int
		var ok bool
		for w := firstWindow(4 << 10); ; w *= 8 {
			data, base := t.upto(off, min(off+w, limit))
			end, tokens, ok = scanExtent(data, off-base, maxObjectTokens)
			end += base
			if ok || tokens > maxObjectTokens || base+int64(len(data)) >= limit {
				break
			}
		}
		switch {
		case tokens > maxObjectTokens:
			return nil, 0, fmt.Errorf("%w: object %d has more than %d tokens", ErrLimit, num, maxObjectTokens)
		case !ok:
			// Growing the window for an object that never closes cost a 16 MB copy and
			// parse per object, for every such object a verification reads.
			return nil, 0, damagedObject(num, "the array or dictionary does not close within %d bytes", maxObjectText)
		}
		measured, window = true, max(window, end-off+64)
	}
	for {
		end := min(off+window, size)
		atEnd := end == size
		data, base := t.upto(off, end)
		text := string(data[off-base:])
		o, rest, err := parseObjectText(text, atEnd, maxParseDepth)
		switch {
		case err == nil:
			return o, off + int64(len(text)-len(rest)), nil
		case errors.Is(err, ErrLimit):
			return nil, 0, fmt.Errorf("object %d: %w", num, err)
		case !errors.Is(err, errObjectTruncated) || measured || atEnd:
			return nil, 0, damagedObject(num, "%v", err) // the window held the whole object
		case window >= maxObjectText:
			return nil, 0, damagedObject(num, "object text larger than %d bytes", maxObjectText)
		}
		window *= 4
	}
}

// parseObjectAt parses the uncompressed object num whose header is at off.
func (f *File) parseObjectAt(num int, off int64) (types.Object, error) {
	n, _, body, ok := f.buf.objectHeader(off)
	if !ok || int(n) != num {
		return nil, damagedXref("object %d is not at offset %d where the cross-reference puts it", num, off)
	}
	o, next, err := parseValue(f.buf, body, num)
	if err != nil {
		return nil, err
	}
	d, isDict := o.(types.Dict)
	if !isDict {
		return o, nil
	}
	if at := f.buf.skipSpace(next); f.buf.hasKeyword(at, "stream") {
		return f.streamAfterDict(num, d, at)
	}
	return o, nil
}

// parseDictAt parses a dictionary at off (a trailer).
func (f *File) parseDictAt(off int64, num int) (types.Dict, int64, error) {
	o, next, err := parseValue(f.buf, off, num)
	if err != nil {
		return nil, 0, err
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, 0, fmt.Errorf("expected a dictionary, found %T", o)
	}
	return d, next, nil
}

// parseStreamAt parses the stream object num at off (used for xref streams before the index
// exists).
func (f *File) parseStreamAt(num int, off int64) (*types.StreamDict, error) {
	o, err := f.parseObjectAt(num, off)
	if err != nil {
		return nil, err
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil, damagedObject(num, "is not a stream")
	}
	return &sd, nil
}

// streamAfterDict reads the stream data following dictionary d; at points at "stream".
func (f *File) streamAfterDict(num int, d types.Dict, at int64) (types.Object, error) {
	at += int64(len("stream"))
	w, base := f.buf.upto(at, at+2)
	start := base + skipEOL(w, at-base)
	length, err := f.streamLength(num, d)
	if err != nil {
		return nil, err
	}
	// Compare before adding: start + a /Length near 2^63 overflows to a negative end
	// (found by the malformed-input suite: /Length 9223372036854775807 panicked).
	if length < 0 || length > f.buf.size-start {
		return nil, damagedObject(num, "stream /Length %d runs past the end of the file", length)
	}
	end := start + length
	// The stream must end where /Length says: we do not hunt for "endstream", which would
	// be repairing the file.
	if !f.buf.hasKeyword(f.buf.skipSpace2(end), "endstream") {
		return nil, damagedObject(num, "stream data does not end at its /Length (%d bytes)", length)
	}
	pipeline, err := filterPipeline(d)
	if err != nil {
		return nil, damagedObject(num, "%v", err)
	}
	sd := types.NewStreamDict(d, start, &length, nil, pipeline)
	// The data is read here, once: a stream is parsed because it is about to be used.
	sd.Raw = f.buf.span(start, end)
	sd.Raw = sd.Raw[:len(sd.Raw):len(sd.Raw)]
	return sd, nil
}

func (f *File) streamLength(num int, d types.Dict) (int64, error) {
	switch v := d["Length"].(type) {
	case types.Integer:
		return int64(v), nil
	case types.IndirectRef:
		ln := v.ObjectNumber.Value()
		if ln == num {
			return 0, damagedObject(num, "stream /Length refers to the stream itself")
		}
		var o types.Object
		var err error
		if f.index == nil { // while reading xref streams, before the index exists
			return 0, damagedObject(num, "xref stream /Length must be direct")
		}
		if o, err = f.object(ln); err != nil {
			return 0, err
		}
		if i, ok := o.(types.Integer); ok {
			return int64(i), nil
		}
	}
	return 0, damagedObject(num, "stream has no integer /Length")
}

func filterPipeline(d types.Dict) ([]types.PDFFilter, error) {
	var names []types.Object
	var parms []types.Object
	switch v := d["Filter"].(type) {
	case nil:
		return nil, nil
	case types.Name:
		names = []types.Object{v}
		parms = []types.Object{d["DecodeParms"]}
	case types.Array:
		names = v
		if a, ok := d["DecodeParms"].(types.Array); ok {
			parms = a
		}
	default:
		return nil, fmt.Errorf("bad /Filter %v", v)
	}
	out := make([]types.PDFFilter, len(names))
	for i, n := range names {
		name, ok := n.(types.Name)
		if !ok {
			return nil, fmt.Errorf("bad /Filter entry %v", n)
		}
		out[i].Name = string(name)
		if i < len(parms) {
			if p, ok := parms[i].(types.Dict); ok {
				out[i].DecodeParms = p
			}
		}
	}
	return out, nil
}

// decode returns the decoded data of a stream, bounded by maxDecoded.
func (f *File) decode(sd *types.StreamDict, num int) (b []byte, err error) {
	if len(sd.FilterPipeline) == 0 {
		return sd.Raw, nil
	}
	defer func() {
		// pdfcpu's filters are not written for hostile input; a panic there is a damaged
		// stream to us, not a crash.
		if r := recover(); r != nil {
			b, err = nil, damagedObject(num, "stream cannot be decoded: %v", r)
		}
	}()
	c := *sd
	c.Content = nil
	if err := c.DecodeWithLimit(maxDecoded); err != nil {
		return nil, damagedObject(num, "stream cannot be decoded: %v", err)
	}
	return c.Content, nil
}

// decodePrefix returns the first n decoded bytes of a stream, or fewer when it decodes to
// less: the last filter stops once it has produced n bytes.
func (f *File) decodePrefix(sd *types.StreamDict, num int, n int64) (b []byte, err error) {
	if len(sd.FilterPipeline) == 0 {
		return sd.Raw[:min(n, int64(len(sd.Raw)))], nil
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, damagedObject(num, "stream cannot be decoded: %v", r)
		}
	}()
	c := *sd
	c.Content = nil
	b, err = c.DecodeLengthWithLimit(n, maxDecoded)
	if err != nil {
		return nil, damagedObject(num, "stream cannot be decoded: %v", err)
	}
	return b, nil
}

// objStm is a decoded object stream.
type objStm struct {
	data    []byte
	first   int
	nums    []int
	offsets []int
}

func (f *File) compressedObject(num int, e Entry) (types.Object, error) {
	return f.compressedObjectIn(num, e, f.objStream)
}

func (f *File) compressedObjectIn(num int, e Entry, stream func(int) (*objStm, error)) (types.Object, error) {
	os, err := stream(e.Stream)
	if err != nil {
		return nil, err
	}
	if e.Index < 0 || e.Index >= len(os.nums) {
		return nil, damagedXref("object %d is listed at index %d of object stream %d, which has %d objects", num, e.Index, e.Stream, len(os.nums))
	}
	if os.nums[e.Index] != num {
		return nil, damagedXref("object stream %d holds object %d at index %d, not %d", e.Stream, os.nums[e.Index], e.Index, num)
	}
	start := int64(os.first + os.offsets[e.Index])
	end := int64(len(os.data))
	if e.Index+1 < len(os.offsets) {
		end = int64(os.first + os.offsets[e.Index+1])
	}
	if start < 0 || start > end || end > int64(len(os.data)) {
		return nil, damagedObject(e.Stream, "object offsets out of order")
	}
	o, _, err := parseValue(plainText(os.data[:end:end]), start, num)
	return o, err
}

func (f *File) objStream(snum int) (*objStm, error) {
	e, ok := f.index[snum]
	if !ok || e.Kind != InFile {
		return nil, damagedXref("object stream %d is not an uncompressed object", snum)
	}
	return f.objStreamAt(snum, e)
}

// objStreamAt decodes the object stream snum stored at e; the cache is keyed by offset
// because an older revision may hold another version of the same object number.
func (f *File) objStreamAt(snum int, e Entry) (*objStm, error) {
	if os, ok := f.objStms[e.Offset]; ok {
		return os, nil
	}
	if e.Kind != InFile {
		return nil, damagedXref("object stream %d is not an uncompressed object", snum)
	}
	o, err := f.parseObjectAt(snum, e.Offset)
	if err != nil {
		return nil, err
	}
	sd, ok := o.(types.StreamDict)
	if !ok || !sd.IsObjStm() {
		return nil, damagedObject(snum, "is not an object stream")
	}
	data, err := f.decode(&sd, snum)
	if err != nil {
		return nil, err
	}
	n, first := sd.N(), sd.First()
	// The header before /First holds 2·N integers, each at least one digit and a
	// separator, so N ≤ (First+1)/4; without that bound a lying /N made the reader
	// allocate its tables for the whole decoded size (found by the malformed-input suite).
	if n == nil || first == nil || *n < 0 || *first < 0 || *first > len(data) || *n > (*first+1)/4 {
		return nil, damagedObject(snum, "object stream has bad /N or /First")
	}
	if *n > maxObjStmObjects {
		return nil, fmt.Errorf("%w: object stream %d holds %d objects, more than %d", ErrLimit, snum, *n, maxObjStmObjects)
	}
	os := &objStm{data: data, first: *first, nums: make([]int, *n), offsets: make([]int, *n)}
	head := data[:*first]
	var at int64
	for i := 0; i < *n; i++ {
		v1, next, ok1 := readUint(head, at)
		v2, next2, ok2 := readUint(head, next)
		if !ok1 || !ok2 || v2 > int64(len(data)) {
			return nil, damagedObject(snum, "object stream header entry %d is unreadable", i)
		}
		if i > 0 && int(v2) < os.offsets[i-1] {
			return nil, damagedObject(snum, "object stream offsets are not increasing")
		}
		os.nums[i], os.offsets[i] = int(v1), int(v2)
		at = next2
	}
	f.objStms[e.Offset] = os
	return os, nil
}

// RevisionEnds returns the offsets just past each "%%EOF" that closes a cross-reference
// section, oldest first. A linearized file's first-page section shares its revision with the
// main section and adds no end of its own.
func (f *File) RevisionEnds() []int64 {
	var ends []int64
	for i := len(f.Sections) - 1; i >= 0; i-- {
		if e := f.Sections[i].End; e > 0 && (len(ends) == 0 || e > ends[len(ends)-1]) {
			ends = append(ends, e)
		}
	}
	return ends
}
