#!/usr/bin/env bash
# make-corpus.sh - regenerates testdata/pdf/ (the veilsign PDF test corpus).
# Made for veilsign, CC0.
#
# Not run in CI: the PDFs are committed.  This script documents how each one was made
# and reproduces them (byte-for-byte only where the producer is deterministic; most
# producers stamp the current date).  Run it on Debian 12 (bookworm) as root or with the
# tools already installed:
#
#   apt-get install --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui \
#     libreoffice-draw-nogui libreoffice-impress-nogui ghostscript groff enscript \
#     texlive-latex-base texlive-luatex texlive-xetex texlive-fonts-recommended lmodern \
#     chromium wkhtmltopdf \
#     python3-reportlab img2pdf imagemagick librsvg2-bin poppler-utils qpdf mupdf-tools \
#     libnss3-tools openssl fonts-dejavu-core fonts-liberation2
#   plus Go (pdfcpu v0.15.0 is run with `go run`, GOTOOLCHAIN=go1.27.3).
#
# Files copied from Debian packages (debian-*.pdf) need texlive-base, texlive-xetex and
# texlive-luatex installed (their /usr/share/doc/texlive-doc).
#
# usage: testdata/corpus/make-corpus.sh [OUTDIR]     (default: testdata/pdf)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/src
SCR=$HERE/scripts
KEYS=$HERE/keys
OUT=${1:-$HERE/../pdf}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/veilsign-corpus.XXXXXX)
trap 'rm -rf "$W"' EXIT
PY=/usr/bin/python3            # Debian's python3 (python3-reportlab)
export PYTHONDONTWRITEBYTECODE=1
export GOTOOLCHAIN=go1.27.3
pdfcpu() { go run github.com/pdfcpu/pdfcpu/cmd/pdfcpu@v0.15.0 -c disable "$@"; }
lo() { libreoffice -env:UserInstallation=file://$W/lo-profile --headless "$@"; }
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$W/chromium-profile" "$@"
}

cd "$W"

# ------------------------------------------------------------------ LibreOffice 7.4
"$PY" "$SCR/gen_calc_fods.py" "$W/calc-landscape.fods"       # generated, not kept in src/
lo --convert-to pdf --outdir "$W/lo" "$SRC/writer-letter.fodt" "$SRC/writer-form.fodt" \
   "$SRC/slides.fodp" "$SRC/seal.svg"
lo --convert-to 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}' \
   --outdir "$W/lo-pdfa" "$SRC/writer-letter.fodt"
lo --convert-to 'pdf:calc_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"15"}}' \
   --outdir "$W/lo-15" "$W/calc-landscape.fods"
cp lo/writer-letter.pdf      "$OUT/libreoffice-7.4-writer-xref-table.pdf"
cp lo/writer-form.pdf        "$OUT/libreoffice-7.4-writer-form-filled-textfields.pdf"
cp lo/slides.pdf             "$OUT/libreoffice-7.4-impress-16x9.pdf"
cp lo/seal.pdf               "$OUT/libreoffice-7.4-draw-svg-a5-landscape.pdf"
cp lo-pdfa/writer-letter.pdf "$OUT/libreoffice-7.4-writer-pdfa2b-tagged.pdf"
cp lo-15/calc-landscape.pdf  "$OUT/libreoffice-7.4-calc-pdf15-landscape.pdf"

# ------------------------------------------------------------------ Ghostscript 10.0
GS="gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -dAutoRotatePages=/None"
$GS -dCompatibilityLevel=1.3 -sOutputFile="$OUT/ghostscript-10-pdf13-xref-table-mixed-sizes.pdf" "$SRC/report.ps"
$GS -dCompatibilityLevel=1.4 -dFastWebView=true -sOutputFile="$OUT/ghostscript-10-linearized-fastwebview.pdf" "$SRC/report.ps" >/dev/null
"$PY" "$SCR/gen_long_text.py" long.txt
enscript -q -B -c --lines-per-page=60 -f Courier9 -o long.ps long.txt
ps2pdf long.ps "$OUT/enscript-ghostscript-100-pages.pdf"

# ------------------------------------------------------------------ groff 1.22 (gropdf)
groff -ms -t -Tpdf "$SRC/memo.ms" > "$W/groff-memo.pdf"
cp groff-memo.pdf "$OUT/groff-1.22-gropdf.pdf"

# ------------------------------------------------------------------ TeX Live 2022
mkdir tex && cp "$SRC/article.tex" tex/ && cd tex
for i in 1 2; do pdflatex -interaction=nonstopmode article.tex >/dev/null; done
for i in 1 2; do pdflatex -interaction=nonstopmode -jobname=article-pdf14 \
  '\pdfobjcompresslevel=0\pdfminorversion=4\input{article}' >/dev/null; done
