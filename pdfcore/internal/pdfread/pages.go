package pdfread

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Page is one page found by walking the page tree, with the attributes it inherits.
type Page struct {
	Num   int        // 1-based page number
	Ref   int        // object number of the page dictionary
	Dict  types.Dict // the page dictionary as stored
	Media types.Array
	Crop  types.Array // nil when absent
	// Resources is the page's effective resource dictionary (own or inherited), resolved.
	Resources types.Dict
	Rotate    int
}

// Root returns the document catalog.
func (f *File) Root() (types.Dict, int, error) {
	ref, ok := f.Trailer["Root"].(types.IndirectRef)
	if !ok {
		return nil, 0, damagedXref("the trailer has no /Root reference")
	}
	d, err := f.Dict(ref)
	if err != nil {
		return nil, 0, err
	}
	if d == nil {
		return nil, 0, damagedObject(ref.ObjectNumber.Value(), "the catalog is missing or not a dictionary")
	}
	return d, ref.ObjectNumber.Value(), nil
}

// PagesRoot returns the root of the page tree.
func (f *File) PagesRoot() (types.Dict, int, error) {
	cat, _, err := f.Root()
	if err != nil {
		return nil, 0, err
	}
	ref, ok := cat["Pages"].(types.IndirectRef)
	if !ok {
		return nil, 0, fmt.Errorf("%w: the catalog has no /Pages reference", ErrDamagedObject)
	}
	d, err := f.Dict(ref)
	if err != nil || d == nil {
		return nil, 0, fmt.Errorf("%w: the page tree root is unreadable", ErrDamagedObject)
	}
	return d, ref.ObjectNumber.Value(), nil
}

// PageCount is the /Count of the page tree root.
func (f *File) PageCount() (int, error) {
	root, _, err := f.PagesRoot()
	if err != nil {
		return 0, err
	}
	c, err := f.intOf(root["Count"])
	if err != nil || c < 0 {
		return 0, fmt.Errorf("%w: the page tree has no valid /Count", ErrDamagedObject)
	}
	return c, nil
}

func (f *File) intOf(o types.Object) (int, error) {
	o, err := f.Resolve(o)
	if err != nil {
		return 0, err
	}
	switch v := o.(type) {
	case types.Integer:
		return int(v), nil
	case types.Float:
		return int(v), nil
	}
	return 0, fmt.Errorf("not a number: %v", o)
}

// Page finds page n (1-based), descending only the branch that holds it: /Count of each
// intermediate node says which kid to enter. Each node's kids are scanned from the end
// nearer to the page, so the last page of a flat tree — where a signature page is sized
// from and often where a signature field is — costs one kid, not all of them; in a tree
// whose counts add up both directions find the same page.
func (f *File) Page(n int) (*Page, error) {
	root, rootNum, err := f.PagesRoot()
	if err != nil {
		return nil, err
	}
	inh := inherited{}
	inh.take(root)
	node, nodeNum := root, rootNum
	count, err := f.intOf(root["Count"])
	if err != nil {
		count = -1 // unknown: the kids are scanned from the start
	}
	want := n - 1
	seen := map[int]bool{rootNum: true}
	for depth := 0; depth < 64; depth++ {
		kids, err := f.Resolve(node["Kids"])
		if err != nil {
			return nil, err
		}
		arr, ok := kids.(types.Array)
		if !ok {
			return nil, fmt.Errorf("%w: page tree node %d has no /Kids", ErrDamagedObject, nodeNum)
		}
		// From the end, the page is the skip-th leaf counting back from the last. Only with
		// a count the file can hold (no more pages than objects): one that lies, scanned
		// from the end, would make its only page the last of two billion.
		fromEnd := count > 0 && count <= f.NumObjects() && want < count && want >= count/2
		skip := want
		if fromEnd {
			skip = count - 1 - want
		}
		found := false
		for i := range arr {
			if fromEnd {
				i = len(arr) - 1 - i
			}
			ref, ok := arr[i].(types.IndirectRef)
			if !ok {
				continue
			}
			kn := ref.ObjectNumber.Value()
			kd, err := f.Dict(ref)
			if err != nil {
				return nil, err
			}
			if kd == nil {
				continue
			}
			if t := kd.Type(); t != nil && *t == "Pages" {
				c, err := f.intOf(kd["Count"])
				if err != nil {
					return nil, fmt.Errorf("%w: page tree node %d has no /Count", ErrDamagedObject, kn)
				}
				if skip >= c {
					skip -= c
					continue
				}
				if seen[kn] {
					return nil, fmt.Errorf("%w: the page tree loops at object %d", ErrDamagedObject, kn)
				}
				seen[kn] = true
				inh.take(kd)
				node, nodeNum, count, found = kd, kn, c, true
				want = skip
				if fromEnd {
					want = c - 1 - skip
				}
				break
			}
			if skip > 0 {
				skip--
				continue
			}
			inh.take(kd)
			return f.makePage(n, kn, kd, inh)
		}
		if !found {
			return nil, fmt.Errorf("%w: page %d is not in the page tree", ErrDamagedObject, n)
		}
	}
	return nil, fmt.Errorf("%w: the page tree is deeper than 64 levels", ErrDamagedObject)
}

