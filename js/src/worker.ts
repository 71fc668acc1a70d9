// The worker owns the WASM core and the document's buffer. The page (index.ts) sends it
// requests; it answers with plain values and transfers buffers instead of copying them.
// The same core also runs on the calling thread (initialize({worker: false})), and in
// Node's worker_threads, so every environment runs this one file.

import "go-wasm-exec"; // Go's wasm_exec.js, bundled here by scripts/build.mjs: defines globalThis.Go
import { compileURL } from "./compile.js";
import { toWire, type WireError } from "./errors.js";
import type { DocumentInfo, Layout, VerifyReport } from "./types.js";

/** The functions wasm/ installs on globalThis.__veilsign (see wasm/calls.go). */
interface CoreBindings {
  version: string;
  open(bytes: Uint8Array): Promise<{ handle: number; info: DocumentInfo }>;
  preflight(handle: number, plan: string, label: string): Promise<Layout>;
  prepare(handle: number, plan: string, label: string, chain: Uint8Array[], options: PrepareOptions): Promise<PreparedCore>;
  digest(prepared: number, onProgress?: (done: number, total: number) => void): Promise<Uint8Array>;
  embed(prepared: number, cms: Uint8Array, digest?: Uint8Array): Promise<Uint8Array>;
  verify(doc: Uint8Array | number, roots?: string): Promise<VerifyReport>;
  certificateChains(handle: number): Promise<Uint8Array[][]>;
  addValidationData(handle: number, data: ValidationData): Promise<Uint8Array | null>;
  prepareDocTimestamp(handle: number, hash?: string): Promise<PreparedCore>;
  release(handle: number): void;
}

/** prepare's options as the Go bindings read them. */
export interface PrepareOptions {
  time: number;
  hash?: string;
  reserve?: number;
  evidence?: string;
  reason?: string;
  location?: string;
  contactInfo?: string;
  ink?: Array<Array<[number, number]>>;
  logos?: Record<string, Uint8Array>;
  /** Let pdfcore hash inside prepare (the worker never does: it hashes once, below, with progress). */
  goDigest?: boolean;
}

/** Validation data for the DSS (pdfcore.ValidationData): DER items. */
export interface ValidationData {
  certs: Uint8Array[];
  ocsps: Uint8Array[];
  crls: Uint8Array[];
}

interface PreparedCore {
  prepared: number;
  update: Uint8Array;
  byteRange: [number, number, number, number];
  gapStart: number;
  gapEnd: number;
  field: string;
  label: string;
  layout: Layout;
  hash: "sha256" | "sha384" | "sha512";
  reserved: number;
  digest?: Uint8Array;
}

declare const Go: new () => {
  importObject: WebAssembly.Imports;
  run(instance: WebAssembly.Instance): Promise<void>;
};

/** Requests of the page, by operation. */
export interface Requests {
  /** The module comes as given, compiled from bytes, or as the one message on port (from a compile worker). */
  init: { module?: WebAssembly.Module; bytes?: ArrayBuffer; port?: MessagePort };
  /**
   * Compile veilsign.wasm (index.ts's loadModule: a worker that then ends) and return the
   * module, or post it on port, straight to the core's worker, so the page never holds it.
   */
  compile: { url: string; port?: MessagePort };
  open: { buffer: ArrayBuffer; length: number };
  close: Record<string, never>;
  preflight: { plan: string; label: string };
  prepare: PrepareRequest;
  /**
   * Prepare without hashing, for a core that is about to end (index.ts, prepareFreed): the
   * core lets the document go, and the buffer comes back to the page with the update, to be
   * hashed while no core is loaded.
   */
  handOff: PrepareRequest;
  /** In a worker with no core yet: hash a handed-off buffer and keep it for resume. */
  hash: HandOff;
  /** Open the buffer hash kept and prepare again; the update must be the handed-off one. */
  resume: PrepareRequest & { update: Uint8Array; digest: Uint8Array };
  /** keep: leave the signed document open (to extend it) instead of returning it. */
  embed: { cms: Uint8Array; keep?: boolean };
  verify: { bytes?: Uint8Array; roots?: string };
  chains: Record<string, never>;
  addValidationData: ValidationData;
  prepareTimestamp: { hash?: string };
  embedTimestamp: { token: Uint8Array };
  take: Record<string, never>;
}

