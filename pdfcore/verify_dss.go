package pdfcore

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// dssData is the validation data a DSS holds as of one revision, decoded and parsed.
// Nothing in it is trusted for being there: OCSP responses and CRLs count only once their
// signature verifies against the issuer of the certificate they speak of.
type dssData struct {
	certs []*x509.Certificate
	ocsps []*dssItem
	crls  []*dssItem
	nums  map[int]bool // the objects it was read from
	// What the OCSP responses and CRLs may speak about, so that a signature is compared
	// only with evidence about its own certificate: serial numbers of single-response
	// OCSP responses, issuers (DER names) of CRLs; multi when a response covers several.
	serials map[string]bool
	issuers map[string]bool
	multi   bool
}

func (d *dssData) empty() bool { return len(d.certs)+len(d.ocsps)+len(d.crls) == 0 }

// mayCover is the cheap pre-check before any signature is verified.
func (d *dssData) mayCover(c *x509.Certificate) bool {
	return d.multi || d.serials[c.SerialNumber.String()] || d.issuers[string(c.RawIssuer)]
}

// maxDSSItem bounds one decoded DSS stream; large public CRLs stay well below.
const maxDSSItem = 64 << 20

// dssAt returns the DSS as the catalog of revision k names it; unreadable items are
// skipped. A revision that defines none of the objects the previous revision's DSS is made
// of (catalog, DSS, arrays, streams) shares that revision's data: the same pointer, so that
// callers judge each distinct DSS once however many revisions a file has.
func (v *verifier) dssAt(k int) *dssData {
	if d, ok := v.dss[k]; ok {
		return d
	}
	for j := 0; j <= k; j++ {
		if _, ok := v.dss[j]; ok {
			continue
		}
		if j > 0 && !touches(v.revs[j].Defined, v.dss[j-1].nums) {
			v.dss[j] = v.dss[j-1]
			continue
		}
		v.dss[j] = v.readDSS(j)
	}
	return v.dss[k]
}

func touches(defined map[int]pdfread.Entry, nums map[int]bool) bool {
	for n := range nums {
		if _, ok := defined[n]; ok {
			return true
		}
	}
	return false
}

func (v *verifier) readDSS(k int) *dssData {
	d := &dssData{nums: map[int]bool{v.doc.catalogNum: true}, serials: map[string]bool{}, issuers: map[string]bool{}}
	note := func(o types.Object) {
		if r, ok := o.(types.IndirectRef); ok {
			d.nums[r.ObjectNumber.Value()] = true
		}
	}
	cat := v.dictAt(ref(v.doc.catalogNum), k)
	note(cat["DSS"])
	dss := v.dictAt(cat["DSS"], k)
	for _, key := range []string{"Certs", "OCSPs", "CRLs"} {
		note(dss[key])
		arr, _ := v.resolveAt(dss[key], k).(types.Array)
		for _, m := range arr {
			note(m)
			it := v.itemAt(m, k, key)
			switch {
			case it == nil:
			case it.cert != nil:
				d.certs = append(d.certs, it.cert)
			case it.crl != nil:
				d.crls = append(d.crls, it)
				d.issuers[string(it.crl.RawIssuer)] = true
			case key == "OCSPs":
				d.ocsps = append(d.ocsps, it)
				if it.serial == nil {
					d.multi = true
				} else {
					d.serials[it.serial.String()] = true
				}
			}
		}
	}
	return d
}

// distinctDSS lists each distinct DSS of the file once, oldest first.
func (v *verifier) distinctDSS() []*dssData {
	var out []*dssData
	for k := range v.revs {
		if d := v.dssAt(k); len(out) == 0 || out[len(out)-1] != d {
			out = append(out, d)
		}
	}
	return out
}

// itemAt reads and parses the DSS stream o refers to (as of revision k) as a member of the
// array key, once per stream version: a file whose every revision extends its DSS shares
// the items between revisions instead of parsing them again.
func (v *verifier) itemAt(o types.Object, k int, key string) *dssItem {
	r, ok := o.(types.IndirectRef)
	if !ok {
		return nil
	}
	e, ok := v.entryAt(r.ObjectNumber.Value(), k)
	if !ok || e.Kind == pdfread.Free {
		return nil
	}
	ck := [3]int64{int64(r.ObjectNumber.Value()), e.Offset<<20 ^ int64(e.Stream)<<8 ^ int64(e.Index), int64(strings.Index("Certs OCSPs CRLs", key))}
	if it, ok := v.items[ck]; ok {
		return it
	}
	var it *dssItem
	if sd, ok := v.obj(r.ObjectNumber.Value(), e, k).(types.StreamDict); ok {
		if b, err := decodeStream(sd); err == nil {
			it = parseItem(b, key)
		}
	}
	v.items[ck] = it
	return it
}

