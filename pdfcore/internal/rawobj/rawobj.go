// Package rawobj is the hand-over format between the pieces that produce PDF objects (fonts,
// images, logos) and the writer that numbers and places them in an incremental update. The
// producers never see the file: they get object numbers from the writer and return bodies.
package rawobj

import (
	"bytes"
	"compress/zlib"
	"strconv"
)

// Object is one indirect object. Body is everything between "N 0 obj\n" and "\nendobj",
// for example "<< /Type /Font … >>" or "<< /Length 12 >>\nstream\n…\nendstream".
type Object struct {
	Num  int
	Body []byte
}

// Stream builds a stream object body. entries is the inside of the stream dictionary without
// the surrounding << >> and without /Length; when compress is true the data is deflated and
// /Filter /FlateDecode is added, so entries must not name a filter of its own then.
//
// Compression uses compress/zlib at a fixed level, so the same input gives the same bytes on
// every run of the same Go release — producers rely on that for deterministic documents.
func Stream(entries string, data []byte, compress bool) []byte {
	if compress {
		data = Deflate(data)
	}
	var b bytes.Buffer
	b.Grow(len(entries) + len(data) + 64)
	b.WriteString("<< ")
	if entries != "" {
		b.WriteString(entries)
		b.WriteByte(' ')
	}
	if compress {
		b.WriteString("/Filter /FlateDecode ")
	}
	b.WriteString("/Length ")
	b.WriteString(strconv.Itoa(len(data)))
	// The EOL before endstream is not counted in /Length (ISO 32000-1 7.3.8.1).
	b.WriteString(" >>\nstream\n")
	b.Write(data)
	b.WriteString("\nendstream")
	return b.Bytes()
}

// Deflate returns data in the zlib format /FlateDecode expects.
func Deflate(data []byte) []byte {
	var b bytes.Buffer
	// NewWriterLevel only fails for an invalid level; BestCompression is valid.
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write(data) // writes to a bytes.Buffer cannot fail
	w.Close()
	return b.Bytes()
}