/** Answers, by operation. */
export interface Responses {
  init: { version: string };
  compile: { module?: WebAssembly.Module };
  open: DocumentInfo;
  close: null;
  preflight: Layout;
  prepare: PrepareResult;
  handOff: HandOff;
  hash: { digest: Uint8Array };
  resume: PrepareResult;
  /** bytes is absent when embed kept the document open. */
  embed: { bytes?: Uint8Array };
  verify: VerifyReport;
  chains: { chains: Uint8Array[][] };
  addValidationData: { added: boolean };
  prepareTimestamp: { digest: Uint8Array; hash: "sha256" | "sha384" | "sha512" };
  embedTimestamp: null;
  take: { bytes: Uint8Array };
}

export interface PrepareRequest {
  plan: string;
  label: string;
  chain: Uint8Array[];
  options: PrepareOptions;
}

/** A prepared document between two cores: its buffer and the update to hash after it (see digestRanges). */
export interface HandOff {
  buffer: ArrayBuffer;
  length: number;
  update: Uint8Array;
  gapStart: number;
  gapEnd: number;
  hash: "sha256" | "sha384" | "sha512";
}

export interface PrepareResult {
  digest: Uint8Array;
  hash: "sha256" | "sha384" | "sha512";
  field: string;
  label: string;
  layout: Layout;
  byteRange: [number, number, number, number];
  reserved: number;
  hashedWith: "webcrypto" | "go";
  /** Hashed with no core loaded (handOff, hash, resume). */
  lowMemory?: boolean;
}

export type Op = keyof Requests;

/** Progress events sent while a request runs. */
export interface Progress {
  bytesHashed: number;
  totalBytes: number;
}

/** The messages on the page ↔ worker channel. */
export type ToWorker = { id: number; op: Op; args: Requests[Op] };
export type FromWorker =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError }
  | { id: number; progress: Progress };

type Emit = (p: Progress) => void;

/** What a handler returns: the value and the buffers to transfer with it. */
type Answer<T> = [T, Transferable[]];

const webCryptoNames = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" } as const;

/** The core: one WASM instance, one open document, one prepared signature at a time. */
export class Core {
  private core: CoreBindings | null = null;
  private doc: { handle: number; buffer: ArrayBuffer; length: number } | null = null;
  // A handed-off document hashed here before the core was loaded, waiting for resume.
  private parked: { buffer: ArrayBuffer; length: number } | null = null;
  private pending: { prepared: number; update: Uint8Array; digest: Uint8Array } | null = null;
  // Requests run one after the other: each sees the state the previous one left.
  private queue: Promise<unknown> = Promise.resolve();

