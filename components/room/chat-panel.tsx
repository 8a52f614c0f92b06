"use client";
import { useEffect, useState } from "react";
import { distinctName } from "@/lib/names";
import { useRoom } from "@/lib/store/room";
import type { Actor, User } from "@/lib/protocol";
import { typingPieces, typingStarted } from "../format";
import { Composer } from "./composer";
import { MessageList } from "./message-list";
import { useReadPosition } from "./use-read-position";
import { useSharedNames } from "./use-shared-names";

/** The room's chat. `shown` false: it is out of sight (a phone showing the canvas), nothing is read. */
export function ChatPanel({ roomId, me, shown = true }: { roomId: string; me: User; shown?: boolean }) {
  const { newAfter, onBottom } = useReadPosition(roomId, me, shown);
  return (
    <section aria-label="Chat" className="flex h-full min-h-0 flex-col bg-white dark:bg-slate-900">
      <MessageList roomId={roomId} me={me} newAfter={newAfter} onBottom={onBottom} />
      <TypingLine />
      <Composer roomId={roomId} />
    </section>
  );
}

/**
 * "Ada is typing…" — one line tall even when empty, so nothing jumps. A screen reader hears it
 * only when the room goes from nobody typing to someone: that is the news (a reply is coming).
 * Every later change ("Ada and Lin…", "Several people…", someone pausing) would interrupt
 * whatever the person is reading, many times a minute in a busy room, for nothing they act on.
 */
function TypingLine() {
  const typing = useRoom((s) => s.typing);
  const shared = useSharedNames();
  const [announced, setAnnounced] = useState("");
  const someone = typing.length > 0;
  // Two here under one name are told apart by their tags, as in the list of people here.
  const named = (users: Actor[]) => users.map((u) => ({ ...u, name: distinctName(u, shared) }));
  useEffect(() => {
    // Read once per start; emptied when everyone stops, so the next start is news again.
    setAnnounced(someone ? typingStarted(named(useRoom.getState().typing)) : "");
  }, [someone]);
  return (
    <>
      {/* Not live: there to be read when the person looks, not spoken at every change. */}
      <p className="h-5 truncate px-4 text-xs text-slate-500 dark:text-slate-400 italic">
        {typingPieces(named(typing)).map((p, i) => (typeof p === "string" ? p : <bdi key={i}>{p.name}</bdi>))}
      </p>
      <p aria-live="polite" className="sr-only">
        {announced}
      </p>
    </>
  );
}
