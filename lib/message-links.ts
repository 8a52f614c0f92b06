// Links to one message of a room: `/rooms/<id>?seq=<n>`. The room loads back to it (when it is
// older than the newest page), scrolls it into view and highlights it. The page's links to one
// message are components/room/message-link.tsx's MessageLink (never prefetched).

export function messageHref(roomId: string, seq: number): string {
  return `/rooms/${encodeURIComponent(roomId)}?seq=${seq}`;
}

/** The message a `?seq=` points at, or null when absent or not a positive whole number. */
export function messageSeqFrom(value: string | string[] | undefined): number | null {
  if (typeof value !== "string" || !/^[1-9]\d{0,15}$/.test(value)) return null;
  return Number(value);
}
