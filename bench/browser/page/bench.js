// The bench page: run.mjs calls these through page.evaluate. Every measurement runs in a
// dedicated worker over the same document, fetched once from the loopback server.

/**
 * Room after the document in the buffer handed to the veilsign worker: the same 4 MB that
 * js/src/index.ts's open() leaves for the update (the worker hashes and writes it there).
 */
const ROOM = 4 << 20;

// The native bench's plan (bench/cmd/bench signPlan): one X.509 signer with a field on page 1.
const PLAN = JSON.stringify({
  signers: [{ label: "A", name: "Jan Peeters", method: "x509", field: { page: 1, rect: { llx: 300, lly: 20, urx: 540, ury: 55 } } }],
});
const TIME = 1795000000000;

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A tiny request/answer channel to a worker speaking {id, op, args} → {id, ok, value|error}. */
function channel(worker) {
  let next = 1;
  const pending = new Map();
  worker.onmessage = (e) => {
    const m = e.data;
    const p = pending.get(m.id);
    if (!p || "progress" in m) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(typeof m.error === "string" ? m.error : `${m.error?.code}: ${m.error?.message}`));
  };
  worker.onerror = (e) => {
    for (const p of pending.values()) p.reject(new Error(`worker failed: ${e.message} (${e.filename}:${e.lineno}:${e.colno})`));
    pending.clear();
  };
  return {
    call(op, args, transfer = []) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, op, args }, transfer);
      });
    },
    terminate: () => worker.terminate(),
  };
}

let doc = null;
let veil = null;

/** Fetches the document into the page (the caller's copy, which the page keeps). */
async function loadDocument(docURL) {
  doc = await fetchBytes(docURL);
  return doc.length;
}

/**
 * Starts the package's worker (js/dist/veilsign-worker.js, unmodified) and loads the core
 * into it, as initialize() does; the bench then speaks the worker's own protocol, because
 * the public API reaches prepare only through sign(), which needs a relay.
 */
async function startVeilsign() {
  const worker = new Worker("/dist/veilsign-worker.js", { type: "module", name: "veilsign" });
  veil = channel(worker);
  // The module is compiled in a second worker of the package that ends once it has handed
  // the module over (js/src/index.ts, loadModule).
  const compiler = channel(new Worker("/dist/veilsign-worker.js", { type: "module", name: "veilsign" }));
  let module;
  try {
    ({ module } = await compiler.call("compile", { url: new URL("/dist/veilsign.wasm", location.href).href }));
  } finally {
    compiler.terminate();
  }
  const { version } = await veil.call("init", { module });
  return version;
}

/**
 * One open + prepare (+ the digest the worker makes inside prepare) of the page's document,
 * timed from the page: the copy into a buffer with room (what open() does), the transfer,
 * pdfcore's open and prepare in WASM, and the SHA-256 of the signed ranges.
 */
async function oursOnce(cert) {
  const t0 = performance.now();
  const buffer = new ArrayBuffer(doc.length + ROOM);
  new Uint8Array(buffer).set(doc);
  const t1 = performance.now();
  await veil.call("open", { buffer, length: doc.length }, [buffer]);
  const t2 = performance.now();
  const p = await veil.call("prepare", { plan: PLAN, label: "A", chain: [cert.slice()], options: { time: TIME } });
  const t3 = performance.now();
  await veil.call("close", {});
  // ms is the worker's part, which the goal is about: from the document in the worker's
  // buffer to the digest (the messages there and back included). endToEnd adds the page's
  // copy of the caller's bytes into that buffer, which open() makes so that the caller's
  // bytes are never changed or detached.
  return {
    ms: t3 - t1,
    endToEnd: t3 - t0,
    phases: { copy: t1 - t0, open: t2 - t1, prepare: t3 - t2 },
    hashedWith: p.hashedWith,
    byteRange: p.byteRange,
  };
}

/**
 * The memory floor (run.mjs measurePeak): a fresh worker is handed a copy of the page's
 * document, as the veilsign worker is, and hashes it with crypto.subtle.digest, which copies its
 * input; so the document twice and a worker, with nothing of ours.
 */
async function floorDigest() {
  const w = channel(new Worker("/bench/digest-worker.js", { type: "module" }));
  try {
    const copy = doc.slice();
    return await w.call("digest", { buffer: copy.buffer }, [copy.buffer]);
  } finally {
    w.terminate();
  }
}

let meas = null;

/** A measuring worker that stays up, holding the document, for runs interleaved with ours. */
async function startMeasureWorker(docURL) {
  meas = channel(new Worker("/gen/measure-worker.js", { type: "module" }));
  await meas.call("load", { url: docURL });
}

async function measureOnce(op) {
  return meas.call(op, {});
}

/** Runs op in a fresh worker of the given script `runs` times (bounded by budgetMs); best of them. */
async function inWorker({ script, type, op, args, docURL, runs, budgetMs }) {
  const w = channel(new Worker(script, { type }));
  try {
    await w.call("load", { url: docURL });
    const times = [];
    let last;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      last = await w.call(op, args);
      times.push(last.ms);
      if (performance.now() - t0 > budgetMs) break;
    }
    return { best: Math.min(...times), times, last };
  } finally {
    w.terminate();
  }
}

/**
 * Cold start on a fresh page, through the public API: from the navigation's start (the
 * page's time origin) to initialize() resolved, i.e. the package's script fetched, the
 * WASM fetched and compiled, the worker started and the Go program running.
 */
async function coldStart() {
  const t0 = performance.now();
  const veilsign = await import("/dist/veilsign.js");
  await veilsign.initialize({ wasmURL: "/dist/veilsign.wasm", workerURL: "/dist/veilsign-worker.js" });
  const ready = performance.now();
  return { readyMs: ready, initializeMs: ready - t0, version: await veilsign.version() };
}

globalThis.bench = { loadDocument, startVeilsign, oursOnce: async (certURL) => oursOnce(await fetchBytes(certURL)), startMeasureWorker, measureOnce, inWorker, coldStart, floorDigest };
