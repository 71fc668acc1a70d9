// Times @signpdf/signpdf (placeholder-plain + signer-p12) signing a PDF with a PKCS#12 key,
// and hash-wasm's SHA-256 over the same bytes (Node's fastest WASM hash, for reference).
// Usage: node signpdf.mjs FILE.pdf KEY.p12 PASSPHRASE RUNS [OUT.pdf]
// Prints one JSON line: {"ok":true,"ms":best,"hashwasm_ms":best,"p12_ms":best} or
// {"ok":false,"error":...}. p12_ms is what unlocking the PKCS#12 alone costs inside ms (the
// driver writes it with one PBE iteration so that this stays small beside the signing).
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import signpdfModule from '@signpdf/signpdf';
import { plainAddPlaceholder } from '@signpdf/placeholder-plain';
import { P12Signer } from '@signpdf/signer-p12';
import { createSHA256 } from 'hash-wasm';
import forge from 'node-forge';

// The package is CommonJS with an ES-style default export.
const signpdf = signpdfModule.default ?? signpdfModule;
const [file, p12, pass, runsArg, out] = process.argv.slice(2);
const runs = Number(runsArg || 1);
const pdf = readFileSync(file);
const p12Bytes = readFileSync(p12);
const result = { ok: true, ms: Infinity, hashwasm_ms: Infinity, p12_ms: Infinity, bytes: pdf.length };
try {
  const h = await createSHA256();
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    h.init();
    h.update(pdf);
    h.digest('hex');
    result.hashwasm_ms = Math.min(result.hashwasm_ms, performance.now() - t);
  }
  // P12Signer decodes the PKCS#12 in sign() from a buffer it consumes, so a signer serves
  // one signature: each run makes its own, as a server signing documents one by one would.
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12Bytes.toString('binary')), false, pass);
    result.p12_ms = Math.min(result.p12_ms, performance.now() - t);
  }
  let signed;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const withPlaceholder = plainAddPlaceholder({
      pdfBuffer: pdf, reason: 'bench', contactInfo: 'bench@example.invalid', name: 'Jan Peeters', location: 'Brussels',
      signatureLength: 16384,
    });
    signed = await signpdf.sign(withPlaceholder, new P12Signer(p12Bytes, { passphrase: pass }));
    result.ms = Math.min(result.ms, performance.now() - t);
  }
  if (out) writeFileSync(out, signed);
  result.out_bytes = signed.length;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.message || e).slice(0, 300);
}
console.log(JSON.stringify(result));
