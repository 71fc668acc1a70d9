// mutool run mutool-incremental.js IN OUT
// Adds a free-text annotation with MuPDF's own API and saves incrementally
// (MuPDF appends an update; the original bytes are kept). Made for veilsign, CC0.
var doc = new PDFDocument(scriptArgs[0]);
var page = doc.loadPage(0);
var annot = page.createAnnotation("FreeText");
annot.setRect([300, 760, 560, 800]);
annot.setContents("Note added by mutool run, saved incrementally");
annot.update();
doc.setMetaData("info:Title", "Annotated by MuPDF (veilsign test corpus)");
doc.save(scriptArgs[1], "incremental");
