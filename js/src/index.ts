// veilsign: sign a PDF with a qualified electronic signature while the document stays in
// the page. initialize() once, then every call is a promise. The core (WASM) runs in a
// worker that owns the document; the relay client here sends it nothing but digests.

import { openChannel, isNode, type Channel } from "./channel.js";
import { compileURL } from "./compile.js";
import { VeilsignError } from "./errors.js";
import { CodeUntrustedChain, CodeValidationUnavailable, HashSizes, Methods } from "./protocol.js";
import { RelayClient } from "./relay.js";
import type {
  DocumentInfo,
  InitializeOptions,
  Layout,
  Plan,
  SignatureField,
  SignOptions,
  SignResult,
  SignStatus,
  VerifyOptions,
  VerifyReport,
  WebSocketConstructor,
} from "./types.js";
import type { PrepareOptions, PrepareRequest, PrepareResult, Responses } from "./worker.js";

export type * from "./types.js";
export { VeilsignError } from "./errors.js";
export { RelayClient, relaySocketURL, type RelayClientOptions } from "./relay.js";
export * as protocol from "./protocol.js";

/**
 * Room left after the document in its buffer, where the update is hashed and written
 * without joining two buffers (DESIGN.md, "Reading"). The update is the /Contents
 * reservation in hex (48 KB by default, 2 MB at most) and the signature page. Untouched
 * pages of a large ArrayBuffer are not committed, so the room costs little.
 */
const ROOM = 4 << 20;

const WORKER_NAME = "veilsign";

const Levels: readonly string[] = ["B-B", "B-T", "B-LT", "B-LTA"];

interface State {
  channel: Channel;
  version: string;
  WebSocket?: WebSocketConstructor;
  /** How the core was started, to start it again (prepareFreed). */
  options: InitializeOptions;
  wasmURL: URL;
  workerURL: URL;
  /**
   * A worker started ahead, with no core, that hashes the next large document's signature
   * (prepareFreed); kept while the open document takes that path. Starting a worker takes
   * 10-40 ms of a core's time in Chromium: started on demand, it competed with the prepare
   * and delayed the digest by ~10 ms on a 50 MB document.
   */
  standby?: Promise<Channel>;
}

/** InitializeOptions.lowMemoryAbove's default: 32 MiB. */
const LOW_MEMORY_ABOVE = 32 << 20;

let starting: Promise<State> | null = null;
let state: State | null = null;
let current: DocumentInfo | null = null;
let signing = false;

/**
 * Loads the WASM core (compiled once, streaming where the server sends application/wasm,
 * in a short-lived worker: see loadModule) and starts the worker that runs it. Calling it again returns the same promise.
 */
export function initialize(options: InitializeOptions = {}): Promise<void> {
  if (!starting) {
    starting = start(options);
    starting.catch(() => (starting = null)); // a failed start may be retried
  }
  return starting.then(() => undefined);
}

async function start(options: InitializeOptions): Promise<State> {
  const wasmURL = new URL(options.wasmURL ?? "./veilsign.wasm", import.meta.url);
  const workerURL = new URL(options.workerURL ?? "./veilsign-worker.js", import.meta.url);
  // The worker starts while the module compiles.
  const channel = await openChannel(workerURL, options.worker ?? true, WORKER_NAME, options.core);
  try {
    const { version } = await loadCore(channel, options, wasmURL, workerURL);
    state = { channel, version, WebSocket: options.WebSocket, options, wasmURL, workerURL };
    return state;
  } catch (err) {
    channel.terminate();
    throw err;
  }
}

/**
 * Loads the module into a core's worker. With a compile worker (see loadModule) the module
 * goes from it to the core's worker on a MessagePort, so this thread never holds a
 * reference that would keep the module's memory alive after the core's worker ends.
 */
