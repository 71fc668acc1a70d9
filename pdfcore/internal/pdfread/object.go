package pdfread

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// The object parser: one PDF object (ISO 32000-1, 7.3) from text into pdfcpu's types. It is
// ours rather than pdfcpu's model.ParseObjectContext because that one function linked all of
// pdfcpu's model package into the WebAssembly core (configuration, fonts, image decoders,
// JSON), whose code and package initialisation cost the browser's worker 6 MB of memory
// while it hashes a document. The values are pdfcpu's in the same representation as
// pdfcpu's parser gives them for a well-formed object (a literal string keeps its escapes, a
// hex string is upper case and of even length, a name has its #xx decoded, a dictionary
// leaves out null values and keeps the last of duplicate keys), so the rest of pdfcore and
// pdfcpu's own methods read them as before; object_test.go checks that against pdfcpu's
// parser on every object of the test PDFs. Unlike pdfcpu's parser it does not retry in a
// relaxed mode that skips junk: an object it cannot read is an error, never a guess.

// errObjectTruncated: the text ends inside the object. parseValue then tries a larger window.
var errObjectTruncated = errors.New("the object does not end within the text read")

// parseObjectText parses the object at the start of s (after white space and comments) and
// returns it with the text after it. final says that s is all there is (an object stream's
// object, a file's last bytes); otherwise the file goes on after s, and an object that
// reaches the end of s, or a number that might be the start of "12 0 R", is
// errObjectTruncated. Nesting deeper than maxDepth is an error.
func parseObjectText(s string, final bool, maxDepth int) (types.Object, string, error) {
	p := objectParser{s: s, final: final, maxDepth: maxDepth}
	o, err := p.value(0)
	if err != nil {
		return nil, s, err
	}
	return o, s[p.i:], nil
}

type objectParser struct {
	s        string
	i        int
	final    bool
	maxDepth int
}

// open reports whether j is past the text while the file goes on after it: a token that
// reaches there may continue in text not read yet.
func (p *objectParser) open(j int) bool { return j >= len(p.s) && !p.final }

func (p *objectParser) skipSpace() {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case isSpace(c):
			p.i++
		case c == '%':
			for p.i < len(p.s) && p.s[p.i] != '\n' && p.s[p.i] != '\r' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *objectParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d of the object: %s", p.i, fmt.Sprintf(format, args...))
}

// value parses one object at p.i; depth counts the arrays and dictionaries around it.
func (p *objectParser) value(depth int) (types.Object, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, errObjectTruncated
	}
	switch c := p.s[p.i]; {
	case (c == '[' || c == '<' && p.i+1 < len(p.s) && p.s[p.i+1] == '<') && depth >= p.maxDepth:
		return nil, fmt.Errorf("%w: arrays and dictionaries nested more than %d deep", ErrLimit, p.maxDepth)
	case c == '[':
		return p.array(depth + 1)
	case c == '<' && p.i+1 < len(p.s) && p.s[p.i+1] == '<':
		return p.dict(depth + 1)
	case c == '<':
		if p.i+1 >= len(p.s) {
			return nil, errObjectTruncated
		}
		return p.hexString()
	case c == '(':
		return p.literalString()
	case c == '/':
		return p.name()
	case c == '+' || c == '-' || c == '.' || isDigit(c):
		return p.number()
	default:
		return p.keyword()
	}
}

func (p *objectParser) array(depth int) (types.Object, error) {
	p.i++ // '['
	a := types.Array{}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, errObjectTruncated
		}
		if p.s[p.i] == ']' {
			p.i++
			return a, nil
		}
		o, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, o)
	}
}

func (p *objectParser) dict(depth int) (types.Object, error) {
	p.i += 2 // "<<"
	d := types.Dict{}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, errObjectTruncated
		}
		if p.s[p.i] == '>' {
			if p.i+1 >= len(p.s) {
				return nil, errObjectTruncated
			}
			if p.s[p.i+1] != '>' {
				return nil, p.errorf("a dictionary ends with a single '>'")
			}
			p.i += 2
			return d, nil
		}
		if p.s[p.i] != '/' {
			return nil, p.errorf("a dictionary key must be a name, found %q", p.s[p.i])
		}
		key, err := p.name()
		if err != nil {
			return nil, err
		}
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		// A null value is the same as no entry (7.3.7).
		if v != nil {
			d[string(key.(types.Name))] = v
		}
	}
}

// literalString returns a string's text between its outer parentheses, escapes kept:
// pdfcpu's StringLiteral is the raw form, decoded by types.StringLiteralToString when read.
func (p *objectParser) literalString() (types.Object, error) {
	start := p.i + 1
	level := 0
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '\\':
			p.i++ // the escaped byte, whatever it is
		case '(':
			level++
		case ')':
			if level--; level == 0 {
				return types.StringLiteral(p.s[start : p.i-1]), nil
			}
		}
	}
	return nil, errObjectTruncated
}

