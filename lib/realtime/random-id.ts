/** A short random id with a prefix: `c-…` for a message's clientId, `t-…` for a tab, `d-…` for a document's stint of long polling. */
export function randomId(prefix: string): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += b.toString(36).padStart(2, "0");
  return `${prefix}-${s.slice(0, 14)}`;
}