async function loadCore(channel: Channel, options: InitializeOptions, wasmURL: URL, workerURL: URL): Promise<Responses["init"]> {
  if (options.wasmModule) return channel.call("init", { module: options.wasmModule });
  if (channel.isolated && typeof Worker === "function" && typeof MessageChannel === "function") {
    const { port1, port2 } = new MessageChannel();
    const started = channel.call("init", { port: port2 }, [port2]);
    started.catch(() => undefined); // a failed compile leaves it waiting: the caller ends the worker
    await loadModule(wasmURL, workerURL, port1).catch(compileError);
    return started;
  }
  return channel.call("init", { module: await compileURL(wasmURL).catch(compileError) });
}

/**
 * Compiles veilsign.wasm in a worker of its own that ends once the module is handed over
 * (on port). The fetch and the streaming compiler leave buffers behind, about twice the
 * module's size, that only a garbage collection of the thread that compiled frees, and
 * nothing tells V8 they are there; the page or the core's worker could carry them into the
 * document's peak. An ended worker's memory is freed at once. The Module itself is shared,
 * not copied, when it is posted.
 */
async function loadModule(wasmURL: URL, workerURL: URL, port: MessagePort): Promise<void> {
  const compiler = await openChannel(workerURL, true, WORKER_NAME);
  try {
    await compiler.call("compile", { url: wasmURL.href, port }, [port]);
  } finally {
    compiler.terminate();
  }
}

function compileError(err: unknown): never {
  if (err instanceof VeilsignError && err.code === "not-initialized") throw err;
  const msg = err instanceof Error ? err.message : String(err);
  // The usual cause in extensions and strict portals: a CSP without 'wasm-unsafe-eval'.
  const hint = /Content.Security|unsafe-eval/i.test(msg) ? " The page's Content-Security-Policy must allow script-src 'wasm-unsafe-eval'." : "";
  throw new VeilsignError("not-initialized", `The veilsign core could not be compiled: ${msg}${hint}`);
}

async function ready(): Promise<State> {
  if (state) return state;
  if (!starting) throw new VeilsignError("not-initialized", "Call initialize() first.");
  return starting;
}

/** The version of the core (pdfcore.Version). */
export async function version(): Promise<string> {
  return (await ready()).version;
}

export type DocumentInput = Uint8Array | ArrayBuffer | Blob;

/**
 * Opens a PDF for signing. The bytes are copied once into a buffer that the worker owns
 * (with room for the signature's update); the caller's bytes are never changed.
 */
export async function open(input: DocumentInput): Promise<DocumentInfo> {
  const { channel } = await ready();
  const length = input instanceof Uint8Array || input instanceof ArrayBuffer ? input.byteLength : sizeOf(input);
  const buffer = await copyInto(new ArrayBuffer(length + ROOM), input);
  const info = await channel.call("open", { buffer, length }, [buffer]);
  current = info;
  if (state) keepStandby(state);
  return info;
}

function sizeOf(input: unknown): number {
  if (typeof Blob !== "undefined" && input instanceof Blob) return input.size;
  throw new VeilsignError("bad-argument", "The document must be a Uint8Array, an ArrayBuffer or a Blob.");
}

/**
 * Copies the input to the start of buffer; a Blob (a File) is streamed so that it is never
 * held twice. Returns the buffer that holds the copy: the same one, or, when the Blob's
 * stream read into it (BYOB), the new ArrayBuffer object the reads moved it to.
 */
async function copyInto(buffer: ArrayBuffer, input: DocumentInput): Promise<ArrayBuffer> {
  const dst = new Uint8Array(buffer);
  if (input instanceof Uint8Array) return dst.set(input), buffer;
  if (input instanceof ArrayBuffer) return dst.set(new Uint8Array(input)), buffer;
  const size = input.size;
  const stream = input.stream();
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream here: chunks are read and copied.
  }
  const changed = () => new VeilsignError("bad-argument", "The file changed size while it was read: pick it again.");
  let at = 0;
  try {
    if (byob) {
      // The stream writes into the buffer itself: no chunk of the file is allocated and left
      // for the garbage collector (a 200 MB file read in chunks leaves ~150 MB of them, in
      // the same process as the worker's copy, until a collection).
      while (at < size) {
        const { done, value } = await byob.read(new Uint8Array(buffer, at, Math.min(size - at, 1 << 20)));
        if (value) {
          buffer = value.buffer as ArrayBuffer; // the read moved the buffer: this is it now
          at += value.byteLength;
        }
        if (done) break;
      }
      byob.releaseLock();
    } else {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (at + value.length > size) throw changed();
        dst.set(value, at);
        at += value.length;
      }
    }
  } catch (err) {
    if (err instanceof VeilsignError) throw err;
    // A file changed or removed on disk after it was picked fails here (NotReadableError).
    throw new VeilsignError("bad-argument", `The file could not be read: ${err instanceof Error ? err.message : String(err)}. Pick it again.`);
  }
  if (at !== size) throw changed();
  return buffer;
}