  handle(op: Op, args: unknown, emit: Emit): Promise<Answer<unknown>> {
    const run = this.queue.then(() => this.dispatch(op, args, emit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private dispatch(op: Op, args: unknown, emit: Emit): Promise<Answer<unknown>> {
    switch (op) {
      case "init":
        return this.init(args as Requests["init"]);
      case "compile":
        return this.compile(args as Requests["compile"]);
      case "open":
        return this.open(args as Requests["open"]);
      case "close":
        this.close();
        return Promise.resolve([null, []]);
      case "preflight":
        return this.preflight(args as Requests["preflight"]);
      case "prepare":
        return this.prepare(args as Requests["prepare"], emit);
      case "handOff":
        return this.handOff(args as Requests["handOff"]);
      case "hash":
        return this.hash(args as Requests["hash"]);
      case "resume":
        return this.resume(args as Requests["resume"]);
      case "embed":
        return this.embed(args as Requests["embed"]);
      case "verify":
        return this.verify(args as Requests["verify"]);
      case "chains":
        return this.chains();
      case "addValidationData":
        return this.addValidationData(args as Requests["addValidationData"]);
      case "prepareTimestamp":
        return this.prepareTimestamp(args as Requests["prepareTimestamp"]);
      case "embedTimestamp":
        return this.embedTimestamp(args as Requests["embedTimestamp"]);
      case "take":
        return Promise.resolve(this.take());
    }
    return Promise.reject(Object.assign(new Error(`unknown operation ${String(op)}`), { code: "internal" }));
  }

  private bindings(): CoreBindings {
    if (!this.core) throw Object.assign(new Error("The veilsign core is not loaded."), { code: "not-initialized" });
    return this.core;
  }

  private async compile(a: Requests["compile"]): Promise<Answer<Responses["compile"]>> {
    const module = await compileURL(new URL(a.url));
    if (!a.port) return [{ module }, []];
    a.port.postMessage(module);
    a.port.close();
    return [{}, []];
  }

  private async init(a: Requests["init"]): Promise<Answer<Responses["init"]>> {
    if (!this.core) {
      const module = a.module ?? (a.port ? await moduleFrom(a.port) : await WebAssembly.compile(a.bytes!));
      const go = new Go();
      const instance = await WebAssembly.instantiate(module, go.importObject);
      // main installs the bindings before it blocks, so they exist once run() has started.
      void go.run(instance).finally(() => {
        this.core = null; // the Go program exited (a fatal error): no call can be served
      });
      const g = globalThis as unknown as { __veilsign?: CoreBindings };
      if (!g.__veilsign) throw new Error("veilsign.wasm did not install its bindings");
      this.core = g.__veilsign;
    }
    return [{ version: this.core.version }, []];
  }

  private async open(a: Requests["open"]): Promise<Answer<DocumentInfo>> {
    const core = this.bindings();
    // The core reads the document from this buffer, only the parts it parses, and never
    // copies it whole (DESIGN.md, "Reading"): the buffer must stay as it is while the
    // handle is open — close() releases it before the buffer is handed on. The room after
    // the document is for the update (see prepare).
    const { handle, info } = await core.open(new Uint8Array(a.buffer, 0, a.length));
    this.close();
    this.doc = { handle, buffer: a.buffer, length: a.length };
    return [info, []];
  }

  private close(): void {
    if (this.pending) this.core?.release(this.pending.prepared);
    if (this.doc) this.core?.release(this.doc.handle);
    this.pending = null;
    this.doc = null;
  }

  private openDoc() {
    if (!this.doc) throw Object.assign(new Error("No document is open: call open(bytes) first."), { code: "no-document" });
    return this.doc;
  }

  private async preflight(a: Requests["preflight"]): Promise<Answer<Layout>> {
    return [await this.bindings().preflight(this.openDoc().handle, a.plan, a.label), []];
  }

  private async prepare(a: Requests["prepare"], emit: Emit): Promise<Answer<PrepareResult>> {
    const core = this.bindings();
    const doc = this.openDoc();
    const subtle = globalThis.crypto?.subtle;
    // pdfcore skips its digest: it is made once, below, by WebCrypto or else by Go's hash
    // with progress reports (a large file takes seconds at WASM speed).
    const p = await core.prepare(doc.handle, a.plan, a.label, a.chain, { ...a.options, goDigest: false });
    if (this.pending) core.release(this.pending.prepared);
    this.pending = null;
    let hashedWith: PrepareResult["hashedWith"] = "webcrypto";
    let digest = await this.webCryptoDigest(doc, p, subtle);
    if (!digest) {
      hashedWith = "go";
      digest = await core.digest(p.prepared, (done, total) => emit({ bytesHashed: done, totalBytes: total }));
    }
    this.pending = { prepared: p.prepared, update: p.update, digest };
    const out: PrepareResult = {
      digest: digest.slice(),
      hash: p.hash,
      field: p.field,
      label: p.label,
      layout: p.layout,
      byteRange: p.byteRange,
      reserved: p.reserved,
      hashedWith,
    };
    return [out, []];
  }

  /** Hashes the signed ranges with WebCrypto (digestRanges); undefined when the room is too small: the caller hashes in Go. */
  private async webCryptoDigest(
    doc: { buffer: ArrayBuffer; length: number },
    p: PreparedCore,
    subtle: SubtleCrypto | undefined,
  ): Promise<Uint8Array | undefined> {
    if (!subtle || doc.length + p.update.length > doc.buffer.byteLength) return undefined;
    return digestRanges(subtle, { buffer: doc.buffer, length: doc.length, update: p.update, gapStart: p.gapStart, gapEnd: p.gapEnd, hash: p.hash });
  }

  /**
   * prepare for a core that ends next: no digest here. The buffer leaves with the update,
   * and the core forgets the document and the prepared signature: nothing of them may be
   * used once the buffer is gone. Refused, with the document still open, where the hash
   * worker could not hash (no WebCrypto, no room for the update).
   */
  private async handOff(a: Requests["handOff"]): Promise<Answer<Responses["handOff"]>> {
    const core = this.bindings();
    const doc = this.openDoc();
    webCrypto();
    const p = await core.prepare(doc.handle, a.plan, a.label, a.chain, { ...a.options, goDigest: false });
    core.release(p.prepared);
    if (doc.length + p.update.length > doc.buffer.byteLength) {
      throw Object.assign(new Error("The signature's update does not fit the room after the document."), { code: "internal" });
    }
    const { buffer, length } = doc;
    this.close();
    return [{ buffer, length, update: p.update, gapStart: p.gapStart, gapEnd: p.gapEnd, hash: p.hash }, [buffer]];
  }

  /** Hashes a handed-off buffer (before this worker loads a core) and keeps it for resume. */
  private async hash(a: Requests["hash"]): Promise<Answer<Responses["hash"]>> {
    const digest = await digestRanges(webCrypto(), a);
    this.parked = { buffer: a.buffer, length: a.length };
    return [{ digest }, []];
  }

  /**
   * Opens the parked buffer in the core and prepares the same signature again. pdfcore's
   * prepare is deterministic for the same document, plan, chain and options (the signing
   * time is among them), so the update must be the one that was hashed, byte for byte; if
   * it is not, the digest would not be the document's, and nothing is signed.
   */
  private async resume(a: Requests["resume"]): Promise<Answer<PrepareResult>> {
    const core = this.bindings();
    const parked = this.parked;
    if (!parked) throw Object.assign(new Error("No handed-off document to resume."), { code: "no-document" });
    const { handle } = await core.open(new Uint8Array(parked.buffer, 0, parked.length));
    this.close();
    this.parked = null;
    this.doc = { handle, buffer: parked.buffer, length: parked.length };
    const p = await core.prepare(handle, a.plan, a.label, a.chain, { ...a.options, goDigest: false });
    if (!sameBytes(p.update, a.update)) {
      core.release(p.prepared);
      throw Object.assign(new Error("The signature prepared again after the core restarted is not the one that was hashed."), { code: "internal" });
    }
    this.pending = { prepared: p.prepared, update: p.update, digest: a.digest };
    const out: PrepareResult = {
      digest: a.digest.slice(),
      hash: p.hash,
      field: p.field,
      label: p.label,
      layout: p.layout,
      byteRange: p.byteRange,
      reserved: p.reserved,
      hashedWith: "webcrypto",
      lowMemory: true,
    };
    return [out, []];
  }

  private async embed(a: Requests["embed"]): Promise<Answer<Responses["embed"]>> {
    const core = this.bindings();
    const doc = this.openDoc();
    const pending = this.pending;
    if (!pending) throw Object.assign(new Error("No signature is prepared."), { code: "no-document" });
    // pdfcore checks the CMS against the digest we computed and the prepared certificate
    // before anything is written; on error the document stays open for another try.
    const signed = await core.embed(pending.prepared, a.cms, pending.digest);
    if (a.keep) {
      await this.appendUpdate(signed);
      return [{}, []];
    }
    let buffer = doc.buffer;
    if (doc.length + signed.length > buffer.byteLength) {
      // The update did not fit the room (it was hashed in Go): one join, the only copy.
      const joined = new Uint8Array(doc.length + signed.length);
      joined.set(new Uint8Array(buffer, 0, doc.length));
      buffer = joined.buffer;
    }
    new Uint8Array(buffer).set(signed, doc.length);
    const bytes = new Uint8Array(buffer, 0, doc.length + signed.length);
    // The buffer goes to the page with the result; the document is closed here.
    this.close();
    return [{ bytes }, [buffer]];
  }

  /**
   * Appends an update to the open document in its buffer (joined into a larger one when
   * the room is used up) and opens the result in the core in place of the document.
   */
  private async appendUpdate(update: Uint8Array): Promise<void> {
    const core = this.bindings();
    const doc = this.openDoc();
    let buffer = doc.buffer;
    const length = doc.length + update.length;
    if (length > buffer.byteLength) {
      const joined = new Uint8Array(length + (64 << 10));
      joined.set(new Uint8Array(buffer, 0, doc.length));
      buffer = joined.buffer;
    }
    new Uint8Array(buffer).set(update, doc.length);
    const { handle } = await core.open(new Uint8Array(buffer, 0, length));
    this.close();
    this.doc = { handle, buffer, length };
  }

  private async chains(): Promise<Answer<Responses["chains"]>> {
    return [{ chains: await this.bindings().certificateChains(this.openDoc().handle) }, []];
  }

  private async addValidationData(a: Requests["addValidationData"]): Promise<Answer<Responses["addValidationData"]>> {
    const update = await this.bindings().addValidationData(this.openDoc().handle, a);
    if (update) await this.appendUpdate(update);
    return [{ added: update !== null }, []];
  }

  private async prepareTimestamp(a: Requests["prepareTimestamp"]): Promise<Answer<Responses["prepareTimestamp"]>> {
    const core = this.bindings();
    const p = await core.prepareDocTimestamp(this.openDoc().handle, a.hash);
    if (this.pending) core.release(this.pending.prepared);
    this.pending = null;
    if (!p.digest) {
      core.release(p.prepared);
      throw Object.assign(new Error("The document time-stamp was prepared without its digest."), { code: "internal" });
    }
    this.pending = { prepared: p.prepared, update: p.update, digest: p.digest };
    return [{ digest: p.digest.slice(), hash: p.hash }, []];
  }

  private async embedTimestamp(a: Requests["embedTimestamp"]): Promise<Answer<null>> {
    const core = this.bindings();
    this.openDoc();
    const pending = this.pending;
    if (!pending) throw Object.assign(new Error("No document time-stamp is prepared."), { code: "no-document" });
    // pdfcore checks the token's signature and that it time-stamps the prepared digest.
    const update = await core.embed(pending.prepared, a.token, pending.digest);
    await this.appendUpdate(update);
    return [null, []];
  }

  /** Hands the open document to the page and closes it. */
  private take(): Answer<Responses["take"]> {
    const doc = this.openDoc();
    const bytes = new Uint8Array(doc.buffer, 0, doc.length);
    this.close();
    return [{ bytes }, [doc.buffer]];
  }

  private async verify(a: Requests["verify"]): Promise<Answer<VerifyReport>> {
    const core = this.bindings();
    const target = a.bytes ?? this.openDoc().handle;
    return [await core.verify(target, a.roots), []];
  }
}

/**
 * Hashes the signed ranges with WebCrypto, which has no incremental API, without joining
 * the document and the update in a new buffer (DESIGN.md, "Reading"): the buffer has room
 * after the document, so the update's bytes before the /Contents placeholder and those
 * after it are written there back to back and one view over document + both parts is
 * hashed. Then the whole update is written in place, so that the buffer holds the prepared
 * file.
 */
async function digestRanges(subtle: SubtleCrypto, h: HandOff): Promise<Uint8Array> {
  const all = new Uint8Array(h.buffer);
  const tail = h.update.subarray(h.gapEnd);
  all.set(h.update.subarray(0, h.gapStart), h.length);
  all.set(tail, h.length + h.gapStart);
  const d = await subtle.digest(webCryptoNames[h.hash], all.subarray(0, h.length + h.gapStart + tail.length));
  all.set(h.update, h.length);
  return new Uint8Array(d);
}

/** WebCrypto, or the error that says it is missing. */
function webCrypto(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw Object.assign(new Error("This environment has no WebCrypto to hash with."), { code: "internal" });
  return subtle;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The module a compile worker posts on port (see Requests.compile). */
function moduleFrom(port: MessagePort): Promise<WebAssembly.Module> {
  return new Promise((resolve, reject) => {
    const done = (e: MessageEvent) => {
      port.close();
      if (e.data instanceof WebAssembly.Module) resolve(e.data);
      else reject(Object.assign(new Error("The compile worker sent no module."), { code: "not-initialized" }));
    };
    port.addEventListener("message", done, { once: true });
    port.start();
  });
}

/** The marker that tells this module it was started as veilsign's worker, not imported. */
export const WORKER_NAME = "veilsign";

interface Port {
  post(msg: FromWorker, transfer: Transferable[]): void;
  listen(fn: (msg: ToWorker) => void): void;
}

function serve(port: Port): void {
  const core = new Core();
  port.listen((msg) => {
    const emit = (progress: Progress) => port.post({ id: msg.id, progress }, []);
    core.handle(msg.op, msg.args, emit).then(
      ([value, transfer]) => port.post({ id: msg.id, ok: true, value }, transfer),
      (err: unknown) => port.post({ id: msg.id, ok: false, error: toWire(err) }, []),
    );
  });
}

async function bootstrap(): Promise<void> {
  const g = globalThis as unknown as {
    name?: string;
    postMessage?: (m: unknown, t: Transferable[]) => void;
    addEventListener?: (t: string, fn: (e: { data: ToWorker }) => void) => void;
    process?: { versions?: { node?: string } };
  };
  // Only a dedicated worker started by channel.ts under our name serves: this module is
  // also imported on the calling thread (worker: false), where it must stay passive.
  const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
  const named = g.name === WORKER_NAME || g.name?.startsWith(WORKER_NAME + " ");
  if (inWorker && named && typeof g.postMessage === "function" && g.addEventListener) {
    // The page names a lock after the worker (channel.ts, ended): held here until the worker
    // is gone, so that the page can tell when its memory is free.
    const lock = g.name!.slice(WORKER_NAME.length + 1);
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (lock && locks) void locks.request(lock, () => new Promise<never>(() => {}));
    const post = g.postMessage.bind(g);
    const add = g.addEventListener.bind(g);
    serve({ post: (m, t) => post(m, t), listen: (fn) => add("message", (e) => fn(e.data)) });
    return;
  }
  if (g.process?.versions?.node) {
    // A computed specifier keeps bundlers of browser code from following it.
    const spec = "node:worker_threads";
    const wt = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as typeof import("node:worker_threads");
    const port = wt.parentPort;
    if (!wt.isMainThread && port && (wt.workerData as { name?: string } | undefined)?.name === WORKER_NAME) {
      serve({
        post: (m, t) => port.postMessage(m, t as never),
        listen: (fn) => port.on("message", fn),
      });
    }
  }
}

void bootstrap();
