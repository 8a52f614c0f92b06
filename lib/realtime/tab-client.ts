// One tab's realtime client when the browser's tabs share one connection (tab-hub.ts). It has
// the RealtimeClient's face, so the stores and components never know which one they hold, and
// keeps what belongs to the tab: the rooms it follows, its resume positions and its outbox
// (kept in the tab's storage). It sends what the page does to the leader tab as up messages
// (tab-protocol.ts), and takes from what the leader broadcasts only its own rooms' events,
// each once: whichever leader resumes the connection, from wherever, this tab's positions
// decide what is new to it.
import { canvasStream, roomOfCanvasStream, roomOfStream, roomStream, type DragBox, type RealtimeEvent } from "../protocol";
import { attachToBrowser } from "./browser-events";
import { CURSOR_HTTP_INTERVAL_MS, CURSOR_WS_INTERVAL_MS } from "./client";
import { Emitter } from "./emitter";
import { frameOf, newOutboxEntry, outboxHasRoom } from "./outbox";
import { positionKey, Positions } from "./positions";
import type { DownBody, UpBody } from "./tab-protocol";
import { CursorThrottle, type CursorPos } from "./throttles";
import {
  OUTBOX_LIMIT,
  type ClientEvents,
  type ConnectionStatus,
  type OutboxEntry,
  type OutboxFrame,
  type SendOptions,
  type OutboxStorage,
  type RealtimeApi,
  type TransportMode,
} from "./types";

export interface TabClientOptions {
  /** The streams the browser's feed connection carries (`feed`, `user:me`). */
  feedStreams: string[];
  /**
   * This tab's transport choice (`?transport=`, the inspector): it moves the shared connection,
   * every tab's.
   */
  mode: TransportMode;
  storage?: OutboxStorage;
  /** Hands an up message to the leader (this tab's own, or another over the channel). */
  up(body: UpBody): void;
  /** The page is done with realtime (sign-out): the hub lets go of the connection. */
  onStop(): void;
  newClientId(): string;
}

/** The shared connection's status before any leader has told it. */
function waitingStatus(): ConnectionStatus {
  return {
    rooms: { transport: "websocket", state: "connecting" },
    feed: { transport: "sse", state: "connecting" },
    reconnects: 0,
    rttMs: null,
    invalidFrames: 0,
    link: "connecting",
    subscriptions: {},
    sharing: { role: "follower", tabs: 1 },
  };
}

export class TabClient extends Emitter<ClientEvents> implements RealtimeApi {
  private readonly positions = new Positions();
  private readonly rooms = new Set<string>();
  /** Rooms whose canvas this tab shows (protocol 1.3). */
  private readonly canvases = new Set<string>();
  private entries: OutboxEntry[];
  private started = false;
  private stopped = false;
  /** Whether this tab is the leader; null while no leader is known. */
  private leading: boolean | null = null;
  /** The shared connection as the leader last described it. */
  private shared: { status: ConnectionStatus; mode: TransportMode; offline: boolean } | null = null;
  /** This tab's own transport choice, told to each new leader until it takes it. */
  private preferredMode: TransportMode;
  /**
   * Cursors are throttled here, in the page the pointer moves in, whose timers keep time; the
   * leader may be a hidden tab, whose timers the browser slows to once a second.
   */
  private readonly cursors: CursorThrottle;

  constructor(private readonly opts: TabClientOptions) {
    super();
    this.cursors = new CursorThrottle(
      (room, pos) => this.opts.up({ type: "cursor", room, pos }),
      () => (this.shared?.status.rooms.transport === "longpoll" ? CURSOR_HTTP_INTERVAL_MS : CURSOR_WS_INTERVAL_MS),
    );
    this.preferredMode = opts.mode;
    this.entries = (opts.storage?.load() ?? []).map((e) => ({ ...e, status: e.status === "failed" ? "failed" : "pending" }));
  }

  // ---------------------------------------------------------------------------
  // The hub's side

  /** A leader took the lock (this tab, or another): it hears this tab's whole state. */
  leaderChanged(self: boolean): void {
    this.setLeading(self);
    // What was on its way through the old leader goes again through the new one (same clientIds).
    const inFlight = this.entries.filter((e) => e.status === "sending");
    for (const e of inFlight) e.status = "pending";
    if (inFlight.length > 0) this.outboxChanged();
    this.opts.up(this.hello());
  }

  /** A leader answered this tab's hello. */
  welcomed(self: boolean): void {
    this.setLeading(self);
  }

  /** This tab stepped down or the leader is gone: no leader until the next one says so. */
  leaderLost(): void {
    this.setLeading(null);
  }

  private setLeading(leading: boolean | null): void {
    if (this.leading === leading) return;
    this.leading = leading;
    // The inspector shows the role.
    if (this.shared) this.emit("status", this.getStatus());
  }