// hexString returns the digits of <...> in upper case, white space dropped (7.3.4.3) and a
// final 0 added to an odd count.
func (p *objectParser) hexString() (types.Object, error) {
	p.i++ // '<'
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return nil, errObjectTruncated
	}
	body := p.s[p.i : p.i+end]
	var b strings.Builder
	b.Grow(len(body) + 1)
	for j := 0; j < len(body); j++ {
		c := body[j]
		switch {
		case isSpace(c):
		case isDigit(c) || c >= 'A' && c <= 'F':
			b.WriteByte(c)
		case c >= 'a' && c <= 'f':
			b.WriteByte(c - 'a' + 'A')
		default:
			p.i += j
			return nil, p.errorf("a hex string holds %q", c)
		}
	}
	if b.Len()%2 == 1 {
		b.WriteByte('0')
	}
	p.i += end + 1
	return types.HexLiteral(b.String()), nil
}

// name reads /Name up to white space or a delimiter and decodes its #xx escapes.
func (p *objectParser) name() (types.Object, error) {
	p.i++ // '/'
	start := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) && !isDelimiter(p.s[p.i]) {
		p.i++
	}
	if p.open(p.i) {
		return nil, errObjectTruncated // the name may go on past the text read
	}
	n, err := types.DecodeName(p.s[start:p.i])
	if err != nil {
		return nil, p.errorf("name /%s: %v", p.s[start:p.i], err)
	}
	return types.Name(n), nil
}

// number reads an integer or a real (7.3.3: an optional sign, digits with at most one
// period, no exponent); an integer followed by a second one and R is an indirect reference.
func (p *objectParser) number() (types.Object, error) {
	start := p.i
	signed := p.s[p.i] == '+' || p.s[p.i] == '-'
	if signed {
		p.i++
	}
	digits, period := 0, false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isDigit(c) {
			digits++
		} else if c == '.' && !period {
			period = true
		} else {
			break
		}
		p.i++
	}
	if p.open(p.i) {
		return nil, errObjectTruncated
	}
	if p.i < len(p.s) && !isSpace(p.s[p.i]) && !isDelimiter(p.s[p.i]) {
		return nil, p.errorf("%q is not a number", p.s[start:p.i+1])
	}
	text := p.s[start:p.i]
	if digits == 0 {
		return nil, p.errorf("%q is not a number", text)
	}
	if !period {
		v, err := strconv.Atoi(text)
		if err == nil {
			if signed || v <= 0 {
				return types.Integer(v), nil
			}
			return p.reference(v)
		}
		// An integer beyond int's range reads as a real, as readers that keep numbers as
		// doubles see it: never as an integer that a /Length or /Size could use.
	}
	f, err := strconv.ParseFloat(text, 64)
	if math.IsInf(f, 0) {
		return nil, p.errorf("%.20s… is too large a number", text)
	}
	if err != nil && !errors.Is(err, strconv.ErrRange) { // an underflow reads as 0
		return nil, p.errorf("%q is not a number", text)
	}
	return types.Float(f), nil
}

// reference reads " gen R" after the object number num if it is there, and returns
// Integer(num) with the parser just after num otherwise.
func (p *objectParser) reference(num int) (types.Object, error) {
	j := p.i
	spaces := func() {
		for j < len(p.s) && isSpace(p.s[j]) {
			j++
		}
	}
	spaces()
	genStart := j
	for j < len(p.s) && isDigit(p.s[j]) {
		j++
	}
	gen := j - genStart
	if p.open(j) {
		return nil, errObjectTruncated
	}
	if gen == 0 || gen > 5 || j >= len(p.s) || !isSpace(p.s[j]) {
		return types.Integer(num), nil
	}
	g, _ := strconv.Atoi(p.s[genStart:j])
	spaces()
	if p.open(j + 1) {
		return nil, errObjectTruncated
	}
	if j >= len(p.s) || p.s[j] != 'R' || j+1 < len(p.s) && !isSpace(p.s[j+1]) && !isDelimiter(p.s[j+1]) {
		return types.Integer(num), nil
	}
	p.i = j + 1
	return *types.NewIndirectRef(num, g), nil
}

// keyword reads true, false or null; any other bare word is an error.
func (p *objectParser) keyword() (types.Object, error) {
	start := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) && !isDelimiter(p.s[p.i]) {
		p.i++
	}
	word := p.s[start:p.i]
	if p.open(p.i) {
		return nil, errObjectTruncated
	}
	switch word {
	case "true":
		return types.Boolean(true), nil
	case "false":
		return types.Boolean(false), nil
	case "null":
		return nil, nil
	}
	if word == "" {
		return nil, p.errorf("unexpected %q", p.s[p.i])
	}
	return nil, p.errorf("unexpected keyword %q", word)
}
