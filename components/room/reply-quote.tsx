"use client";
import { distinctName } from "@/lib/names";
import type { ReplyRef } from "@/lib/protocol";
import { useNameNow } from "@/lib/store/people";
import { useRoom } from "@/lib/store/room";
import { EmojiText } from "@/components/ui/emoji-text";

/**
 * What a reply answers: a line quoting it, which brings the original into view. A deleted
 * original shows as deleted; its text is gone from the server too. Its author is named as the
 * messages around it name them (`shared`: the names two people here go by, shown with tags).
 */
export function ReplyQuote({ replyTo, shared }: { replyTo: ReplyRef; shared: ReadonlySet<string> }) {
  const author = distinctName({ id: replyTo.actor.id, name: useNameNow(replyTo.actor) }, shared);
  return (
    <button
      type="button"
      onClick={() => useRoom.getState().focus(replyTo.seq)}
      aria-label={replyTo.deleted ? "Reply to a deleted message" : `Reply to ${author}: ${replyTo.preview}. Show it`}
      className="mb-0.5 flex max-w-full items-center gap-1.5 border-l-2 border-slate-300 dark:border-slate-600 pl-2 text-left text-xs text-slate-500 dark:text-slate-400 hover:border-indigo-400 hover:text-slate-700 dark:hover:text-slate-300"
    >
      {replyTo.deleted ? (
        <span className="italic">Deleted message</span>
      ) : (
        <>
          <bdi className="shrink-0 font-semibold">{author}</bdi>{" "}
          <span className="truncate">
            <EmojiText text={replyTo.preview} />
          </span>
        </>
      )}
    </button>
  );
}
