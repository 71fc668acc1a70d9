//go:build !js

// This test runs natively (go test ./...): it keeps js/src/protocol.ts, the TypeScript
// mirror of the relay protocol, equal to relay/protocol, the one definition. Every message
// struct, field name, optionality (omitempty ⇔ "?"), field type, "type" value, constant
// and the HashSizes and Methods tables must match in both directions.
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/relay/protocol"
)

// goStructs are the protocol's structs, for reflection. The test fails when the protocol
// package declares a struct that is missing here, so a new message cannot be forgotten.
var goStructs = map[string]any{
	"Hello": protocol.Hello{}, "Welcome": protocol.Welcome{}, "Signer": protocol.Signer{},
	"Identify": protocol.Identify{}, "Certificate": protocol.Certificate{}, "Sign": protocol.Sign{},
	"Status": protocol.Status{}, "Signature": protocol.Signature{}, "OTP": protocol.OTP{},
	"Ack": protocol.Ack{}, "Error": protocol.Error{},
	"ValidationData": protocol.ValidationData{}, "ValidationDataResult": protocol.ValidationDataResult{},
	"Timestamp": protocol.Timestamp{}, "TimestampToken": protocol.TimestampToken{},
}

// goInts are the protocol's integer constants (string constants are read from the source).
var goInts = map[string]int{
	"Version": protocol.Version, "MaxFrame": protocol.MaxFrame, "MaxServerFrame": protocol.MaxServerFrame,
	"MaxChainFrame": protocol.MaxChainFrame, "MaxChain": protocol.MaxChain,
}

type tsField struct {
	name, typ string
	optional  bool
}

type tsFile struct {
	interfaces map[string][]tsField
	consts     map[string]string // name → literal source ("\"hello\"", "1", "4 << 10")
	hashSizes  map[string]int
	methods    []string
}

var (
	interfaceRE = regexp.MustCompile(`(?s)export interface (\w+) \{(.*?)\n\}`)
	fieldRE     = regexp.MustCompile(`^\s*(\w+)(\??):\s*([^;]+);\s*$`)
	constRE     = regexp.MustCompile(`(?m)^export const (\w+) = ("[^"]*"|[0-9][0-9 <]*);`)
	hashSizesRE = regexp.MustCompile(`export const HashSizes = \{([^}]*)\}`)
	methodsRE   = regexp.MustCompile(`export const Methods = \[([^\]]*)\]`)
	commentRE   = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
)

func readTS(t *testing.T) tsFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "js", "src", "protocol.ts"))
	if err != nil {
		t.Fatal(err)
	}
	src := commentRE.ReplaceAllString(string(b), "")
	f := tsFile{interfaces: map[string][]tsField{}, consts: map[string]string{}, hashSizes: map[string]int{}}
	for _, m := range interfaceRE.FindAllStringSubmatch(src, -1) {
		var fields []tsField
		for _, line := range strings.Split(m[2], "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			fm := fieldRE.FindStringSubmatch(line)
			if fm == nil {
				t.Errorf("protocol.ts: interface %s: cannot read the line %q", m[1], line)
				continue
			}
			fields = append(fields, tsField{name: fm[1], optional: fm[2] == "?", typ: strings.TrimSpace(fm[3])})
		}
		f.interfaces[m[1]] = fields
	}
	for _, m := range constRE.FindAllStringSubmatch(src, -1) {
		f.consts[m[1]] = strings.TrimSpace(m[2])
	}
	if m := hashSizesRE.FindStringSubmatch(src); m != nil {
		for _, kv := range strings.Split(m[1], ",") {
			k, v, ok := strings.Cut(kv, ":")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Errorf("protocol.ts: HashSizes entry %q", kv)
			}
			f.hashSizes[strings.TrimSpace(k)] = n
		}
	}
	if m := methodsRE.FindStringSubmatch(src); m != nil {
		for _, s := range strings.Split(m[1], ",") {
			if s = strings.Trim(strings.TrimSpace(s), `"`); s != "" {
				f.methods = append(f.methods, s)
			}
		}
	}
	return f
}

// goSource lists the protocol package's struct names and its string constants, from the
// source: reflection cannot enumerate a package.
func goSource(t *testing.T) (structs []string, strs map[string]string, ints []string) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, filepath.Join("..", "relay", "protocol"), func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	strs = map[string]string{}
	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok {
					continue
				}
				for _, spec := range gd.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if _, isStruct := s.Type.(*ast.StructType); isStruct && s.Name.IsExported() {
							structs = append(structs, s.Name.Name)
						}
					case *ast.ValueSpec:
						if gd.Tok != token.CONST {
							continue
						}
						for i, name := range s.Names {
							if !name.IsExported() || i >= len(s.Values) {
								continue
							}
							if lit, ok := s.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								v, _ := strconv.Unquote(lit.Value)
								strs[name.Name] = v
							} else {
								ints = append(ints, name.Name)
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(structs)
	return structs, strs, ints
}

