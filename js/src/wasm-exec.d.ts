// Go's wasm_exec.js, bundled into the worker by scripts/build.mjs under this name. It has
// no exports: importing it defines globalThis.Go.
declare module "go-wasm-exec" {}
