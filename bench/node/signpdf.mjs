// Times @signpdf/signpdf (placeholder-plain + signer-p12) signing a PDF with a PKCS#12 key,
// and hash-wasm's SHA-256 over the same bytes (Node's fastest WASM hash, for reference).
// Usage: node signpdf.mjs FILE.pdf KEY.p12 PASSPHRASE RUNS [OUT.pdf]
// Prints one JSON line: {"ok":true,"ms":best,"hashwasm_ms":best} or {"ok":false,"error":...}.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import signpdfModule from '@signpdf/signpdf';
import { plainAddPlaceholder } from '@signpdf/placeholder-plain';
import { P12Signer } from '@signpdf/signer-p12';
import { createSHA256 } from 'hash-wasm';

// The package is CommonJS with an ES-style default export.
const signpdf = signpdfModule.default ?? signpdfModule;
const [file, p12, pass, runsArg, out] = process.argv.slice(2);
const runs = Number(runsArg || 1);
const pdf = readFileSync(file);
const signer = new P12Signer(readFileSync(p12), { passphrase: pass });
const result = { ok: true, ms: Infinity, hashwasm_ms: Infinity, bytes: pdf.length };
try {
  const h = await createSHA256();
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    h.init();
    h.update(pdf);
    h.digest('hex');
    result.hashwasm_ms = Math.min(result.hashwasm_ms, performance.now() - t);
  }
  let signed;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const withPlaceholder = plainAddPlaceholder({
      pdfBuffer: pdf, reason: 'bench', contactInfo: 'bench@example.invalid', name: 'Jan Peeters', location: 'Brussels',
      signatureLength: 16384,
    });
    signed = await signpdf.sign(withPlaceholder, signer);
    result.ms = Math.min(result.ms, performance.now() - t);
  }
  if (out) writeFileSync(out, signed);
  result.out_bytes = signed.length;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.message || e).slice(0, 300);
}
console.log(JSON.stringify(result));
