// zgapdfsigner in a classic worker (run.mjs bundles this file as a script): the library
// expects pdf-lib and node-forge as globals (its documented browser set-up), which only
// importScripts gives a worker. It signs with a PKCS#12 (node-forge), so it gets the dev key as one.
importScripts("/m/pdf-lib/dist/pdf-lib.min.js");
// forge.min.js's UMD wrapper hangs `forge` on `window`, which a worker lacks: it gets a
// plain object for that one call (not self, or forge would take self.postMessage for its
// setImmediate and post to the page), and forge is then made the global zgapdfsigner wants.
self.window = {};
importScripts("/m/node-forge/dist/forge.min.js");
self.forge = self.window.forge;
delete self.window;
importScripts("/m/zgapdfsigner/dist/zgapdfsigner.min.js");

import { fetchBytes, serve } from "./worker-serve.js";

serve({
  async zga({ p12URL, password }, doc) {
    const p12 = await fetchBytes(p12URL);
    const input = doc.slice();
    const t0 = performance.now();
    const out = await new self.Zga.PdfSigner({ p12cert: p12, pwd: password, reason: "bench" }).sign(input);
    return { ms: performance.now() - t0, outBytes: out.length };
  },
});
