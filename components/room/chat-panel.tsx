"use client";
import { useRoom } from "@/lib/store/room";
import type { User } from "@/lib/protocol";
import { typingPieces } from "../format";
import { Composer } from "./composer";
import { MessageList } from "./message-list";
import { useReadPosition } from "./use-read-position";

export function ChatPanel({ roomId, me }: { roomId: string; me: User }) {
  const { newAfter, onBottom } = useReadPosition(roomId, me);
  return (
    <section aria-label="Chat" className="flex h-full min-h-0 flex-col bg-white dark:bg-slate-900">
      <MessageList roomId={roomId} me={me} newAfter={newAfter} onBottom={onBottom} />
      <TypingLine />
      <Composer roomId={roomId} />
    </section>
  );
}

/** "Ada is typing…" — one line tall even when empty, so nothing jumps. */
function TypingLine() {
  const typing = useRoom((s) => s.typing);
  return (
    <p aria-live="polite" className="h-5 truncate px-4 text-xs text-slate-500 dark:text-slate-400 italic">
      {typingPieces(typing).map((p, i) => (typeof p === "string" ? p : <bdi key={i}>{p.name}</bdi>))}
    </p>
  );
}
