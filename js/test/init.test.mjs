// initialize(): a core that cannot be loaded fails with not-initialized and may be retried;
// calls before initialize() say so; a second initialize() is the same start.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as veilsign from "../dist/veilsign.js";

after(() => veilsign.terminate());

test("calls before initialize()", async () => {
  await assert.rejects(veilsign.open(new Uint8Array(10)), { code: "not-initialized" });
  await assert.rejects(veilsign.verify(new Uint8Array(10)), { code: "not-initialized" });
});

test("a missing wasm file, then a retry", async () => {
  const missing = new URL("./no-such-file.wasm", import.meta.url);
  await assert.rejects(veilsign.initialize({ wasmURL: missing }), { code: "not-initialized" });
  const a = veilsign.initialize();
  const b = veilsign.initialize();
  await Promise.all([a, b]);
  assert.match(await veilsign.version(), /^\d+\.\d+\.\d+$/);
});
