// Package plain carries pdfcore's result and plan types across the WebAssembly boundary
// without encoding/json: Marshal writes a result as the JSON text json.Marshal would (the
// page's JSON.parse makes the JavaScript object of it), and Into fills a plan from the plain
// value — map[string]any, []any, string, float64, bool, nil — that a JavaScript object is
// read back as. Fields are named by their `json` tags (omitempty, nil slices as null,
// unknown fields ignored), so the tags stay the one schema on both sides.
//
// It exists so that the WebAssembly core does not link encoding/json: JSON there cost
// 1.4 MB of the 11 MB module, which the browser keeps in memory (as bytes and as compiled
// code) for as long as the core runs, and so through every document's hashing peak. It
// handles the kinds those types use: structs, pointers, slices, strings, booleans, integers
// and float64. Anything else is an error, which plain_test.go keeps from shipping.
//
// Results cross as text, not as objects built with syscall/js, because every JavaScript
// object Go makes carries a Go finalizer: a verification report of 1,000 signatures over
// 1,000 revisions (half a million entries) took 24 s in the core that way, nearly all of
// it in the runtime's finalizer bookkeeping and garbage collection.
package plain

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Marshal returns v as JSON, byte for byte what json.Marshal returns for the kinds plain
// handles, and an error for the others.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(v))
}

func appendValue(b []byte, v reflect.Value) ([]byte, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return append(b, "null"...), nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendValue(b, v.Elem())
	case reflect.Struct:
		b = append(b, '{')
		first := true
		for _, f := range fields(v.Type()) {
			fv := v.Field(f.index)
			if f.omitEmpty && empty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, f.name)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, fv); err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
		}
		return append(b, '}'), nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil, fmt.Errorf("%s is not supported (JSON would make it base64)", v.Type())
		}
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		fallthrough
	case reflect.Array:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case reflect.String:
		return appendString(b, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Float64:
		return appendFloat(b, v.Float())
	}
	return nil, fmt.Errorf("%s is not supported", v.Type())
}

// appendFloat writes f as encoding/json does: the shortest text that reads back as the same
// value, in plain notation from 1e-6 up to 1e21 and in exponent notation outside it,
// without a leading zero in the exponent.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%v is not a JSON number", f)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-07 → e-7
		b = b[:n-1]
	}
	return b, nil
}

// appendString writes s as a JSON string as encoding/json does: each byte of invalid UTF-8
// becomes U+FFFD, and besides the quote, the backslash and control characters it escapes <, > and &
// (so that the text can sit in HTML) and U+2028 and U+2029 (which JavaScript source once
// could not hold).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, string(utf8.RuneError)...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
// Each type's list is made once: a report repeats its types hundreds of thousands of times.
func fields(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	fs := structFields(t)
	fieldCache.Store(t, fs)
	return fs
}

var fieldCache sync.Map // reflect.Type → []field

func structFields(t reflect.Type) []field {
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
