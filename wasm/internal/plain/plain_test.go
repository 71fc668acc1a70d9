package plain

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/pdfcore"
)

// The types the WebAssembly core hands to JavaScript (wasm/calls.go): each must come out as
// encoding/json would have made it, with every field set and with none.
var results = []any{pdfcore.Report{}, pdfcore.Layout{}, pdfcore.SignatureField{}, pdfcore.Plan{}}

func TestMarshalIsJSON(t *testing.T) {
	for _, zero := range results {
		typ := reflect.TypeOf(zero)
		for _, v := range []any{zero, filled(typ, 1).Interface(), filled(typ, 2).Interface()} {
			sameAsJSON(t, v)
		}
	}
	// A pointer, a nil slice and an empty one, as the bindings pass them.
	for _, v := range []any{&pdfcore.Layout{Kind: "slot"}, (*pdfcore.Layout)(nil), []pdfcore.SignatureField(nil), []pdfcore.SignatureField{}} {
		sameAsJSON(t, v)
	}
	// Strings as a document can make them (a signer's name, a field's), and numbers at the
	// edges of JSON's two notations.
	for _, s := range []string{"", "plain", "é\"<>&\\/", "tab\tline\nret\r", "\x00\x01\x1f\x7f", "bad \xff\xfe utf-8 \xe2\x82", "\u2028\u2029", "😀 𝄞", strings.Repeat("ab", 1000)} {
		sameAsJSON(t, struct {
			S string `json:"s"`
		}{s})
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.1, -2.5, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 123456789012345678, -1e21, 5e-324, math.MaxFloat64, 595.275, 1.0 / 3} {
		sameAsJSON(t, struct {
			F float64 `json:"f"`
		}{f})
	}
	for _, n := range []any{int8(-128), int64(math.MinInt64), uint64(math.MaxUint64), uint16(7)} {
		sameAsJSON(t, []any{n})
	}
}

func sameAsJSON(t *testing.T, v any) {
	t.Helper()
	got, err := Marshal(v)
	if err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%T:\nplain %s\njson  %s", v, got, want)
	}
}

func TestMarshalRefusesWhatJSONWouldChange(t *testing.T) {
	for _, v := range []any{struct{ B []byte }{B: []byte{1}}, map[string]int{}, struct{ C chan int }{}, 1.0 / zero(), math.NaN(), float32(1)} {
		if _, err := Marshal(v); err == nil {
			t.Errorf("%#v: no error", v)
		}
	}
}

func zero() float64 { return 0 }

func TestIntoIsJSON(t *testing.T) {
	for _, seed := range []int{0, 1, 2} {
		var want pdfcore.Plan
		if seed > 0 {
			want = filled(reflect.TypeOf(want), seed).Interface().(pdfcore.Plan)
		}
		text, _ := json.Marshal(want)
		var tree any
		if err := json.Unmarshal(text, &tree); err != nil {
			t.Fatal(err)
		}
		var got, fromJSON pdfcore.Plan
		if err := Into(&got, tree); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		_ = json.Unmarshal(text, &fromJSON)
		if !reflect.DeepEqual(got, fromJSON) || !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d:\nplain %#v\njson  %#v", seed, got, fromJSON)
		}
	}

	// What a page writes: JSON names in any case, unknown fields, nulls.
	text := `{"Signers":[{"label":"A","NAME":"Ada","method":"itsme","field":{"page":2,"rect":{"llx":1.5,"lly":2,"urx":3,"ury":4}},"extra":[1,{}]},{"label":"B","field":null}]}`
	var tree any
	_ = json.Unmarshal([]byte(text), &tree)
	var got, want pdfcore.Plan
	if err := Into(&got, tree); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(text), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plain %#v\njson  %#v", got, want)
	}
}

func TestIntoRefusesWhatJSONRefuses(t *testing.T) {
	for text, where := range map[string]string{
		`{"signers":{}}`:                                "signers",
		`{"signers":[{"label":1}]}`:                     "signers[0].label",
		`{"signers":[{"field":{"page":1.5}}]}`:          "signers[0].field.page",
		`{"signers":[{"field":{"page":"1"}}]}`:          "signers[0].field.page",
		`{"signers":[{"field":{"rect":{"llx":true}}}]}`: "signers[0].field.rect.llx",
		`{"signers":[{"field":{"page":1e300}}]}`:        "signers[0].field.page",
		`[]`:                                            "the value",
	} {
		var tree any
		if err := json.Unmarshal([]byte(text), &tree); err != nil {
			t.Fatal(err)
		}
		var p pdfcore.Plan
		err := Into(&p, tree)
		if err == nil || !strings.HasPrefix(err.Error(), where+":") {
			t.Errorf("%s: %v, want an error at %s", text, err, where)
		}
		if json.Unmarshal([]byte(text), &p) == nil {
			t.Errorf("%s: encoding/json takes it", text)
		}
	}
}

// filled returns a value of typ with every field set, recursively, from seed: slices get
// seed elements (so seed 1 and 2 differ in length), pointers point to filled values.
func filled(typ reflect.Type, seed int) reflect.Value {
	v := reflect.New(typ).Elem()
	switch typ.Kind() {
	case reflect.Struct:
		for i := 0; i < typ.NumField(); i++ {
			if typ.Field(i).IsExported() {
				v.Field(i).Set(filled(typ.Field(i).Type, seed+i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(typ.Elem()))
		v.Elem().Set(filled(typ.Elem(), seed))
	case reflect.Slice:
		n := 1 + seed%2
		v.Set(reflect.MakeSlice(typ, n, n))
		for i := 0; i < n; i++ {
			v.Index(i).Set(filled(typ.Elem(), seed+i))
		}
	case reflect.String:
		v.SetString(strings.Repeat("é\"<", seed%3+1))
	case reflect.Bool:
		v.SetBool(seed%2 == 1)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(seed*1000 + 7))
	case reflect.Float64:
		v.SetFloat(float64(seed) + 0.25)
	default:
		panic("filled: add " + typ.String())
	}
	return v
}