/** The signature fields of the open document. */
export async function fields(): Promise<SignatureField[]> {
  await ready();
  return openInfo().fields;
}

/** Closes the open document and frees its memory in the worker. */
export async function close(): Promise<void> {
  const { channel } = await ready();
  await channel.call("close", {});
  current = null;
  if (state) keepStandby(state);
}

/** Stops the worker; initialize() may be called again afterwards. */
export function terminate(): void {
  state?.channel.terminate();
  if (state) dropStandby(state);
  state = null;
  starting = null;
  current = null;
}

function openInfo(): DocumentInfo {
  if (!current) throw new VeilsignError("no-document", "No document is open: call open(bytes) first.");
  return current;
}

/** Says how the signature of signer label would be placed (signature page, slot, counter-signature…), and why. */
export async function preflight(plan: Plan, label: string): Promise<Layout> {
  const { channel } = await ready();
  openInfo();
  checkPlan(plan);
  return channel.call("preflight", { plan: JSON.stringify(plan), label });
}

function checkPlan(plan: Plan): void {
  if (!plan || !Array.isArray(plan.signers)) throw new VeilsignError("bad-plan", "The plan must be { signers: [...] }.");
}

function checkSignOptions(o: SignOptions): void {
  const need = (ok: unknown, msg: string) => {
    if (!ok) throw new VeilsignError("bad-argument", msg);
  };
  need(o && typeof o === "object", "sign() needs its options.");
  need(o.relay, "sign({ relay }) is the relay's URL.");
  need((typeof o.token === "string" && o.token !== "") || typeof o.token === "function", "sign({ token }) is the portal's session token for the relay, or a function that returns it.");
  need(
    o.chain === undefined || (Array.isArray(o.chain) && o.chain.length > 0 && o.chain.every((c) => c instanceof Uint8Array && c.length > 0)),
    "sign({ chain }) is the signer's certificate chain: DER certificates as Uint8Arrays, leaf first.",
  );
  need(o.signer && typeof o.signer.name === "string" && o.signer.name.trim() !== "", "sign({ signer: { name } }) is required.");
  need((Methods as readonly string[]).includes(o.method), `sign({ method }) must be one of ${Methods.join(", ")}.`);
  need(typeof o.label === "string" && o.label !== "", "sign({ label }) is the signer's reference in the plan (A, B…).");
  need(o.method !== "tan" || (o.signer.phone ?? "").startsWith("+"), "A tan signature needs signer.phone in international form (+32…).");
  need(o.hash === undefined || o.hash in HashSizes, "sign({ hash }) must be sha256, sha384 or sha512.");
  need(o.level === undefined || Levels.includes(o.level), `sign({ level }) must be one of ${Levels.join(", ")}.`);
  checkPlan(o.plan);
}

async function webSocket(s: State): Promise<WebSocketConstructor> {
  if (s.WebSocket) return s.WebSocket;
  const g = globalThis as { WebSocket?: WebSocketConstructor };
  if (g.WebSocket) return g.WebSocket;
  if (isNode()) {
    // Node 20 has no WebSocket; the ws package (an optional peer dependency) has one.
    const spec = "ws";
    try {
      const ws = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as { WebSocket: WebSocketConstructor };
      return ws.WebSocket;
    } catch {
      throw new VeilsignError("bad-argument", "This Node has no WebSocket: npm install ws, or pass initialize({ WebSocket }).");
    }
  }
  throw new VeilsignError("bad-argument", "No WebSocket is available: pass initialize({ WebSocket }).");
}

