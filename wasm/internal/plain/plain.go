// Package plain converts pdfcore's result and plan types to and from plain values — the
// map[string]any, []any, string, float64, bool and nil that syscall/js.ValueOf turns into a
// JavaScript object and that a JavaScript object is read back as — naming fields by their
// `json` tags, exactly as encoding/json would (omitempty, nil slices as null, unknown
// fields ignored). The tags stay the one schema on both sides of the WebAssembly boundary.
//
// It exists so that the WebAssembly core does not link encoding/json: JSON there cost
// 1.4 MB of the 11 MB module, which the browser keeps in memory (as bytes and as compiled
// code) for as long as the core runs, and so through every document's hashing peak. It
// handles the kinds those types use: structs, pointers, slices, strings, booleans, integers
// and floats. Anything else is an error, which plain_test.go keeps from shipping.
package plain

import (
	"fmt"
	"math"
	"reflect"
	"strings"
)

// From returns v as a plain value, with the same shape json.Marshal gives it.
func From(v any) (any, error) {
	return from(reflect.ValueOf(v))
}

func from(v reflect.Value) (any, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return from(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for _, f := range fields(v.Type()) {
			fv := v.Field(f.index)
			if f.omitEmpty && empty(fv) {
				continue
			}
			p, err := from(fv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			out[f.name] = p
		}
		return out, nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil, fmt.Errorf("%s is not supported (JSON would make it base64)", v.Type())
		}
		if v.IsNil() {
			return nil, nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			p, err := from(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%v is not a JSON number", f)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%s is not supported", v.Type())
}

// empty is encoding/json's test for omitempty.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

type field struct {
	name      string
	index     int
	omitEmpty bool
}

// fields lists a struct's exported fields under their JSON names. An embedded struct is a
// field of its own here, where JSON would lift its fields: no type that crosses the
// boundary embeds one, and plain_test.go compares every one of them with encoding/json.
func fields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, index: i, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	return out
}

// Into fills *dst from the plain value src, as json.Unmarshal fills it from src's JSON:
// object fields by their JSON names (case-insensitively, as encoding/json matches them),
// unknown fields ignored, null leaving the zero value. A value of the wrong type, or a
// number with a fraction for an integer, is an error naming where it is.
func Into(dst any, src any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("plain.Into needs a non-nil pointer, not %T", dst)
	}
	return into(v.Elem(), src, "")
}

func into(dst reflect.Value, src any, path string) error {
	if src == nil {
		dst.SetZero()
		return nil
	}
	wrong := func() error {
		return fmt.Errorf("%s: %s cannot hold %s", where(path), dst.Type(), describe(src))
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return into(dst.Elem(), src, path)
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return wrong()
		}
		fs := fields(dst.Type())
		for key, val := range m {
			for _, f := range fs {
				if strings.EqualFold(f.name, key) {
					if err := into(dst.Field(f.index), val, path+"."+f.name); err != nil {
						return err
					}
					break
				}
			}
		}
		return nil
	case reflect.Slice:
		a, ok := src.([]any)
		if !ok || dst.Type().Elem().Kind() == reflect.Uint8 {
			return wrong()
		}
		s := reflect.MakeSlice(dst.Type(), len(a), len(a))
		for i, val := range a {
			if err := into(s.Index(i), val, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			return wrong()
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return wrong()
		}
		dst.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := src.(float64)
		if !ok || f != math.Trunc(f) || dst.OverflowInt(int64(f)) || math.Abs(f) > 1<<53 {
			return wrong()
		}
		dst.SetInt(int64(f))
		return nil
	case reflect.Float32, reflect.Float64:
		f, ok := src.(float64)
		if !ok || dst.OverflowFloat(f) {
			return wrong()
		}
		dst.SetFloat(f)
		return nil
	}
	return fmt.Errorf("%s: %s is not supported", where(path), dst.Type())
}

func where(path string) string {
	if path == "" {
		return "the value"
	}
	return strings.TrimPrefix(path, ".")
}

func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("%v", x)
	}
	return fmt.Sprintf("a %T", v)
}
