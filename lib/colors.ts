// A person's colour is a function of their id, so every page (and the server) agrees on it
// without being told — even for someone who wrote long ago and is not here now.

/**
 * Distinct hues, each dark enough for white initials and cursor labels on it (WCAG AA, 4.5:1 or
 * more against white), so they read the same on light and dark pages.
 */
export const PALETTE = [
  "#e11d48", "#db2777", "#c026d3", "#9333ea", "#4f46e5", "#2563eb",
  "#0369a1", "#0e7490", "#0f766e", "#047857", "#15803d", "#a16207", "#c2410c", "#dc2626",
];

export function colorFor(userId: string): string {
  let h = 0;
  for (const ch of userId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}