// decodeStream applies a stream's filters; pdfcpu's filters are not written for hostile
// input, so a panic there is a damaged stream, not a crash.
func decodeStream(sd types.StreamDict) (b []byte, err error) {
	if len(sd.FilterPipeline) == 0 {
		return sd.Raw, nil
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("stream cannot be decoded: %v", r)
		}
	}()
	c := sd
	c.Content = nil
	if err := c.DecodeWithLimit(maxDSSItem); err != nil {
		return nil, err
	}
	return c.Content, nil
}

// allDSSCerts is every certificate any revision's DSS holds: candidates for building chains.
func (v *verifier) allDSSCerts() []*x509.Certificate {
	var out []*x509.Certificate
	for _, d := range v.distinctDSS() {
		out = append(out, d.certs...)
	}
	return out
}

// dssObjects are the object numbers of the DSS dictionary as of revision k and of its
// indirect arrays and VRI dictionaries: what a DSS update may redefine in place. The
// streams are not among them; replacing stored evidence is not adding it.
func (v *verifier) dssObjects(k int) map[int]bool {
	out := map[int]bool{}
	if k < 0 {
		return out
	}
	note := func(o types.Object) {
		if r, ok := o.(types.IndirectRef); ok {
			out[r.ObjectNumber.Value()] = true
		}
	}
	cat := v.dictAt(ref(v.doc.catalogNum), k)
	note(cat["DSS"])
	dss := v.dictAt(cat["DSS"], k)
	for _, key := range []string{"Certs", "OCSPs", "CRLs", "VRI"} {
		note(dss[key])
	}
	for _, e := range v.dictAt(dss["VRI"], k) {
		note(e)
		for _, key := range []string{"Cert", "OCSP", "CRL"} {
			note(v.dictAt(e, k)[key])
		}
	}
	return out
}

// dssProblem says why the DSS o (as of revision k) is not purely validation data, "" when
// it is: only /Type, /Certs, /OCSPs, /CRLs and /VRI, the three arrays holding references to
// streams, /VRI a dictionary of dictionaries of the same kind (ISO 32000-2 12.8.4.3-4).
// pyHanko refuses the same things. Anything else could smuggle content past the change
// analysis under the name of validation data.
func (v *verifier) dssProblem(o types.Object, k int) string {
	dss := v.dictAt(o, k)
	if dss == nil {
		return "the DSS was removed or is not a dictionary"
	}
	for key, val := range dss {
		switch key {
		case "Type":
			if n, ok := val.(types.Name); !ok || n != "DSS" {
				return "the DSS has a /Type other than /DSS"
			}
		case "Certs", "OCSPs", "CRLs":
			if !v.streamRefs(val, k) {
				return fmt.Sprintf("the DSS entry /%s is not an array of streams", key)
			}
		case "VRI":
			vri, ok := v.resolveAt(val, k).(types.Dict)
			if !ok {
				return "the DSS entry /VRI is not a dictionary"
			}
			for _, e := range vri {
				ed, ok := v.resolveAt(e, k).(types.Dict)
				if !ok {
					return "a /VRI entry is not a dictionary"
				}
				for ek, ev := range ed {
					switch ek {
					case "Type", "TU", "TS":
					case "Cert", "OCSP", "CRL":
						if !v.streamRefs(ev, k) {
							return fmt.Sprintf("the /VRI entry /%s is not an array of streams", ek)
						}
					default:
						return fmt.Sprintf("a /VRI entry holds /%s, which is not validation data", ek)
					}
				}
			}
		default:
			return fmt.Sprintf("the DSS holds /%s, which is not validation data", key)
		}
	}
	return ""
}

func (v *verifier) streamRefs(o types.Object, k int) bool {
	arr, ok := v.resolveAt(o, k).(types.Array)
	if !ok {
		return false
	}
	for _, m := range arr {
		if _, isRef := m.(types.IndirectRef); !isRef {
			return false
		}
		if _, isStream := v.resolveAt(m, k).(types.StreamDict); !isStream {
			return false
		}
	}
	return true
}

func isDocTimestamp(d types.Dict) bool {
	t, _ := d["Type"].(types.Name)
	return t == "DocTimeStamp"
}