for i in 1 2; do lualatex -interaction=nonstopmode -jobname=article-lua article.tex >/dev/null; done
for i in 1 2; do xelatex -interaction=nonstopmode -jobname=article-xe article.tex >/dev/null; done
cd "$W"
cp tex/article.pdf       "$OUT/pdftex-1.40-objstm-xref-stream.pdf"
cp tex/article-pdf14.pdf "$OUT/pdftex-1.40-pdf14-xref-table.pdf"
cp tex/article-lua.pdf   "$OUT/luatex-1.15-objstm.pdf"
cp tex/article-xe.pdf    "$OUT/xetex-xdvipdfmx-objstm.pdf"

# ------------------------------------------------------------------ Chromium, wkhtmltopdf
chrome --no-pdf-header-footer --print-to-pdf="$W/chromium.pdf" "file://$SRC/invoice.html"
cp chromium.pdf "$OUT/chromium-156-skia-print.pdf"
wkhtmltopdf --quiet --enable-local-file-access -s Letter "$SRC/invoice.html" wkhtml.pdf
cp wkhtml.pdf "$OUT/wkhtmltopdf-0.12-qt-letter.pdf"
$GS -dCompatibilityLevel=1.7 -sOutputFile="$OUT/ghostscript-10-pdf17-redistilled-chromium.pdf" chromium.pdf

# ------------------------------------------------------------------ cairo
rsvg-convert -f pdf -o "$OUT/cairo-1.16-rsvg-convert-a5-landscape.pdf" "$SRC/seal.svg"

# ------------------------------------------------------------------ reportlab 3.6
"$PY" "$SCR/reportlab_docs.py" "$W"
cp reportlab-rotated-90-270-mixed-sizes.pdf "$OUT/reportlab-3.6-rotated-90-270-mixed-sizes.pdf"
cp reportlab-acroform-filled.pdf            "$OUT/reportlab-3.6-acroform-filled.pdf"
pdftocairo -pdf reportlab-rotated-90-270-mixed-sizes.pdf "$OUT/cairo-1.16-pdftocairo-mixed-sizes.pdf"

# ------------------------------------------------------------------ images
convert -size 1654x2339 -seed 42 plasma:fractal -blur 0x3 -font DejaVu-Sans -pointsize 72 \
  -fill white -annotate +120+200 'veilsign big image page' -quality 70 -sampling-factor 4:2:0 -strip big.jpg
img2pdf --pagesize A4 -o "$OUT/img2pdf-0.4-big-jpeg-a4.pdf" big.jpg
rsvg-convert -f png -w 800 -o seal.png "$SRC/seal.svg"
# Debian's ImageMagick policy forbids the "PDF" coder; its PDF/A coder writes the PDF.
convert seal.png -density 96 -units PixelsPerInch PDFA:"$OUT/imagemagick-6.9-pdfa-image.pdf"

# ------------------------------------------------------------------ pdfcpu 0.15
pdfcpu create "$SRC/pdfcpu-create.json" "$OUT/pdfcpu-0.15-create-xref-stream-objstm.pdf"
pdfcpu merge "$OUT/pdfcpu-0.15-merge-3-producers.pdf" lo/writer-letter.pdf \
  "$OUT/ghostscript-10-pdf13-xref-table-mixed-sizes.pdf" "$OUT/cairo-1.16-rsvg-convert-a5-landscape.pdf"
pdfcpu crop -- "15 15 15 15" lo/writer-letter.pdf "$OUT/pdfcpu-0.15-cropbox-smaller.pdf"

# ------------------------------------------------------------------ MuPDF 1.21
mutool clean -gggg -z -i -f chromium.pdf "$OUT/mutool-1.21-clean-from-chromium.pdf"
mutool run "$SCR/mutool-incremental.js" "$OUT/cairo-1.16-rsvg-convert-a5-landscape.pdf" \
  "$OUT/mutool-1.21-incremental-annot-on-cairo.pdf"

# ------------------------------------------------------------------ qpdf 11.3 transforms
qpdf --deterministic-id --object-streams=generate lo/writer-letter.pdf \
  "$OUT/qpdf-11-xref-stream-objstm-from-libreoffice.pdf"
qpdf --deterministic-id --object-streams=disable tex/article.pdf \
  "$OUT/qpdf-11-xref-table-from-pdftex.pdf"
qpdf --deterministic-id --linearize lo-15/calc-landscape.pdf "$OUT/qpdf-11-linearized-xref-table.pdf"
qpdf --deterministic-id --linearize --object-streams=generate reportlab-rotated-90-270-mixed-sizes.pdf \
  "$OUT/qpdf-11-linearized-objstm.pdf"
qpdf --deterministic-id --force-version=2.0 wkhtml.pdf "$OUT/qpdf-11-pdf20-from-wkhtmltopdf.pdf"

# ------------------------------------------------------------------ hand-made structures
"$PY" "$SCR/handmade.py" "$OUT"

