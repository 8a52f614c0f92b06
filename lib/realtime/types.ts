// The realtime client's public shapes: what it emits and how it is configured.
import type { Actor, CanvasObject, ClientFrame, CursorMap, DragBox, ErrorCode, LiveDragMap, LiveSelectionMap, RealtimeEvent, User } from "../protocol";
import type { LinkState } from "./link-state";
import type { CursorPos } from "./throttles";

export type TransportMode = "auto" | "websocket" | "longpoll";
export type RoomsTransport = "websocket" | "longpoll";
export type FeedTransport = "sse" | "longpoll";
export type ChannelState = "idle" | "connecting" | "connected" | "reconnecting" | "offline" | "signed-out";

export interface ConnectionStatus {
  rooms: { transport: RoomsTransport; state: ChannelState };
  feed: { transport: FeedTransport; state: ChannelState };
  /** Times a live connection was lost and re-established. */
  reconnects: number;
  /** Round-trip time of the last WebSocket ping/pong or poll, in ms. */
  rttMs: number | null;
  /** Payloads from the server dropped because they failed validation (see `FrameLog.invalid`). */
  invalidFrames: number;
  /** The rooms link's own state (lib/realtime/link-state.ts), shown by the inspector. */
  link: LinkState;
  /** Each followed room's subscription state (joining, joined, errored). */
  subscriptions: Record<string, string>;
  /** Whether this tab holds the browser's shared connection (tab-hub.ts), and how many tabs use it. */
  sharing: TabSharing;
}

/**
 * `alone`: this tab connects by itself (no Web Locks or BroadcastChannel); `leader`: this tab
 * holds the connection its browser's tabs share; `follower`: another tab holds it for this one.
 */
export interface TabSharing {
  role: "alone" | "leader" | "follower";
  /** Tabs sharing the connection, this one included (1 when alone). */
  tabs: number;
}

export type OutboxStatus = "pending" | "sending" | "failed";

/**
 * A frame the server must take once: it carries a clientId the server appends once — a
 * message, or (version 1.2) an edit, a delete or a reaction.
 */
export type OutboxFrame = Extract<ClientFrame, { clientId: string }>;

/** What a message may carry besides its text (version 1.2). */
export interface SendOptions {
  /** The seq of the message it answers. */
  replyTo?: number;
  /** The ids of the people it names, picked from the autocomplete. */
  mentions?: string[];
}

export interface OutboxEntry {
  clientId: string;
  room: string;
  /** What the page shows for it (a message's text). */
  text: string;
  /** The frame sent; absent in entries stored before frames were kept (they are messages). */
  frame?: OutboxFrame;
  status: OutboxStatus;
  createdAt: string;
  error?: { code: ErrorCode | "network"; message: string };
}

export interface FrameLog {
  direction: "in" | "out";
  transport: "websocket" | "sse" | "longpoll" | "http";
  type: string;
  bytes: number;
  at: number;
  /** Why an incoming payload was dropped unread: not JSON, or not what the protocol allows. */
  invalid?: string;
}

export interface ClientEvents {
  /** A durable event, at most once per stream and seq, in order per stream. */
  event: RealtimeEvent;
  joined: { room: string; head: number; members: User[] };
  /** The position in `stream` is too old to resume: reload its history. */
  reset: { stream: string; head: number };
  presence: { room: string; members: User[] };
  typing: { room: string; users: Actor[] };
  /**
   * `snapshot`: the room's full set (a poll answer, a join's answer, a resync after skipped
   * frames) — cursors missing from it are gone.
   */
  cursors: { room: string; cursors: CursorMap; snapshot: boolean };
  ack: { clientId: string; room: string; seq: number };
  /** My mentions were read up to `readSeq` (on this device or another). */
  read: { readSeq: number };
  /**
   * My read position in `room` moved (protocol 1.2), on this device or another; `unread` (1.11):
   * it was set there by marking what follows unread, and may be behind the one known.
   */
  roomRead: { room: string; readSeq: number; unread?: boolean };
  /** I muted or unmuted `room` (protocol 1.12), on this device or another. */
  roomMuted: { room: string; muted: boolean };
  /** Removed from this private room (version 1.2): it is gone for this person; the client stopped following it. */
  removed: { room: string };
  /** Version 1.3: the canvas of `room` resumes after `head` (its operations follow as events). */
  canvasJoined: { room: string; head: number };
  /** Version 1.3: the board of `room` as of `seq`; its operations after `seq` follow as events. */
  canvasSnapshot: { room: string; seq: number; objects: CanvasObject[] };
  /** Version 1.3: drags and selections that changed on the canvas; `full`: all of them. */
  canvasLive: { room: string; drags: LiveDragMap; selections: LiveSelectionMap; full: boolean };
  outbox: OutboxEntry[];
  status: ConnectionStatus;
  error: { code: string; message: string };
  frame: FrameLog;
  signedOut: undefined;
}