function defaultOpenURL(): ((url: string) => void) | undefined {
  const w = globalThis as { open?: (url: string, target: string, features: string) => unknown; document?: unknown };
  if (typeof w.open === "function" && w.document) return (url) => void w.open!(url, "_blank", "noopener");
  return undefined;
}

/**
 * Signs the open document: identify the signer at the relay, prepare the signature in the
 * worker, hash the signed ranges there, send only the digest, check the returned CMS
 * against that digest and the certificate, and embed it. Returns the signed PDF; the
 * document is then closed (open the result to sign again). With options.chain (a chain
 * kept from an earlier SignResult) it prepares and hashes first, then waits for the relay,
 * and prepares again only if the relay's chain is not that one.
 */
export async function sign(o: SignOptions): Promise<SignResult> {
  checkSignOptions(o);
  const s = await ready();
  openInfo();
  // The worker holds one prepared signature: a second sign() would replace the first's.
  if (signing) throw new VeilsignError("busy", "A signature is already in progress; wait for it to finish.");
  signing = true;
  try {
    return await signOpen(s, o);
  } finally {
    signing = false;
  }
}

async function signOpen(s: State, o: SignOptions): Promise<SignResult> {
  const WS = await webSocket(s);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException("timeout", "TimeoutError")), o.timeoutMs ?? 10 * 60_000);
  const onAbort = () => abort.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  const status = (st: SignStatus) => {
    try {
      o.onStatus?.(st);
    } catch {
      // A failing progress callback must not cost the signer their approval.
    }
  };
  const client = new RelayClient({
    url: o.relay,
    token: o.token,
    WebSocket: WS,
    signal: abort.signal,
    otp: o.otp,
    openURL: o.openURL ?? defaultOpenURL(),
    connectTimeoutMs: o.connectTimeoutMs,
    onStatus: (m) => status({ step: "waiting", state: m.state, url: m.url, message: m.message }),
  });
  const options: PrepareOptions = {
    time: (o.time ?? new Date()).getTime(),
    hash: o.hash,
    reserve: o.reserve,
    ink: o.ink,
    evidence: o.evidence,
    reason: o.reason,
    location: o.location,
    contactInfo: o.contactInfo,
    logos: o.logos,
  };
  const prepare = (chain: Uint8Array[]) => {
    status({ step: "preparing" });
    // The worker gets copies: the chain is compared and returned afterwards.
    const copies = chain.map((c) => c.slice());
    const request: PrepareRequest = { plan: JSON.stringify(o.plan), label: o.label, chain: copies, options };
    if (freeCoreWhileHashing(s)) return prepareFreed(s, request, () => status({ step: "hashing" }));
    return s.channel.call("prepare", request, copies.map((c) => c.buffer as ArrayBuffer), (p) =>
      status({ step: "hashing", bytesHashed: p.bytesHashed, totalBytes: p.totalBytes }),
    );
  };
  try {
    let chain: Uint8Array[];
    let prep: PrepareResult;
    let preparedAhead = false;
    if (o.chain) {
      // Prepared and hashed before the relay is needed; nothing is sent until it answers.
      const given = o.chain.map((c) => c.slice());
      prep = await prepare(given);
      status({ step: "prepared", message: "The signature is prepared and the document hashed; nothing has been sent yet." });
      status({ step: "connecting" });
      await client.connectWhenReachable((attempt, cause) => {
        const why = cause.code === "connection-lost" ? "cannot be reached" : "is not taking signatures right now";
        status({ step: "waiting-for-relay", message: `The relay ${why} (attempt ${attempt}: ${cause.message}); the prepared signature is sent when it answers.` });
      });
      status({ step: "identifying" });
      chain = await client.identify(o.method, o.signer);
      if (sameChain(chain, given)) {
        preparedAhead = true;
      } else {
        status({ step: "chain-changed", message: "The relay's certificate chain for this signer differs from the one given (a re-issued certificate?): preparing the signature again with the relay's." });
        prep = await prepare(chain);
      }
    } else {
      status({ step: "connecting" });
      await client.connect();
      status({ step: "identifying" });
      chain = await client.identify(o.method, o.signer);
      prep = await prepare(chain);
    }
    status({ step: "waiting" });
    // B-LT and B-LTA are a B-T signature extended here, after it is embedded.
    const extend = o.level === "B-LT" || o.level === "B-LTA";
    const signed = await client.sign(prep.digest, prep.hash, o.documentLabel ?? "Document", extend ? "B-T" : o.level);
    status({ step: "embedding" });
    const embedded = await s.channel.call("embed", { cms: signed.cms, keep: extend }, [signed.cms.buffer as ArrayBuffer]);
    let bytes = embedded.bytes;
    let level = signed.level;
    if (extend) {
      status({ step: "extending" });
      try {
        level = await extendOpen(s, client, o.level === "B-LTA", o.hash);
        bytes = (await s.channel.call("take", {})).bytes;
      } catch (err) {
        // The signature is made and embedded: an extension that fails must not lose it.
        // The error carries the signed document as far as it got (B-T, or B-LT when only
        // the document time-stamp failed).
        const partial = await s.channel.call("take", {}).catch(() => undefined);
        await s.channel.call("close", {}).catch(() => undefined);
        const e = err instanceof VeilsignError ? err : new VeilsignError("internal", String(err));
        e.signedBytes = partial?.bytes;
        throw e;
      } finally {
        current = null;
      }
    }
    current = null;
    if (!bytes) throw new VeilsignError("internal", "The worker returned no document.");
    status({ step: "done" });
    return {
      bytes,
      label: prep.label,
      field: prep.field,
      layout: prep.layout,
      level,
      byteRange: prep.byteRange,
      hashedWith: prep.hashedWith,
      lowMemory: prep.lowMemory === true,
      chain,
      preparedAhead,
    };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    client.close();
  }
}