  hello(): UpBody {
    const feed: Record<string, number> = {};
    for (const s of this.opts.feedStreams) {
      const seq = this.positions.get(s);
      if (seq !== undefined) feed[positionKey(s)] = seq;
    }
    return {
      type: "hello",
      started: this.started,
      rooms: [...this.rooms].map((room) => ({ room, since: this.positions.get(roomStream(room)) })),
      feed,
      outbox: this.entries.filter((e) => e.status !== "failed").map(frameOf),
      canvases: [...this.canvases],
    };
  }

  /** A message from the leader (already checked against the schema, and from the leader). */
  handleDown(body: DownBody): void {
    if (this.stopped) return;
    switch (body.type) {
      case "leader":
      case "welcome":
        return; // the hub's concern
      case "event":
        return this.accept(body.event);
      case "joined": {
        if (!this.rooms.has(body.room)) return;
        const stream = roomStream(body.room);
        if (!this.positions.has(stream)) this.positions.set(stream, body.head);
        this.emit("joined", { room: body.room, head: body.head, members: body.members });
        return this.emit("presence", { room: body.room, members: body.members });
      }
      case "presence":
        if (this.rooms.has(body.room)) this.emit("presence", { room: body.room, members: body.members });
        return;
      case "typing":
        if (this.rooms.has(body.room)) this.emit("typing", { room: body.room, users: body.users });
        return;
      case "cursors":
        if (this.rooms.has(body.room)) this.emit("cursors", { room: body.room, cursors: body.cursors, snapshot: body.snapshot });
        return;
      case "reset": {
        const room = roomOfStream(positionKey(body.stream));
        if (room !== null && !this.rooms.has(room)) return;
        this.positions.set(body.stream, body.head);
        return this.emit("reset", { stream: positionKey(body.stream), head: body.head });
      }
      case "ack":
        return this.acked(body.clientId, body.seq);
      case "read":
        return this.emit("read", { readSeq: body.readSeq });
      case "roomRead":
        // Every room's: the page's room list shows them all, followed or not.
        return this.emit("roomRead", { room: body.room, readSeq: body.readSeq, ...(body.unread ? { unread: true } : {}) });
      case "roomMuted":
        return this.emit("roomMuted", { room: body.room, muted: body.muted });
      case "canvasJoined":
        if (this.canvases.has(body.room)) this.emit("canvasJoined", { room: body.room, head: body.head });
        return;
      case "canvasSnapshot":
        if (!this.canvases.has(body.room)) return;
        // The board as of `seq`: the operations after it are new to this tab, whatever it held.
        this.positions.set(canvasStream(body.room), body.seq);
        return this.emit("canvasSnapshot", { room: body.room, seq: body.seq, objects: body.objects });
      case "canvasLive":
        if (this.canvases.has(body.room)) this.emit("canvasLive", { room: body.room, drags: body.drags, selections: body.selections, full: body.full });
        return;
      case "removed":
        this.canvases.delete(body.room);
        if (!this.rooms.delete(body.room)) return;
        this.positions.delete(roomStream(body.room));
        return this.emit("removed", { room: body.room });
      case "error":
        return this.emit("error", { code: body.code, message: body.message });
      case "outbox":
        return this.sharedOutbox(body.entries);
      case "status": {
        const first = this.shared === null;
        this.shared = { status: body.status, mode: body.mode, offline: body.offline };
        // An explicit choice made in this tab before this leader: it applies to the shared connection.
        if (first && this.preferredMode !== "auto" && body.mode !== this.preferredMode) this.opts.up({ type: "transport", mode: this.preferredMode });
        return this.emit("status", this.getStatus());
      }
      case "frames":
        for (const frame of body.frames) this.emit("frame", frame);
        return;
      case "signedOut":
        return this.emit("signedOut", undefined);
      default: {
        const unknown: never = body;
        void unknown;
      }
    }
  }

