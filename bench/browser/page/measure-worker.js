// The floor and the ES-module peer, each timed inside a dedicated worker over the same bytes
// the veilsign worker gets. Bundled by run.mjs with esbuild (module workers have no import
// maps, and @libpdf/core has bare imports). Every operation is timed from the document in
// the worker's memory to the result.

import { createSHA256 } from "hash-wasm";
import { CryptoKeySigner, PDF } from "@libpdf/core";
import { fetchBytes, serve } from "./worker-serve.js";

serve({
  // crypto.subtle.digest over the whole document: the browser's native SHA-256.
  async subtle(_, doc) {
    const t0 = performance.now();
    const d = await crypto.subtle.digest("SHA-256", doc);
    return { ms: performance.now() - t0, hex: hex(new Uint8Array(d)) };
  },

  // hash-wasm's SHA-256 (WebAssembly), in one update like a streaming hasher would do.
  async hashwasm(_, doc) {
    const h = await createSHA256(); // instantiated outside the timing: a page does it once
    const t0 = performance.now();
    h.init();
    h.update(doc);
    const out = h.digest("hex");
    return { ms: performance.now() - t0, hex: out };
  },

  // @libpdf/core: load the document and sign it (it computes the digest itself, so it needs
  // the key: the dev key through WebCrypto, one RSA-2048 signature inside the timing).
  async libpdf({ keyURL, certURL }, doc) {
    const [pk8, cert] = await Promise.all([fetchBytes(keyURL), fetchBytes(certURL)]);
    const key = await crypto.subtle.importKey("pkcs8", pk8, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
    const signer = new CryptoKeySigner(key, cert, "RSA", "RSASSA-PKCS1-v1_5");
    const input = doc.slice(); // its own copy, outside the timing, in case the library keeps or changes it
    const t0 = performance.now();
    const pdf = await PDF.load(input);
    const res = await pdf.sign({ signer, reason: "bench", signingTime: new Date(1795000000000) });
    return { ms: performance.now() - t0, outBytes: res.bytes.length };
  },
});

function hex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
