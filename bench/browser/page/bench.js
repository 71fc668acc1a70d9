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

/**
 * js/src/index.ts's lowMemoryAbove default: documents this large are hashed with no core
 * loaded (prepareFreed there), which oursOnce follows step by step.
 */
const LOW_MEMORY_ABOVE = 32 << 20;

/**
 * A veilsign worker under a Web Lock it holds until it is gone, as js/src/channel.ts starts
 * them, with its channel; ended() terminates it and waits for the lock.
 */
function veilsignWorker() {
  const lock = `veilsign-core-bench-${Math.random().toString(36).slice(2)}`;
  const c = channel(new Worker("/dist/veilsign-worker.js", { type: "module", name: `veilsign ${lock}` }));
  c.ended = async () => {
    c.terminate();
    await navigator.locks.request(lock, () => undefined);
  };
  return c;
}

/** Loads the module into a core's worker as js/src/index.ts's loadCore does: compiled in a worker that ends, sent over a MessagePort. */
async function loadCore(core) {
  const { port1, port2 } = new MessageChannel();
  const compiler = channel(new Worker("/dist/veilsign-worker.js", { type: "module", name: "veilsign" }));
  const started = core.call("init", { port: port2 }, [port2]);
  try {
    await compiler.call("compile", { url: new URL("/dist/veilsign.wasm", location.href).href, port: port1 }, [port1]);
  } finally {
    compiler.terminate();
  }
  return started;
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
// The worker that hashes the next large document's digest, started ahead as index.ts keeps
// its standby (at open(), and after each resume for the next signature).
let standby = null;

/**
 * The standby, answering: in the package it starts at open() or while the signer approves
 * the previous signature, long before the next prepare. The bench waits until it answers,
 * outside the timed part, so that its start slows neither our run nor the floor's runs
 * interleaved with ours.
 */
async function standbyReady() {
  standby ??= veilsignWorker();
  await standby.call("close", {});
  const ready = standby;
  standby = null;
  return ready;
}

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
  veil = veilsignWorker();
  const { version } = await loadCore(veil);
  return version;
}

/**
 * One open + prepare (+ the digest) of the page's document, timed from the page: the copy
 * into a buffer with room (what open() does), the transfer, pdfcore's open and prepare in
 * WASM, and the SHA-256 of the signed ranges. A document of LOW_MEMORY_ABOVE bytes or more
 * takes sign()'s path for it (js/src/index.ts, prepareFreed): the core prepares and hands
 * the buffer back, its worker ends, the standby worker hashes and then loads a core, which
 * opens the buffer and prepares again (the restart, timed apart: it follows the digest).
 */
async function oursOnce(cert) {
  const next = doc.length >= LOW_MEMORY_ABOVE ? await standbyReady() : null;
  const t0 = performance.now();
  const buffer = new ArrayBuffer(doc.length + ROOM);
  new Uint8Array(buffer).set(doc);
  const t1 = performance.now();
  await veil.call("open", { buffer, length: doc.length }, [buffer]);
  const t2 = performance.now();
  const request = { plan: PLAN, label: "A", chain: [cert.slice()], options: { time: TIME } };
  if (doc.length < LOW_MEMORY_ABOVE) {
    const p = await veil.call("prepare", request);
    const t3 = performance.now();
    await veil.call("close", {});
    // ms is the worker's part, which the goal is about: from the document in the worker's
    // buffer to the digest (the messages there and back included). endToEnd adds the page's
    // copy of the caller's bytes into that buffer, which open() makes so that the caller's
    // bytes are never changed or detached.
    return { ms: t3 - t1, endToEnd: t3 - t0, phases: { copy: t1 - t0, open: t2 - t1, prepare: t3 - t2 }, hashedWith: p.hashedWith, byteRange: p.byteRange };
  }
  const h = await veil.call("handOff", request);
  const t3 = performance.now();
  await veil.ended();
  const t4 = performance.now();
  veil = next;
  const { digest } = await veil.call("hash", h, [h.buffer]);
  const t5 = performance.now();
  await loadCore(veil);
  const p = await veil.call("resume", { ...request, update: h.update, digest });
  const t6 = performance.now();
  standby = veilsignWorker();
  await veil.call("close", {});
  return {
    ms: t5 - t1,
    endToEnd: t5 - t0,
    phases: { copy: t1 - t0, open: t2 - t1, prepare: t3 - t2, end: t4 - t3, hash: t5 - t4, restart: t6 - t5 },
    hashedWith: p.hashedWith,
    lowMemory: true,
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
