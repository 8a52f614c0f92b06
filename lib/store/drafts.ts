// What someone was writing in each room and has not sent, and the message it answers: kept on
// this device, per person, so a room switch, a reload or a closed tab loses none of it. A draft goes when it is sent or
// emptied, and every draft of a person goes when their session ends on this device (signed out
// here, in another tab, or by the server): a shared computer keeps no one's half-written words.
// The sidebar marks the rooms that have one.
//
// Kept in localStorage, written a moment after the typing stops (and at once when the page is
// hidden or closed), merged with what other tabs wrote: each tab writes only the rooms it
// changed, and hears of the others' through the `storage` event.
import { z } from "zod";
import { create } from "zustand";
import { actorSchema, seqSchema } from "../protocol";

const KEY_PREFIX = "rt-drafts:";
/** Rooms with a draft kept at once, per person; the least recently written go first. */
export const MAX_DRAFTS = 50;
/** How long after the last keystroke a draft is written to storage. */
const WRITE_AFTER_MS = 400;

/** A message being answered, as the composer names it: who wrote it, and the start of what. */
const replyTargetSchema = z.object({ seq: seqSchema, actor: actorSchema, preview: z.string() });
export type ReplyTarget = z.infer<typeof replyTargetSchema>;

const draftSchema = z.object({
  text: z.string(),
  /** When it was last written (ms since the epoch): the oldest go first past `MAX_DRAFTS`. */
  at: z.number(),
  /** The message the draft answers ("Replying to…"); one not whole is dropped, and the text kept. */
  replyTo: replyTargetSchema.optional().catch(undefined),
});
export type Draft = z.infer<typeof draftSchema>;

type Drafts = Record<string, Draft>;

interface DraftsState {
  /** Whose drafts these are; null while nobody is signed in. */
  userId: string | null;
  drafts: Drafts;
  /**
   * Reads `userId`'s drafts from this device (null: nobody's). The person before, whose session
   * has ended, has theirs dropped from the device.
   */
  load(userId: string | null): void;
  /** The text in a room's box now; empty text (answering nothing) drops the room's draft. */
  write(roomId: string, text: string): void;
  /** The message the room's draft answers, or null for none. */
  reply(roomId: string, target: ReplyTarget | null): void;
}

const storageKey = (userId: string) => `${KEY_PREFIX}${userId}`;

/** Rooms changed in this tab since its last write to storage. */
const unwritten = new Set<string>();
let writeTimer: ReturnType<typeof setTimeout> | undefined;

export const useDrafts = create<DraftsState>()((set, get) => ({
  userId: null,
  drafts: {},

  load(userId) {
    const before = get().userId;
    if (before !== userId) {
      // Someone else, or nobody (signed out here or elsewhere): what the last person typed in
      // the moment before is not written after them, and what was written goes. Every tab
      // does this as it hears the session ended, so a write that landed in between goes too.
      clearTimeout(writeTimer);
      unwritten.clear();
      if (before) storage()?.removeItem(storageKey(before));
    }
    set({ userId, drafts: userId ? readStored(userId) : {} });
  },

  write(roomId, text) {
    const before = get().drafts[roomId];
    if ((before?.text ?? "") === text) return;
    change(roomId, { text, replyTo: before?.replyTo });
  },

  reply(roomId, target) {
    const before = get().drafts[roomId];
    if ((before?.replyTo?.seq ?? null) === (target?.seq ?? null)) return;
    change(roomId, { text: before?.text ?? "", replyTo: target ?? undefined });
  },
}));

/** Sets a room's draft (none, when it holds nothing), to be written to storage shortly. */
function change(roomId: string, { text, replyTo }: Omit<Draft, "at">): void {
  const { [roomId]: _, ...rest } = useDrafts.getState().drafts;
  const empty = text.trim() === "" && !replyTo;
  useDrafts.setState({ drafts: empty ? rest : { ...rest, [roomId]: { text, at: Date.now(), ...(replyTo ? { replyTo } : {}) } } });
  unwritten.add(roomId);
  clearTimeout(writeTimer);
  writeTimer = setTimeout(writeNow, WRITE_AFTER_MS);
}

/** Writes this tab's changed rooms over what storage holds now (other tabs' rooms kept). */
export function writeNow(): void {
  clearTimeout(writeTimer);
  const { userId, drafts } = useDrafts.getState();
  if (!userId || unwritten.size === 0) return;
  const merged = readStored(userId);
  for (const room of unwritten) {
    if (drafts[room]) merged[room] = drafts[room];
    else delete merged[room];
  }
  unwritten.clear();
  const kept = newest(merged, MAX_DRAFTS);
  try {
    storage()?.setItem(storageKey(userId), JSON.stringify(kept));
  } catch {
    // Storage full or refused: the drafts live as long as the page does.
  }
}

/** The `max` most recently written drafts. */
export function newest(drafts: Drafts, max: number): Drafts {
  const entries = Object.entries(drafts);
  if (entries.length <= max) return drafts;
  return Object.fromEntries(entries.sort(([, a], [, b]) => b.at - a.at).slice(0, max));
}

/** A person's drafts as stored; whatever is not a draft is dropped. */
export function parseDrafts(json: string | null): Drafts {
  let value: unknown;
  try {
    value = JSON.parse(json ?? "{}");
  } catch {
    return {};
  }
  if (typeof value !== "object" || value === null) return {};
  const drafts: Drafts = {};
  for (const [room, stored] of Object.entries(value)) {
    const draft = draftSchema.safeParse(stored);
    if (!draft.success) continue;
    const { text, at, replyTo } = draft.data;
    if (text.trim() !== "" || replyTo) drafts[room] = { text, at, ...(replyTo ? { replyTo } : {}) };
  }
  return drafts;
}

function readStored(userId: string): Drafts {
  return parseDrafts(storage()?.getItem(storageKey(userId)) ?? null);
}

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null; // refused (private mode, blocked site data)
  }
}

/**
 * Keeps the drafts written through a page's hiding and closing, and in step with other tabs:
 * another tab's write shows here (its rooms; this tab's unwritten changes stay this tab's).
 * Returns the unbinding.
 */
export function bindDrafts(): () => void {
  const onHidden = () => {
    if (document.visibilityState === "hidden") writeNow();
  };
  const onStorage = (e: StorageEvent) => {
    const { userId, drafts } = useDrafts.getState();
    if (!userId || e.key !== storageKey(userId)) return;
    if (e.newValue === null) {
      // Every draft dropped in another tab (a sign-out there): nothing of this tab's is written back.
      clearTimeout(writeTimer);
      unwritten.clear();
      return useDrafts.setState({ drafts: {} });
    }
    const stored = parseDrafts(e.newValue);
    for (const room of unwritten) {
      if (drafts[room]) stored[room] = drafts[room];
      else delete stored[room];
    }
    useDrafts.setState({ drafts: stored });
  };
  window.addEventListener("pagehide", writeNow);
  document.addEventListener("visibilitychange", onHidden);
  window.addEventListener("storage", onStorage);
  return () => {
    writeNow();
    window.removeEventListener("pagehide", writeNow);
    document.removeEventListener("visibilitychange", onHidden);
    window.removeEventListener("storage", onStorage);
  };
}