/** The subset of the browser WebSocket the client uses (the `ws` package fits too). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface OutboxStorage {
  load(): OutboxEntry[];
  save(entries: OutboxEntry[]): void;
}

export interface ClientOptions {
  /** Origin of the server; "" (same origin) in the browser. */
  baseUrl?: string;
  transport?: TransportMode;
  /** Streams carried by SSE (or long polling when SSE cannot stream). */
  feedStreams?: string[];
  createWebSocket?: (url: string, protocols: string[]) => WebSocketLike;
  fetch?: typeof fetch;
  storage?: OutboxStorage;
  /** A per-tab id, so two tabs' long polls never supersede each other. */
  tabId?: string;
  wsOpenTimeoutMs?: number;
  /** How often to try WebSocket (and SSE) again while on long polling. */
  upgradeRetryMs?: number;
  pollWaitS?: number;
  /** No byte of the event stream within this long: a buffering proxy; use long polling. */
  sseFirstByteTimeoutMs?: number;
  /**
   * How long a join on a socket that was already open may go unanswered before the socket
   * counts as dead and is replaced (a sleeping laptop's half-open connection).
   */
  answerTimeoutMs?: number;
  /** Consecutive failed opens before falling back. */
  failuresBeforeFallback?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  random?: () => number;
}

export const OUTBOX_LIMIT = 100;

/**
 * What the stores and components use of a realtime client: the tab's own RealtimeClient
 * (client.ts), or the TabClient (tab-client.ts) that shares one browser-wide connection.
 */
export interface RealtimeApi {
  on<K extends keyof ClientEvents>(type: K, handler: (payload: ClientEvents[K]) => void): () => void;
  start(): void;
  stop(): void;
  getStatus(): ConnectionStatus;
  getOutbox(): OutboxEntry[];
  position(stream: string): number | undefined;
  join(room: string, since?: number): void;
  leave(room: string): void;
  send(room: string, text: string, opts?: SendOptions): OutboxEntry | null;
  enqueue(frame: OutboxFrame): OutboxEntry | null;
  retry(clientId: string): void;
  discard(clientId: string): void;
  typing(room: string, stop?: boolean): void;
  moveCursor(room: string, pos: CursorPos): void;
  /**
   * I have seen `room` up to `seq` (protocol 1.2): the server moves my read position, and my
   * other devices hear it (`roomRead`). Needs no join. `unread` (1.11): I marked what follows
   * `seq` unread, and the position is set to it, back if need be.
   */
  markRead(room: string, seq: number, unread?: boolean): void;
  /**
   * Version 1.3: follows the room's shared canvas (the room must be followed too): a snapshot,
   * then its operations as `event`s, then live drags. Changes go out with `enqueue` (`canvas.ops`).
   */
  openCanvas(room: string): void;
  closeCanvas(room: string): void;
  /** In-between drag boxes (`null`: released) and my selection: lossy, latest wins. */
  moveOnCanvas(room: string, drags?: Record<string, DragBox | null>, selection?: string[]): void;
  setTransport(mode: TransportMode): void;
  readonly transportMode: TransportMode;
  dropConnection(): void;
  setOffline(offline: boolean): void;
  readonly isOffline: boolean;
  wake(): void;
  attachToBrowser(win?: Window, doc?: Document): () => void;
}