/**
 * Whether this signature's digest is made with no core loaded (prepareFreed): for documents
 * of at least lowMemoryAbove bytes, where the core runs in a worker of its own.
 */
function freeCoreWhileHashing(s: State): boolean {
  const size = current?.size ?? 0;
  return s.channel.isolated && size >= (s.options.lowMemoryAbove ?? LOW_MEMORY_ABOVE) && typeof crypto !== "undefined" && !!crypto.subtle;
}

/**
 * Prepares a signature and hashes the document while no core is loaded. WebCrypto's digest
 * copies its whole input, so hashing holds the document twice; in the core's worker the
 * core's own memory (~30 MB: the module, its compiled code, Go's heap) would be there too.
 * So the core prepares without hashing and hands the buffer back (handOff), its worker
 * ends, and once it is gone (Channel.ended) a new worker hashes the buffer before it loads
 * a core, then loads one, opens the same buffer and prepares the same signature again,
 * which must give the same bytes (resume). All of it happens before the digest is sent, so
 * a core that cannot be started again costs the signer nothing they approved. It costs the
 * time of a second start (~0.2 s) on the documents large enough for it.
 */
async function prepareFreed(s: State, request: PrepareRequest, onHashing: () => void): Promise<PrepareResult> {
  // The worker that hashes: the standby, usually up since open(), or else one started now,
  // while the core prepares.
  const opening = s.standby ?? startWorker(s);
  s.standby = undefined;
  // The chain is copied, not transferred: resume sends it again.
  const handed = await s.channel.call("handOff", request).catch((err: unknown) => {
    s.standby ??= opening; // the core still has the document open: nothing changed
    throw err;
  });
  const info = current;
  current = null; // the old core let the document go
  try {
    await s.channel.ended();
    s.channel = await opening;
    onHashing();
    const { digest } = await s.channel.call("hash", handed, [handed.buffer]);
    await loadCore(s.channel, s.options, s.wasmURL, s.workerURL);
    const prepared = await s.channel.call("resume", { ...request, update: handed.update, digest });
    current = info; // open again, in the new core
    keepStandby(s); // for the next signature of this document: it starts while the signer approves
    return prepared;
  } catch (err) {
    // No core is left that holds the document: start afresh on the next initialize().
    s.channel.terminate();
    dropStandby(s);
    if (state === s) state = null;
    starting = null;
    const why = err instanceof Error ? err.message : String(err);
    const code = err instanceof VeilsignError && err.code === "not-initialized" ? "not-initialized" : "internal";
    throw new VeilsignError(code, `The core could not be started again for this large document (${why}); nothing was sent for signing. Call initialize() and open the document again.`);
  }
}

