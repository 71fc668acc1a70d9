// Loading veilsign.wasm: fetched and compiled (streaming where the server sends
// application/wasm), or read from a file: URL in Node. index.ts runs this in a short-lived
// worker (see loadModule there); worker.ts serves it as the "compile" request.

import { isNode } from "./channel.js";
import { VeilsignError } from "./errors.js";

export async function compileURL(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === "file:" && isNode()) {
    const fs = "node:fs/promises";
    const { readFile } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fs)) as typeof import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new VeilsignError("not-initialized", `Cannot load ${url.href}: HTTP ${res.status}`);
  // Streaming compiles while downloading, but only for the application/wasm type.
  if (typeof WebAssembly.compileStreaming === "function" && res.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}
