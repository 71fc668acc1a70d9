// The page's side of the page ↔ core channel: a Web Worker in browsers, worker_threads
// in Node, or the core on the calling thread. Every call is a promise; buffers named in
// transfer move instead of being copied.

import { fromWire, VeilsignError } from "./errors.js";
import type { Core, FromWorker, Op, Progress, Requests, Responses, ToWorker } from "./worker.js";

export interface Channel {
  call<K extends Op>(op: K, args: Requests[K], transfer?: Transferable[], onProgress?: (p: Progress) => void): Promise<Responses[K]>;
  terminate(): void;
  /**
   * Ends the worker and resolves once it is gone and its memory with it: in browsers when
   * the Web Lock the worker held is free, in Node when the thread has exited. Without Web
   * Locks it resolves at once.
   */
  ended(): Promise<void>;
  /** Whether the core runs in a worker of its own (so that ending it frees its memory). */
  readonly isolated: boolean;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: Progress) => void;
}

/** The minimal worker interface both Web Workers and the worker_threads adapter offer. */
interface WorkerLike {
  postMessage(msg: ToWorker, transfer: Transferable[]): void;
  onMessage(fn: (msg: FromWorker) => void): void;
  onFailure(fn: (err: unknown) => void): void;
  terminate(): void;
  /** Terminates and resolves once the worker is gone. */
  ended(): Promise<void>;
  /** Keeps the process alive while calls are in flight (Node), and lets it exit when idle. */
  hold?(busy: boolean): void;
}

class WorkerChannel implements Channel {
  readonly isolated = true;
  private next = 1;
  private pending = new Map<number, Pending>();

  constructor(private readonly worker: WorkerLike) {
    worker.onMessage((msg) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if ("progress" in msg) {
        p.onProgress?.(msg.progress);
        return;
      }
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.hold?.(false);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(fromWire(msg.error));
    });
    worker.onFailure((err) => {
      // A worker that failed to load or crashed answers nothing more: fail every call.
      const e = new VeilsignError("internal", `The veilsign worker failed: ${describe(err)}`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker.hold?.(false);
    });
  }

  call<K extends Op>(op: K, args: Requests[K], transfer: Transferable[] = [], onProgress?: (p: Progress) => void): Promise<Responses[K]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.hold?.(true);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  terminate(): void {
    this.worker.terminate();
  }

  ended(): Promise<void> {
    return this.worker.ended();
  }
}

function describe(err: unknown): string {
  if (err && typeof err === "object" && "message" in err) return String((err as { message: unknown }).message);
  return String(err);
}

/** The core on this thread: for MV3 service workers and other places without workers. */
class InlineChannel implements Channel {
  readonly isolated = false;
  constructor(private readonly core: Core) {}

  async call<K extends Op>(op: K, args: Requests[K], _transfer?: Transferable[], onProgress?: (p: Progress) => void): Promise<Responses[K]> {
    try {
      const [value] = await this.core.handle(op, args, (p) => onProgress?.(p));
      return value as Responses[K];
    } catch (err) {
      const e = err as { code?: string; message?: string };
      throw new VeilsignError(e.code || "internal", e.message ?? String(err));
    }
  }

  terminate(): void {}

  async ended(): Promise<void> {}
}

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === "string";
}

/**
 * Starts the core where options ask: a worker (default) or this thread, with the Core class
 * given (where import() is not allowed: service workers) or else imported from workerURL.
 */
export async function openChannel(workerURL: URL, useWorker: boolean, name: string, inlineCore?: new () => object): Promise<Channel> {
  if (!useWorker) {
    const given = inlineCore as (new () => Core) | undefined;
    const CoreClass = given ?? ((await import(/* @vite-ignore */ /* webpackIgnore: true */ workerURL.href)) as { Core: new () => Core }).Core;
    return new InlineChannel(new CoreClass());
  }
  if (typeof Worker === "function") {
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    const lock = locks ? `veilsign-core-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}` : "";
    const w = new Worker(workerURL, { type: "module", name: lock ? `${name} ${lock}` : name });
    return new WorkerChannel({
      postMessage: (m, t) => w.postMessage(m, t),
      onMessage: (fn) => w.addEventListener("message", (e: MessageEvent<FromWorker>) => fn(e.data)),
      onFailure: (fn) => {
        w.addEventListener("error", (e) => fn(e));
        w.addEventListener("messageerror", (e) => fn(e));
      },
      terminate: () => w.terminate(),
      ended: async () => {
        w.terminate();
        // Granted once the worker that held it is gone (Chromium: 2-20 ms after terminate).
        if (locks) await locks.request(lock, () => undefined);
      },
    });
  }
  if (isNode()) {
    const spec = "node:worker_threads";
    const wt = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as typeof import("node:worker_threads");
    const w = new wt.Worker(workerURL, { workerData: { name } });
    // An idle worker must not keep a Node process alive; one answering a call must.
    w.unref();
    return new WorkerChannel({
      postMessage: (m, t) => w.postMessage(m, t as never),
      onMessage: (fn) => w.on("message", fn),
      onFailure: (fn) => {
        w.on("error", fn);
        w.on("exit", (code) => fn(new Error(`exited with code ${code}`)));
      },
      terminate: () => void w.terminate(),
      ended: () => w.terminate().then(() => undefined),
      hold: (busy) => (busy ? w.ref() : w.unref()),
    });
  }
  throw new VeilsignError("bad-argument", "This environment has no Worker: initialize({ worker: false }) runs the core on this thread.");
}
