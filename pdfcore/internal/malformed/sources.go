package malformed

// SourceFiles names the real files under testdata/pdf that every harness derives cases
// from: one of each structure the reader follows (classic table, xref stream with object
// streams, hybrid, linearized, incremental updates of each kind, a signed file). The native
// test and the files written for the WASM build use this one list, so both see the same
// set.
var SourceFiles = []string{
	"debian-texlive-dvipdfm-aladdin-gs550-pdf12.pdf",
	"handmade-pdf20-xref-stream-objstm.pdf",
	"handmade-hybrid-xrefstm.pdf",
	"ghostscript-10-linearized-fastwebview.pdf",
	"qpdf-11-linearized-objstm.pdf",
	"incremental-3-updates-xref-table-groff.pdf",
	"incremental-mixed-table-then-xref-stream-libreoffice.pdf",
	"pdfcpu-0.15-create-xref-stream-objstm.pdf",
	"signed-pdfsig-existing-field.pdf",
}
