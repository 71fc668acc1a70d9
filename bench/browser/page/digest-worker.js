// The memory floor's worker (bench.js floorDigest): WebCrypto's SHA-256 over the document the
// page hands it, and nothing else (no library, no bundle), so that its memory is what any
// worker hashing a copy of the document costs.

import { serve } from "./worker-serve.js";

serve({
  async digest({ buffer }) {
    const d = await crypto.subtle.digest("SHA-256", buffer);
    return { bytes: buffer.byteLength, digestBytes: d.byteLength };
  },
});
