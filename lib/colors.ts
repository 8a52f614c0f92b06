// A person's colour is a function of their id, so every page (and the server) agrees on it
// without being told — even for someone who wrote long ago and is not here now.

/** Distinct, readable on white and on dark backgrounds. */
const PALETTE = [
  "#e11d48", "#db2777", "#c026d3", "#9333ea", "#4f46e5", "#2563eb",
  "#0284c7", "#0891b2", "#0d9488", "#059669", "#16a34a", "#ca8a04", "#ea580c", "#dc2626",
];

export function colorFor(userId: string): string {
  let h = 0;
  for (const ch of userId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}
