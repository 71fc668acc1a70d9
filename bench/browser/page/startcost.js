// The start-cost experiment's page. startcost.mjs drives it either through playwright
// (page.evaluate(sc.step)) or, with --driver plain, by no automation at all: Chromium opens
// startcost.html?plain and the page runs the plan itself, asking the server to read /proc
// after every step (GET /measure, answered once the figures are taken).
let worker = null;
let next = 1;
const pending = new Map();
let bytes = null;
let module = null;

function call(op, args, transfer = []) {
  const id = next++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, args }, transfer);
  });
}

const pageOps = {
  async startWorker(url) {
    worker = new Worker(url, { type: "module" });
    worker.onmessage = (e) => {
      const p = pending.get(e.data.id);
      pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data.value);
      else p.reject(new Error(e.data.error));
    };
    return call("ping");
  },
  async fetchBytes({ url }) {
    bytes = await (await fetch(url)).arrayBuffer();
    return bytes.byteLength;
  },
  async compile({ url, streaming }) {
    module = streaming ? await WebAssembly.compileStreaming(fetch(url)) : await WebAssembly.compile(bytes);
    return true;
  },
  // What js/src/index.ts does (loadModule): compile in a second worker, which then ends.
  async compileInTempWorker({ url, script }) {
    const tw = new Worker(script, { type: "module" });
    module = await new Promise((resolve, reject) => {
      tw.onmessage = (e) => (e.data.ok ? resolve(e.data.value) : reject(new Error(e.data.error)));
      tw.postMessage({ id: 0, op: "compileAndReturn", args: { url } });
    });
    tw.terminate();
    return true;
  },
  dropBytes() {
    bytes = null;
    return true;
  },
  dropModule() {
    module = null;
    return true;
  },
  post() {
    return call("take", { module });
  },
  terminate() {
    worker.terminate();
    worker = null;
    return true;
  },
  async gc() {
    globalThis.gc();
    if (worker) await call("gc");
    return true;
  },
  // One of bench.js's functions (run.mjs's measurement: loadDocument, startVeilsign, oursOnce).
  bench({ fn, arg }) {
    return globalThis.bench[fn](arg);
  },
  marker(on) {
    globalThis.marker = on ? new Uint8Array(64 << 20).fill(1) : null;
    return true;
  },
};

/** One step of a plan: {on: "page" | "worker", op, args}; a list of steps runs in order. */
async function step(s) {
  if (Array.isArray(s)) {
    let v;
    for (const x of s) v = await step(x);
    return v;
  }
  return s.on === "worker" ? call(s.op, s.args) : pageOps[s.op](s.args);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(q) {
  const r = await fetch(`/measure?${new URLSearchParams(q)}`, { cache: "no-store" });
  if (!r.ok) throw new Error(`measure: HTTP ${r.status}`);
}

/** The plain driver: fetch the plan, mark the renderer, run, measure after each step. */
async function runPlain() {
  try {
    const { pre, steps, settleMs } = await (await fetch("/plan", { cache: "no-store" })).json();
    while (!globalThis.bench) await sleep(10);
    for (const s of pre) await step(s);
    await sleep(settleMs);
    await step({ op: "marker", args: true });
    await measure({ at: "marker" });
    await step({ op: "marker", args: false });
    globalThis.gc();
    await sleep(settleMs);
    await measure({ at: "baseline" });
    for (const [i, [, s]] of steps.entries()) {
      const t0 = performance.now();
      const v = await step(s);
      const ms = performance.now() - t0;
      await sleep(settleMs);
      const memBytes = worker ? await call("memBytes") : 0;
      await measure({ at: String(i), ms: String(ms), memBytes: String(memBytes || (typeof v === "number" ? v : 0)) });
    }
    await measure({ at: "done" });
  } catch (err) {
    await measure({ at: "error", error: String(err?.stack ?? err) });
  }
}

globalThis.sc = { step, sleep };
if (location.search.includes("plain")) runPlain();
