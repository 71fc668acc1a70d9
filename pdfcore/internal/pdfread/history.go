package pdfread

import (
	"maps"
	"sort"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Revision is one save of the file: the cross-reference sections written together and the
// offset of the "%%EOF" line that closes them. Defined may be shared with a Section:
// callers must not change it.
type Revision struct {
	End int64
	// Defined holds the entries this revision lists (new, redefined or freed objects).
	Defined map[int]Entry
	// Trailer is the revision's newest trailer.
	Trailer types.Dict
}

// Revisions returns the file's revisions, oldest first. A section belongs to the first
// revision whose end lies after it (a linearized file's two sections share one revision).
// Bytes after the last %%EOF, if any, form no revision.
func (f *File) Revisions() []Revision {
	ends := f.RevisionEnds()
	if len(ends) == 0 {
		ends = []int64{f.buf.size}
	}
	secs := append([]*Section(nil), f.Sections...)
	sort.Slice(secs, func(i, j int) bool { return secs[i].Offset < secs[j].Offset })
	revs := make([]Revision, len(ends))
	shared := make([]bool, len(ends))
	for i := range revs {
		revs[i] = Revision{End: ends[i]}
	}
	for _, s := range secs {
		i := sort.Search(len(ends), func(i int) bool { return ends[i] > s.Offset })
		if i == len(ends) {
			i = len(ends) - 1
		}
		switch {
		case revs[i].Defined == nil:
			// Most revisions have one section: share its entries instead of copying
			// them (a copy doubled the memory of large cross-reference tables).
			revs[i].Defined, shared[i] = s.Entries, true
		default:
			if shared[i] {
				revs[i].Defined, shared[i] = maps.Clone(revs[i].Defined), false
			}
			for num, e := range s.Entries {
				revs[i].Defined[num] = e
			}
		}
		revs[i].Trailer = s.Trailer
	}
	for i := range revs {
		if revs[i].Defined == nil {
			revs[i].Defined = map[int]Entry{}
		}
	}
	return revs
}

// ObjectAt parses the version of object num that entry e describes, without caching it
// under num: change analysis compares an object with its earlier versions.
// lookup finds the entry of an object stream as of the same revision.
func (f *File) ObjectAt(num int, e Entry, lookup func(int) (Entry, bool)) (types.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch e.Kind {
	case InFile:
		return f.parseObjectAt(num, e.Offset)
	case Compressed:
		return f.compressedObjectIn(num, e, func(snum int) (*objStm, error) {
			se, ok := lookup(snum)
			if !ok {
				return nil, damagedXref("object stream %d is not defined in that revision", snum)
			}
			return f.objStreamAt(snum, se)
		})
	}
	return nil, nil
}

// ObjectSpan returns where the uncompressed object num starts and where its "endobj" ends,
// so a verifier can check what lies inside it (the /Contents of a signature).
func (f *File) ObjectSpan(e Entry) (start, end int64, ok bool) {
	if e.Kind != InFile {
		return 0, 0, false
	}
	_, _, body, ok := f.buf.objectHeader(e.Offset)
	if !ok {
		return 0, 0, false
	}
	i := f.buf.index(body, "endobj")
	if i < 0 {
		return 0, 0, false
	}
	return e.Offset, i + int64(len("endobj")), true
}
