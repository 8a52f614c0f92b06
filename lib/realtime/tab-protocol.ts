// The messages the tabs of one browser exchange over a BroadcastChannel to share one
// connection (tab-hub.ts). Client-side only: the server never sees them.
//
// One tab, the leader (it holds the Web Lock `TAB_LEADER_LOCK`), runs the real RealtimeClient
// for the union of what every tab follows. Every tab, the leader's own included, is a
// TabClient that keeps its own rooms, resume positions and outbox, and speaks to the leader.
//
// Up, from a tab to the leader (`from`: the page):
//   hello      the tab's whole state: rooms with their positions, the feed's positions, the
//              frames waiting in its outbox, whether it started. Sent when the page opens,
//              starts, wakes, and to every new leader; the leader applies what differs.
//   join, leave, enqueue, retry, discard, typing, cursor, read,
//   canvasOpen, canvasClose, canvasLive   what the page did.
//   transport, drop, offline, wake   the inspector's switches and the page's own life: they
//              act on the shared connection.
//   bye        the page is going away (closed, frozen, signed out).
//
// Down, from the leader to every tab (or `to` one page):
//   leader     "I lead now": every tab answers with its hello.
//   welcome    the answer to a hello: the tab knows its leader.
//   event, joined, presence, typing, cursors, reset, ack, read, roomRead, roomMuted, error,
//   canvasJoined, canvasSnapshot, canvasLive   what the shared client
//              emitted; each tab keeps its own rooms' and drops the events it has already.
//   outbox     the shared outbox: each tab takes its own entries' status from it.
//   status     the shared connection's status, mode, and how many tabs share it.
//   frames     the inspector's frames log, in batches.
//   signedOut  the session ended: every tab ends it (any tab may say this one).
//
// Down messages count only from the tab that last said `leader` or `welcome`, so a leader
// that lost its lock (a frozen tab that wakes up) is not heard. Nothing in an up message is
// trusted to be new: a hello repeats state, an enqueue of a clientId the leader holds is
// dropped, and the server takes a clientId once whatever the number of leaders that sent it.
import { z } from "zod";
import {
  actorSchema,
  boardPointSchema,
  canvasObjectSchema,
  clientFrameSchema,
  errorCodeSchema,
  clientIdSchema,
  cursorMapSchema,
  dragBoxSchema,
  liveDragMapSchema,
  liveSelectionMapSchema,
  realtimeEventSchema,
  roomId,
  selectionSchema,
  seqSchema,
  userSchema,
} from "../protocol";

/** Bump when the messages change: tabs of an older page then keep to themselves. */
export const TAB_PROTOCOL_VERSION = 3;
export const TAB_CHANNEL = `rt-tabs-v${TAB_PROTOCOL_VERSION}`;
export const TAB_LEADER_LOCK = `rt-tabs-leader-v${TAB_PROTOCOL_VERSION}`;
/** Each page holds `rt-page:<pageId>` for its life, so the leader can tell which tabs are gone. */
export const pageLockName = (pageId: string) => `rt-page:${pageId}`;

const pos = z.object({ x: z.number(), y: z.number(), board: boardPointSchema.optional() }).nullable();
const transportMode = z.enum(["auto", "websocket", "longpoll"]);
/** The frames an outbox holds: those carrying a clientId (send, edit, delete, react). */
const outboxFrame = z.union(
  clientFrameSchema.options.filter((o): o is Extract<(typeof clientFrameSchema.options)[number], { shape: { clientId: unknown } }> => "clientId" in o.shape),
);
const outboxEntry = z.object({
  clientId: clientIdSchema,
  room: z.string(),
  text: z.string(),
  frame: outboxFrame.optional(),
  status: z.enum(["pending", "sending", "failed"]),
  createdAt: z.string(),
  error: z.object({ code: z.union([errorCodeSchema, z.literal("network")]), message: z.string() }).optional(),
});
const frameLog = z.object({
  direction: z.enum(["in", "out"]),
  transport: z.enum(["websocket", "sse", "longpoll", "http"]),
  type: z.string(),
  bytes: z.number(),
  at: z.number(),
  invalid: z.string().optional(),
});
const channelState = z.enum(["idle", "connecting", "connected", "reconnecting", "offline", "signed-out"]);
const status = z.object({
  rooms: z.object({ transport: z.enum(["websocket", "longpoll"]), state: channelState }),
  feed: z.object({ transport: z.enum(["sse", "longpoll"]), state: channelState }),
  reconnects: z.number(),
  rttMs: z.number().nullable(),
  invalidFrames: z.number(),
  link: z.enum(["idle", "connecting", "open", "fallback-poll", "backoff", "offline", "signed-out"]),
  subscriptions: z.record(z.string(), z.string()),
  sharing: z.object({ role: z.enum(["alone", "leader", "follower"]), tabs: z.number() }),
});

