// What both measuring workers share: the document, fetched once and kept, and the
// {id, op, args} → {id, ok, value | error} loop that bench.js's channel speaks.

/** Answers the page's requests with ops[op](args, doc); "load" fetches the document. */
export function serve(ops) {
  let doc = null;
  self.onmessage = async (e) => {
    const { id, op, args } = e.data;
    try {
      let value;
      if (op === "load") {
        doc = await fetchBytes(args.url);
        value = { bytes: doc.length };
      } else {
        value = await ops[op](args ?? {}, doc);
      }
      self.postMessage({ id, ok: true, value });
    } catch (err) {
      self.postMessage({ id, ok: false, error: String(err?.stack ?? err) });
    }
  };
}

export async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