  // ---------------------------------------------------------------------------
  // What the page does (RealtimeApi)

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.opts.up(this.hello());
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.started = false;
    this.opts.onStop();
  }

  getStatus(): ConnectionStatus {
    const status = this.shared?.status ?? waitingStatus();
    const subscriptions: Record<string, string> = {};
    for (const room of this.rooms) subscriptions[room] = status.subscriptions[room] ?? "joining";
    const role = this.leading ? "leader" : "follower";
    return { ...status, subscriptions, sharing: { role, tabs: status.sharing.tabs } };
  }

  getOutbox(): OutboxEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  position(stream: string): number | undefined {
    return this.positions.get(stream);
  }

  join(room: string, since?: number): void {
    if (since !== undefined) this.positions.set(roomStream(room), since);
    this.rooms.add(room);
    this.opts.up({ type: "join", room, since: this.positions.get(roomStream(room)) });
  }

  leave(room: string): void {
    if (!this.rooms.has(room)) return;
    // A cursor the others see is hidden before the leave, and none pending goes after it.
    this.cursors.forget(room);
    this.rooms.delete(room);
    this.positions.delete(roomStream(room));
    this.opts.up({ type: "leave", room });
  }

  send(room: string, text: string, opts: SendOptions = {}): OutboxEntry | null {
    return this.enqueue({ type: "send", room, text, clientId: this.opts.newClientId(), ...opts });
  }

  enqueue(frame: OutboxFrame): OutboxEntry | null {
    if (!outboxHasRoom(this.entries)) {
      this.emit("error", { code: "outbox_full", message: `At most ${OUTBOX_LIMIT} messages can wait to be sent` });
      return null;
    }
    const entry = newOutboxEntry(frame);
    this.entries.push(entry);
    this.outboxChanged();
    this.opts.up({ type: "enqueue", frame });
    return { ...entry };
  }

  retry(clientId: string): void {
    const e = this.entries.find((x) => x.clientId === clientId);
    if (!e) return;
    e.status = "pending";
    delete e.error;
    this.outboxChanged();
    this.opts.up({ type: "retry", frame: frameOf(e) });
  }

  discard(clientId: string): void {
    this.entries = this.entries.filter((e) => e.clientId !== clientId);
    this.outboxChanged();
    this.opts.up({ type: "discard", clientId });
  }

  typing(room: string, stop = false): void {
    this.opts.up({ type: "typing", room, stop });
  }

  moveCursor(room: string, pos: CursorPos): void {
    if (this.rooms.has(room)) this.cursors.move(room, pos);
  }

  markRead(room: string, seq: number, unread = false): void {
    this.opts.up({ type: "read", room, seq, ...(unread ? { unread } : {}) });
  }

  openCanvas(room: string): void {
    this.canvases.add(room);
    this.opts.up({ type: "canvasOpen", room });
  }

  closeCanvas(room: string): void {
    if (!this.canvases.delete(room)) return;
    this.positions.delete(canvasStream(room));
    this.opts.up({ type: "canvasClose", room });
  }

  moveOnCanvas(room: string, drags?: Record<string, DragBox | null>, selection?: string[]): void {
    if (!this.canvases.has(room)) return;
    this.opts.up({ type: "canvasLive", room, ...(drags ? { drags } : {}), ...(selection ? { selection } : {}) });
  }

  // The switches show the choice at once (the inspector's are controlled inputs); the leader's
  // next status confirms it.
  setTransport(mode: TransportMode): void {
    this.preferredMode = mode;
    if (this.shared) this.shared.mode = mode;
    this.opts.up({ type: "transport", mode });
  }

  get transportMode(): TransportMode {
    return this.shared?.mode ?? this.preferredMode;
  }

  dropConnection(): void {
    this.opts.up({ type: "drop" });
  }

  setOffline(offline: boolean): void {
    if (this.shared) this.shared.offline = offline;
    this.opts.up({ type: "offline", offline });
  }

  get isOffline(): boolean {
    return this.shared?.offline ?? false;
  }

  wake(): void {
    this.opts.up({ type: "wake" });
  }

  attachToBrowser(win: Window = window, doc: Document = document): () => void {
    return attachToBrowser(this, win, doc);
  }

  // ---------------------------------------------------------------------------

  /** Takes a durable event once, and only for a stream this tab follows. */
  private accept(event: RealtimeEvent): void {
    const room = roomOfStream(positionKey(event.stream));
    if (room !== null && !this.rooms.has(room)) return;
    const canvas = roomOfCanvasStream(event.stream);
    if (canvas !== null && !this.canvases.has(canvas)) return;
    if (!this.positions.accept(event.stream, event.seq)) return;
    // This tab's own message (or canvas change) came back before (or instead of) its ack: it is sent.
    if (event.type === "message" || event.type === "canvas.ops") this.acked(event.data.clientId, event.seq);
    this.emit("event", event);
  }

  private acked(clientId: string, seq: number): void {
    const entry = this.entries.find((e) => e.clientId === clientId);
    if (!entry) return;
    this.entries = this.entries.filter((e) => e !== entry);
    this.outboxChanged();
    this.emit("ack", { clientId, room: entry.room, seq });
  }

  /** The shared outbox changed: this tab's entries take the status the leader gives them. */
  private sharedOutbox(shared: OutboxEntry[]): void {
    const byId = new Map(shared.map((e) => [e.clientId, e]));
    let changed = false;
    for (const e of this.entries) {
      const s = byId.get(e.clientId);
      if (!s || (s.status === e.status && s.error?.code === e.error?.code)) continue;
      e.status = s.status;
      if (s.error) e.error = s.error;
      else delete e.error;
      changed = true;
    }
    if (changed) this.outboxChanged();
  }

  private outboxChanged(): void {
    this.opts.storage?.save(this.entries);
    this.emit("outbox", this.getOutbox());
  }
}