# ------------------------------------------------------------------ incremental updates
"$PY" "$SCR/updates.py" three-updates groff-memo.pdf "$OUT/incremental-3-updates-xref-table-groff.pdf"
"$PY" "$SCR/updates.py" three-updates tex/article.pdf "$OUT/incremental-3-updates-xref-stream-pdftex.pdf"
"$PY" "$SCR/updates.py" sigfield lo/writer-form.pdf "$OUT/libreoffice-7.4-form-plus-update-empty-sigfield.pdf" Signature1
"$PY" "$SCR/updates.py" sigfield "$OUT/qpdf-11-linearized-xref-table.pdf" \
  "$OUT/linearized-qpdf-plus-update-empty-sigfield.pdf" Signature1
"$PY" "$SCR/updates.py" retitle lo/writer-letter.pdf "$OUT/incremental-mixed-table-then-xref-stream-libreoffice.pdf" stream
"$PY" "$SCR/updates.py" retitle tex/article.pdf "$OUT/incremental-mixed-xref-stream-then-table-pdftex.pdf" table
"$PY" "$SCR/damage.py" junk-after-eof chromium.pdf "$OUT/chromium-156-junk-after-eof.pdf"

# ------------------------------------------------------------------ signatures
# NSS database for pdfsig, made from the committed test key (keys/, dev-only, not trusted)
mkdir nss && certutil -N -d sql:nss --empty-password
openssl pkcs12 -export -inkey "$KEYS/test-signer.key.pem" -in "$KEYS/test-signer.cert.pem" \
  -name veilsign-test -passout pass:test -out signer.p12
pk12util -i signer.p12 -d sql:nss -W test >/dev/null
PDFSIG="pdfsig -nssdir sql:nss -nick veilsign-test"
$PDFSIG -add-signature -new-signature-field-name Approval -reason "approval by pdfsig for the veilsign corpus" \
  lo/writer-letter.pdf "$OUT/signed-pdfsig-add-signature-libreoffice.pdf" || true   # NSS_Shutdown warning
$PDFSIG -sign Signature1 -reason "signed into an existing field" \
  "$OUT/handmade-empty-sigfields.pdf" "$OUT/signed-pdfsig-existing-field.pdf" || true
$PDFSIG -sign Signature2 -reason "second signature" \
  "$OUT/signed-pdfsig-existing-field.pdf" "$OUT/signed-pdfsig-2-signatures.pdf" || true
$PDFSIG -sign Signature1 -reason "libreoffice form, field added by hand" \
  "$OUT/libreoffice-7.4-form-plus-update-empty-sigfield.pdf" "$OUT/signed-pdfsig-libreoffice-form-sigfield.pdf" || true
"$PY" "$SCR/updates.py" certify lo/writer-form.pdf "$OUT/certified-p2-docmdp-libreoffice-form.pdf" 2 \
  "$KEYS/test-signer.key.pem" "$KEYS/test-signer.cert.pem"

# ------------------------------------------------------------------ files from Debian packages
TD=/usr/share/doc/texlive-doc
cp $TD/pdftex/samplepdftex/pic.pdf        "$OUT/debian-texlive-pdftex-sample-distiller3-pdf12.pdf"
cp $TD/dvipdfm/something.pdf              "$OUT/debian-texlive-dvipdfm-pstill-pdf11.pdf"
cp $TD/dvipdfm/transistor.pdf             "$OUT/debian-texlive-dvipdfm-aladdin-gs550-pdf12.pdf"
cp $TD/support/makeindex/makeindex.pdf    "$OUT/debian-texlive-makeindex-distiller7-linearized.pdf"
cp $TD/xelatex/cqubeamer/logo/cqulogo.pdf "$OUT/debian-texlive-cqubeamer-illustrator-linearized.pdf"
cp $TD/luatex/minim-math/minim-math.pdf   "$OUT/debian-texlive-minim-math-objstm.pdf"

# ------------------------------------------------------------------ error paths
qpdf --encrypt veilsign-user veilsign-owner 256 -- \
  "$OUT/ghostscript-10-pdf13-xref-table-mixed-sizes.pdf" "$OUT/fail-encrypted.pdf"
qpdf --allow-weak-crypto --encrypt "" veilsign-owner 128 --use-aes=n --print=none --modify=none -- \
  lo/writer-letter.pdf "$OUT/fail-encrypted-rc4-owner-only.pdf"
"$PY" "$SCR/updates.py" damage-startxref "$OUT/ghostscript-10-pdf13-xref-table-mixed-sizes.pdf" "$OUT/fail-damaged-xref.pdf"
"$PY" "$SCR/damage.py" shift-offsets "$OUT/groff-1.22-gropdf.pdf" "$OUT/fail-damaged-xref-offsets-shifted.pdf"
"$PY" "$SCR/damage.py" truncate "$OUT/libreoffice-7.4-writer-xref-table.pdf" "$OUT/fail-truncated.pdf"
convert -size 32x32 xc:'#1d4e89' -strip png:"$OUT/fail-not-pdf.pdf"
"$PY" "$SCR/updates.py" certify "$OUT/ghostscript-10-pdf13-xref-table-mixed-sizes.pdf" "$OUT/fail-certified-p1.pdf" 1 \
  "$KEYS/test-signer.key.pem" "$KEYS/test-signer.cert.pem"

echo "corpus written to $OUT"
du -sh "$OUT"