/**
 * Keeps a standby worker while the open document is large enough for prepareFreed, and
 * none otherwise: an idle worker holds a few MB and a thread.
 */
function keepStandby(s: State): void {
  if (!current || !freeCoreWhileHashing(s)) dropStandby(s);
  else if (!s.standby) s.standby = startWorker(s);
}

function dropStandby(s: State): void {
  const standby = s.standby;
  s.standby = undefined;
  void standby?.then(
    (c) => c.terminate(),
    () => undefined, // it never started
  );
}

/** A worker for the core's script, with no core loaded yet. */
function startWorker(s: State): Promise<Channel> {
  const started = openChannel(s.workerURL, true, WORKER_NAME);
  started.catch(() => undefined); // reported where it is awaited
  return started;
}

/** Whether two certificate chains are the same certificates, byte for byte, in the same order. */
function sameChain(a: Uint8Array[], b: Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((c, i) => c.length === b[i].length && c.every((v, j) => v === b[i][j]));
}

/**
 * Brings the signed document open in the worker to B-LT: the relay's validation data for
 * every certificate chain of the document goes into a DSS update (chains to roots the
 * relay does not serve are skipped); then, when lta is set, a document time-stamp from the
 * relay's TSA. Returns the level reached.
 */
async function extendOpen(s: State, client: RelayClient, lta: boolean, hash?: string): Promise<string> {
  const { chains } = await s.channel.call("chains", {});
  const vd = { certs: [] as Uint8Array[], ocsps: [] as Uint8Array[], crls: [] as Uint8Array[] };
  for (const chain of chains) {
    try {
      const got = await client.validationData(chain);
      vd.certs.push(...got.certs);
      vd.ocsps.push(...got.ocsp);
      vd.crls.push(...got.crl);
    } catch (err) {
      if (err instanceof VeilsignError && err.code === CodeUntrustedChain) continue;
      throw err;
    }
  }
  if (vd.ocsps.length + vd.crls.length === 0) {
    throw new VeilsignError(CodeValidationUnavailable, "The relay found no revocation data (OCSP or CRL) for the document's certificates.");
  }
  await s.channel.call("addValidationData", vd);
  if (!lta) return "B-LT";
  const ts = await s.channel.call("prepareTimestamp", { hash });
  const token = await client.timestamp(ts.digest, ts.hash);
  await s.channel.call("embedTimestamp", { token });
  return "B-LTA";
}

/**
 * Verifies every signature of a PDF, fully offline. Without bytes it verifies the open
 * document without sending it to the worker again.
 */
export async function verify(input?: DocumentInput, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { channel } = await ready();
  const roots = Array.isArray(options.roots) ? options.roots.join("\n") : options.roots;
  if (input === undefined) {
    openInfo();
    return channel.call("verify", { roots });
  }
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    // Sent by copy: the caller keeps their bytes.
    return channel.call("verify", { bytes: input instanceof Uint8Array ? input : new Uint8Array(input), roots });
  }
  if (typeof Blob !== "undefined" && input instanceof Blob) {
    // Read straight into a buffer that then moves to the worker: one copy, not three.
    const buffer = await copyInto(new ArrayBuffer(input.size), input);
    return channel.call("verify", { bytes: new Uint8Array(buffer), roots }, [buffer]);
  }
  throw new VeilsignError("bad-argument", "verify() takes a Uint8Array, an ArrayBuffer or a Blob.");
}
