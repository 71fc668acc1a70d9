package font

import "testing"

// BenchmarkParse is the one-time cost of the first use of a face in a process.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := parse(Regular().ttf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignaturePage is the font work of one signature page: encoding its text and
// writing the subset.
func BenchmarkSignaturePage(b *testing.B) {
	n := 0
	alloc := func() int { n++; return n }
	for b.Loop() {
		s := Regular().NewSubset()
		for _, line := range signaturePage {
			s.Encode(line)
		}
		if _, _, err := s.Objects(alloc); err != nil {
			b.Fatal(err)
		}
	}
}
