// The start-cost experiment's worker (startcost.mjs): the steps of veilsign's worker init
// (js/src/worker.ts), one per message, so that the renderer's memory can be read between
// them. Bundled by startcost.mjs with dist/wasm_exec.js and loaded from /gen/ as a module worker.

import "go-wasm-exec";

let module = null;
let instance = null;
let go = null;
let bytes = null;

const ops = {
  ping: () => "pong",
  gc: () => (globalThis.gc?.(), true),
  // The module compiled in the page arrives by postMessage (shared, not copied).
  take: (a) => {
    module = a.module;
    return true;
  },
  fetchBytes: async (a) => {
    bytes = await readBytes(a.url, a.how);
    return bytes.byteLength;
  },
  compile: async (a) => {
    if (a.streaming) module = await WebAssembly.compileStreaming(fetch(a.url));
    else module = await WebAssembly.compile(bytes);
    return true;
  },
  // Detaching frees the backing store at once; dropping the reference leaves it to the GC.
  detachBytes: () => {
    bytes.transfer(0);
    bytes = null;
    return true;
  },
  compileAndReturn: async (a) => WebAssembly.compileStreaming(fetch(a.url)),
  dropBytes: () => {
    bytes = null;
    return true;
  },
  instantiate: async () => {
    go = new Go();
    instance = await WebAssembly.instantiate(module, go.importObject);
    return instance.exports.mem.buffer.byteLength;
  },
  dropModule: () => {
    module = null;
    return true;
  },
  run: async () => {
    void go.run(instance);
    return { version: globalThis.__veilsign.version, memBytes: instance.exports.mem.buffer.byteLength };
  },
  memBytes: () => instance?.exports.mem.buffer.byteLength ?? 0,
  // A first call into the core: open a small PDF and release it.
  open: async (a) => {
    const b = new Uint8Array(await (await fetch(a.url)).arrayBuffer());
    const { handle } = await globalThis.__veilsign.open(b);
    globalThis.__veilsign.release(handle);
    return instance.exports.mem.buffer.byteLength;
  },
};

/** The response body as an ArrayBuffer: res.arrayBuffer(), or a reader filling a buffer of content-length bytes, or XHR. */
async function readBytes(url, how = "arrayBuffer") {
  if (how === "xhr") {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open("GET", url);
      x.responseType = "arraybuffer";
      x.onload = () => resolve(x.response);
      x.onerror = () => reject(new Error("xhr failed"));
      x.send();
    });
  }
  const res = await fetch(url);
  if (how === "arrayBuffer") return res.arrayBuffer();
  const n = Number(res.headers.get("content-length"));
  const out = new Uint8Array(n);
  const reader = res.body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, at);
    at += value.length;
  }
  return out.buffer;
}
globalThis.readBytes = readBytes;

self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    self.postMessage({ id, ok: true, value: await ops[op](args ?? {}) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err?.stack ?? err) });
  }
};