// PageNumbers walks the page tree once and maps each page object to its 1-based page
// number, for up to limit pages. Mapping with Page(1), Page(2), … instead costs time
// quadratic in the number of kids of a flat tree: 20,000 pages took over 2 s and a
// 100,000-kid tree did not finish (found by the malformed-input suite). Every node is
// entered once, so a tree that revisits a node (a loop, or a node shared by two parents)
// stops the walk; the pages found up to there are returned with the error.
func (f *File) PageNumbers(limit int) (map[int]int, error) {
	out := map[int]int{}
	root, rootNum, err := f.PagesRoot()
	if err != nil {
		return out, err
	}
	n := 0
	entered := map[int]bool{}
	var walk func(node types.Dict, num, depth int) error
	walk = func(node types.Dict, num, depth int) error {
		if depth >= 64 {
			return fmt.Errorf("%w: the page tree is deeper than 64 levels", ErrDamagedObject)
		}
		if entered[num] {
			return fmt.Errorf("%w: the page tree enters node %d twice", ErrDamagedObject, num)
		}
		entered[num] = true
		kids, err := f.Resolve(node["Kids"])
		if err != nil {
			return err
		}
		arr, ok := kids.(types.Array)
		if !ok {
			return fmt.Errorf("%w: page tree node %d has no /Kids", ErrDamagedObject, num)
		}
		for _, k := range arr {
			if n >= limit {
				return nil
			}
			ref, ok := k.(types.IndirectRef)
			if !ok {
				continue
			}
			kn := ref.ObjectNumber.Value()
			kd, err := f.Dict(ref)
			if err != nil {
				return err
			}
			if kd == nil {
				continue
			}
			if t := kd.Type(); t != nil && *t == "Pages" {
				if err := walk(kd, kn, depth+1); err != nil {
					return err
				}
				continue
			}
			n++
			out[kn] = n // a page listed twice keeps its last number, as Page(n) finds it
		}
		return nil
	}
	return out, walk(root, rootNum, 0)
}

type inherited struct {
	media, crop, resources, rotate types.Object
}

func (i *inherited) take(d types.Dict) {
	if v, ok := d["MediaBox"]; ok {
		i.media = v
	}
	if v, ok := d["CropBox"]; ok {
		i.crop = v
	}
	if v, ok := d["Resources"]; ok {
		i.resources = v
	}
	if v, ok := d["Rotate"]; ok {
		i.rotate = v
	}
}

func (f *File) makePage(n, num int, d types.Dict, inh inherited) (*Page, error) {
	p := &Page{Num: n, Ref: num, Dict: d}
	media, err := f.Resolve(inh.media)
	if err != nil {
		return nil, err
	}
	p.Media, _ = media.(types.Array)
	if len(p.Media) != 4 {
		// A page without a MediaBox is invalid; US Letter is what readers assume.
		p.Media = types.Array{types.Integer(0), types.Integer(0), types.Integer(612), types.Integer(792)}
	}
	if inh.crop != nil {
		c, err := f.Resolve(inh.crop)
		if err != nil {
			return nil, err
		}
		if a, ok := c.(types.Array); ok && len(a) == 4 {
			p.Crop = a
		}
	}
	if inh.resources != nil {
		r, err := f.Dict(inh.resources)
		if err != nil {
			return nil, err
		}
		p.Resources = r
	}
	if inh.rotate != nil {
		r, err := f.intOf(inh.rotate)
		if err == nil {
			r = ((r % 360) + 360) % 360
			p.Rotate = r - r%90
		}
	}
	return p, nil
}