// tsTypeOf is the TypeScript type a Go field must have.
func tsTypeOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return tsTypeOf(t.Elem()) + "[]"
	case reflect.Struct:
		return t.Name()
	}
	return "unsupported " + t.String()
}

// messageType is the "type" value Encode writes for a struct, "" for one that is not a
// message (Signer).
func messageType(v any) string {
	ptr := reflect.New(reflect.TypeOf(v)).Interface()
	b, err := protocol.Encode(ptr)
	if err != nil {
		return ""
	}
	var head struct{ Type string }
	json.Unmarshal(b, &head)
	return head.Type
}

func TestProtocolTypeScriptMatchesGo(t *testing.T) {
	ts := readTS(t)
	structs, strs, ints := goSource(t)

	for _, name := range structs {
		if _, ok := goStructs[name]; !ok {
			t.Errorf("relay/protocol declares struct %s: add it to goStructs in this test and to js/src/protocol.ts", name)
		}
	}
	for name, v := range goStructs {
		fields, ok := ts.interfaces[name]
		if !ok {
			t.Errorf("js/src/protocol.ts has no interface %s (relay/protocol.%s)", name, name)
			continue
		}
		byName := map[string]tsField{}
		for _, f := range fields {
			byName[f.name] = f
		}
		rt := reflect.TypeOf(v)
		msgType := messageType(v)
		seen := map[string]bool{}
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			tag := sf.Tag.Get("json")
			jname, opts, _ := strings.Cut(tag, ",")
			if jname == "" || jname == "-" {
				t.Errorf("relay/protocol.%s.%s has no json name", name, sf.Name)
				continue
			}
			seen[jname] = true
			f, ok := byName[jname]
			if !ok {
				t.Errorf("protocol.ts interface %s lacks field %q (Go %s.%s)", name, jname, name, sf.Name)
				continue
			}
			omitempty := strings.Contains(opts, "omitempty")
			if f.optional != omitempty {
				t.Errorf("protocol.ts %s.%s: optional is %v, but Go's omitempty is %v", name, jname, f.optional, omitempty)
			}
			want := tsTypeOf(sf.Type)
			if jname == "type" {
				want = strconv.Quote(msgType)
			}
			if f.typ != want {
				t.Errorf("protocol.ts %s.%s has type %s, want %s (Go %s)", name, jname, f.typ, want, sf.Type)
			}
		}
		for _, f := range fields {
			if !seen[f.name] {
				t.Errorf("protocol.ts interface %s has field %q, which relay/protocol.%s does not", name, f.name, name)
			}
		}
	}
	for name := range ts.interfaces {
		if _, ok := goStructs[name]; !ok {
			t.Errorf("protocol.ts declares interface %s, which relay/protocol does not", name)
		}
	}

	for name, v := range strs {
		if got, ok := ts.consts[name]; !ok {
			t.Errorf("protocol.ts lacks the constant %s = %q", name, v)
		} else if got != strconv.Quote(v) {
			t.Errorf("protocol.ts constant %s = %s, Go has %q", name, got, v)
		}
	}
	for _, name := range ints {
		v, ok := goInts[name]
		if !ok {
			t.Errorf("relay/protocol declares the constant %s: add it to goInts in this test and to protocol.ts", name)
			continue
		}
		got, ok := ts.consts[name]
		if !ok {
			t.Errorf("protocol.ts lacks the constant %s = %d", name, v)
		} else if n, err := evalShift(got); err != nil || n != v {
			t.Errorf("protocol.ts constant %s = %s, Go has %d", name, got, v)
		}
	}
	for name := range ts.consts {
		_, isStr := strs[name]
		_, isInt := goInts[name]
		if !isStr && !isInt {
			t.Errorf("protocol.ts declares the constant %s, which relay/protocol does not", name)
		}
	}

	if !reflect.DeepEqual(ts.hashSizes, protocol.HashSizes) {
		t.Errorf("protocol.ts HashSizes = %v, Go has %v", ts.hashSizes, protocol.HashSizes)
	}
	if !reflect.DeepEqual(ts.methods, protocol.Methods) {
		t.Errorf("protocol.ts Methods = %v, Go has %v", ts.methods, protocol.Methods)
	}
}

// evalShift reads "N" or "N << M", the only integer forms protocol.ts uses.
func evalShift(s string) (int, error) {
	a, b, shifted := strings.Cut(s, "<<")
	n, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || !shifted {
		return n, err
	}
	m, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		return 0, fmt.Errorf("bad shift %q", s)
	}
	return n << m, nil
}