export const upBodySchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("hello"),
    started: z.boolean(),
    rooms: z.array(z.object({ room: roomId, since: z.number().int().min(0).optional() })),
    /** Feed streams' positions (`feed`, `user:me`). */
    feed: z.record(z.string(), z.number().int().min(0)),
    /** Frames waiting to be sent, oldest first (failed ones stay with the tab until Retry). */
    outbox: z.array(outboxFrame),
    /** Rooms whose canvas the tab shows (protocol 1.3). */
    canvases: z.array(roomId).optional(),
  }),
  z.object({ type: z.literal("canvasOpen"), room: roomId }),
  z.object({ type: z.literal("canvasClose"), room: roomId }),
  z.object({ type: z.literal("canvasLive"), room: roomId, drags: z.record(z.string(), dragBoxSchema.nullable()).optional(), selection: selectionSchema.optional() }),
  z.object({ type: z.literal("join"), room: roomId, since: z.number().int().min(0).optional() }),
  z.object({ type: z.literal("leave"), room: roomId }),
  z.object({ type: z.literal("enqueue"), frame: outboxFrame }),
  z.object({ type: z.literal("retry"), frame: outboxFrame }),
  z.object({ type: z.literal("discard"), clientId: clientIdSchema }),
  z.object({ type: z.literal("typing"), room: roomId, stop: z.boolean() }),
  z.object({ type: z.literal("cursor"), room: roomId, pos }),
  z.object({ type: z.literal("read"), room: roomId, seq: seqSchema, unread: z.boolean().optional() }),
  z.object({ type: z.literal("transport"), mode: transportMode }),
  z.object({ type: z.literal("drop") }),
  z.object({ type: z.literal("offline"), offline: z.boolean() }),
  z.object({ type: z.literal("wake") }),
  z.object({ type: z.literal("bye") }),
]);
export type UpBody = z.infer<typeof upBodySchema>;

export const downBodySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("leader") }),
  z.object({ type: z.literal("welcome") }),
  z.object({ type: z.literal("event"), event: realtimeEventSchema }),
  z.object({ type: z.literal("joined"), room: roomId, head: z.number(), members: z.array(userSchema) }),
  z.object({ type: z.literal("presence"), room: roomId, members: z.array(userSchema) }),
  z.object({ type: z.literal("typing"), room: roomId, users: z.array(actorSchema) }),
  z.object({ type: z.literal("cursors"), room: roomId, cursors: cursorMapSchema, snapshot: z.boolean() }),
  z.object({ type: z.literal("reset"), stream: z.string(), head: z.number() }),
  z.object({ type: z.literal("ack"), clientId: z.string(), room: z.string(), seq: z.number() }),
  z.object({ type: z.literal("read"), readSeq: z.number() }),
  z.object({ type: z.literal("roomRead"), room: roomId, readSeq: seqSchema, unread: z.boolean().optional() }),
  z.object({ type: z.literal("roomMuted"), room: roomId, muted: z.boolean() }),
  z.object({ type: z.literal("removed"), room: roomId }),
  z.object({ type: z.literal("canvasJoined"), room: roomId, head: seqSchema }),
  z.object({ type: z.literal("canvasSnapshot"), room: roomId, seq: seqSchema, objects: z.array(canvasObjectSchema) }),
  z.object({ type: z.literal("canvasLive"), room: roomId, drags: liveDragMapSchema, selections: liveSelectionMapSchema, full: z.boolean() }),
  z.object({ type: z.literal("error"), code: z.string(), message: z.string() }),
  z.object({ type: z.literal("outbox"), entries: z.array(outboxEntry) }),
  z.object({ type: z.literal("status"), status, mode: transportMode, offline: z.boolean() }),
  z.object({ type: z.literal("frames"), frames: z.array(frameLog) }),
  z.object({ type: z.literal("signedOut") }),
]);
export type DownBody = z.infer<typeof downBodySchema>;

/** What goes over the channel: `from` is the sending page, `to` (down only) one page. */
export const tabMessageSchema = z.discriminatedUnion("dir", [
  z.object({ dir: z.literal("up"), from: z.string(), body: upBodySchema }),
  z.object({ dir: z.literal("down"), from: z.string(), to: z.string().optional(), body: downBodySchema }),
]);
export type TabMessage = z.infer<typeof tabMessageSchema>;

/** The part of BroadcastChannel the hub uses (node's and the browser's both fit). */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  close(): void;
}

/** The part of the Web Locks API the hub uses. */
export interface LocksLike {
  request(name: string, options: { signal?: AbortSignal; ifAvailable?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}
