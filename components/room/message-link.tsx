// Links to one message (`/rooms/<id>?seq=<n>`), from the feed, the mentions and the toasts.
import Link from "next/link";
import type { ComponentProps } from "react";
import { messageHref } from "@/lib/message-links";

export { messageHref, messageSeqFrom } from "@/lib/message-links";

/**
 * A link to one message. Never prefetched: every message has a URL of its own, and Next.js
 * prefetches a link's page as it scrolls into view, so a feed in a busy room would have the
 * page fetch (and the server render) a page per message.
 */
export function MessageLink({ roomId, seq, ...props }: Omit<ComponentProps<typeof Link>, "href" | "prefetch"> & { roomId: string; seq: number }) {
  return <Link {...props} href={messageHref(roomId, seq)} prefetch={false} />;
}
