// The leader tab's side of a shared connection (tab-hub.ts): one RealtimeClient for the union
// of what the browser's tabs follow, driven by their up messages, its events broadcast to them
// (tab-protocol.ts). Each tab keeps its own positions and outbox, so a leader holds nothing a
// tab could not give the next one: a room is joined from the lowest position any tab holds
// (every tab then drops what it already has), the feed rewinds to the lowest too, and each
// tab's waiting frames are handed in again with the same clientIds.
import { roomStream, type Actor } from "../protocol";
import type { DownBody, UpBody } from "./tab-protocol";
import type { CursorPos } from "./throttles";
import type { FrameLog, OutboxFrame, RealtimeApi } from "./types";

/** What the leader needs of the real client (client.ts's RealtimeClient). */
export type SharedClient = RealtimeApi & {
  /** Moves a feed stream's resume position back (see RealtimeClient.rewind). */
  rewind(stream: string, seq: number): void;
  /** Sends a cursor at once: each tab throttles its own (see RealtimeClient.cursorNow). */
  cursorNow(room: string, pos: CursorPos): void;
  /** `fresh`: from a snapshot, for a tab that holds no board yet (see RealtimeClient.openCanvas). */
  openCanvas(room: string, fresh?: boolean): void;
};

/**
 * How long a new leader listens for the tabs' hellos before connecting, so it resumes from the
 * lowest position any of them holds rather than connecting twice.
 */
export const GATHER_MS = 150;
/** How often the leader looks for tabs that went away without a word (crashed, killed). */
export const PRUNE_MS = 2_000;
/** How long a page is known before a missing page lock counts as gone. */
const PRUNE_GRACE_MS = 1_000;
/** Frames for the inspectors go out in batches: a cursor storm is dozens a second. */
export const FRAMES_BATCH_MS = 100;

export interface TabLeaderDeps {
  client: SharedClient;
  /** The leader's own page. */
  self: string;
  /** Sends a down message to every tab (this one included), or only to page `to`. */
  broadcast(body: DownBody, to?: string): void;
  /** The pages still alive (each holds its page lock while it lives). */
  alivePages(): Promise<Set<string>>;
  gatherMs?: number;
  pruneMs?: number;
}

interface Page {
  rooms: Set<string>;
  /** Rooms whose canvas this page shows. */
  canvases: Set<string>;
  started: boolean;
  /** Rooms where this page pointed at the canvas: its leaving hides the person's cursor. */
  pointed: Set<string>;
  since: number;
}

export class TabLeader {
  private readonly client: SharedClient;
  private readonly pages = new Map<string, Page>();
  /** Who is typing per followed room, for a tab that opens the room while someone types. */
  private readonly typing = new Map<string, Actor[]>();
  private frames: FrameLog[] = [];
  private framesTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly gatherTimer: ReturnType<typeof setTimeout>;
  private readonly pruneTimer: ReturnType<typeof setInterval>;
  private readonly offs: (() => void)[];
  private gathered = false;
  private started = false;
  private stopped = false;

  constructor(private readonly deps: TabLeaderDeps) {
    const c = (this.client = deps.client);
    const send = (body: DownBody) => this.toTabs(body);
    this.offs = [
      c.on("event", (event) => send({ type: "event", event })),
      c.on("joined", (j) => send({ type: "joined", ...j })),
      c.on("presence", (p) => send({ type: "presence", ...p })),
      c.on("typing", (t) => {
        this.typing.set(t.room, t.users);
        send({ type: "typing", ...t });
      }),
      c.on("cursors", (cur) => send({ type: "cursors", ...cur })),
      c.on("reset", (r) => send({ type: "reset", ...r })),
      c.on("ack", (a) => send({ type: "ack", ...a })),
      c.on("read", (r) => send({ type: "read", ...r })),
      c.on("roomRead", (r) => send({ type: "roomRead", ...r })),
      c.on("roomMuted", (m) => send({ type: "roomMuted", ...m })),
      c.on("removed", (r) => send({ type: "removed", ...r })),
      c.on("canvasJoined", (j) => send({ type: "canvasJoined", ...j })),
      c.on("canvasSnapshot", (snap) => send({ type: "canvasSnapshot", ...snap })),
      c.on("canvasLive", (live) => send({ type: "canvasLive", ...live })),
      c.on("error", (e) => send({ type: "error", ...e })),
      c.on("outbox", (entries) => send({ type: "outbox", entries })),
      c.on("status", () => this.sendStatus()),
      c.on("frame", (f) => this.queueFrame(f)),
      // The cookie is the whole browser's: every tab hears it, said hello or not.
      c.on("signedOut", () => deps.broadcast({ type: "signedOut" })),
    ];
    deps.broadcast({ type: "leader" });
    this.gatherTimer = setTimeout(() => {
      this.gathered = true;
      this.startWhenWanted();
    }, deps.gatherMs ?? GATHER_MS);
    this.pruneTimer = setInterval(() => void this.prune(), deps.pruneMs ?? PRUNE_MS);
  }

  /** An up message from page `from` (this tab's own, or another's over the channel). */
  handle(from: string, body: UpBody): void {
    if (this.stopped) return;
    if (body.type === "bye") return this.removePage(from);
    const page = this.page(from);
    switch (body.type) {
      case "hello":
        return this.hello(from, page, body);
      case "join":
        return this.join(page, body.room, body.since);
      case "leave":
        return this.leave(page, body.room);
      case "enqueue":
        return this.submit(body.frame);
      case "retry":
        if (this.holds(body.frame.clientId)) return this.client.retry(body.frame.clientId);
        return this.submit(body.frame);
      case "discard":
        return this.client.discard(body.clientId);
      case "typing":
        return this.client.typing(body.room, body.stop);
      case "cursor":
        if (body.pos) page.pointed.add(body.room);
        else page.pointed.delete(body.room);
        return this.client.cursorNow(body.room, body.pos);
      case "read":
        return this.client.markRead(body.room, body.seq, body.unread);
      case "canvasOpen":
        page.canvases.add(body.room);
        // From a snapshot: the tab opening it holds no board; the others reset to it harmlessly.
        return this.client.openCanvas(body.room, true);
      case "canvasClose":
        return this.closeCanvas(page, body.room);
      case "canvasLive":
        return this.client.moveOnCanvas(body.room, body.drags, body.selection);
      case "transport":
        return this.client.setTransport(body.mode);
      case "drop":
        return this.client.dropConnection();
      case "offline":
        return this.client.setOffline(body.offline);
      case "wake":
        return this.client.wake();
      default: {
        const unknown: never = body;
        void unknown;
      }
    }
  }

  /** This tab steps down (closing, frozen, signed out): the connection ends with it. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const off of this.offs) off();
    // Once fired, clearing it does nothing.
    clearTimeout(this.gatherTimer);
    if (this.framesTimer) clearTimeout(this.framesTimer);
    clearInterval(this.pruneTimer);
    this.client.stop();
  }

  // ---------------------------------------------------------------------------

  private page(id: string): Page {
    let page = this.pages.get(id);
    if (!page) {
      page = { rooms: new Set(), canvases: new Set(), started: false, pointed: new Set(), since: Date.now() };
      this.pages.set(id, page);
      this.sendStatus();
    }
    return page;
  }

  /** A tab's whole state: what differs from what the leader knew of it is applied. */
  private hello(from: string, page: Page, hello: Extract<UpBody, { type: "hello" }>): void {
    this.deps.broadcast({ type: "welcome" }, from);
    page.started ||= hello.started;
    const rooms = new Map(hello.rooms.map((r) => [r.room, r.since]));
    for (const room of [...page.rooms]) if (!rooms.has(room)) this.leave(page, room);
    for (const [room, since] of rooms) {
      const at = this.client.position(roomStream(room));
      // A room known already is joined again only when this tab holds less than the leader.
      if (!page.rooms.has(room) || (since !== undefined && (at === undefined || since < at))) this.join(page, room, since);
    }
    for (const [stream, seq] of Object.entries(hello.feed)) this.client.rewind(stream, seq);
    const canvases = new Set(hello.canvases ?? []);
    for (const room of [...page.canvases]) if (!canvases.has(room)) this.closeCanvas(page, room);
    for (const room of canvases) {
      if (page.canvases.has(room)) continue;
      page.canvases.add(room);
      this.client.openCanvas(room, true);
    }
    for (const frame of hello.outbox) this.submit(frame);
    // What the others already know of the connection, the newcomer hears now.
    this.deps.broadcast({ type: "outbox", entries: this.client.getOutbox() }, from);
    for (const room of page.rooms) {
      const users = this.typing.get(room);
      if (users && users.length > 0) this.deps.broadcast({ type: "typing", room, users }, from);
    }
    this.sendStatus();
    this.startWhenWanted();
  }

  /** Joins for one tab, from the lowest position: the tabs that hold more drop the repeats. */
  private join(page: Page, room: string, since: number | undefined): void {
    page.rooms.add(room);
    const at = this.client.position(roomStream(room));
    this.client.join(room, since === undefined ? at : at === undefined ? since : Math.min(since, at));
  }

  /** Leaves for one tab; the connection leaves the room when no tab follows it any more. */
  private leave(page: Page, room: string): void {
    if (!page.rooms.delete(room)) return;
    // A tab that went without leaving (closed, crashed) may have left its cursor shown.
    if (page.pointed.delete(room)) this.client.cursorNow(room, null);
    if (this.followed(room)) return;
    this.typing.delete(room);
    this.client.leave(room);
  }

  /** One tab closed a canvas; the connection stops following it when no tab shows it. */
  private closeCanvas(page: Page, room: string): void {
    if (!page.canvases.delete(room)) return;
    for (const p of this.pages.values()) if (p.canvases.has(room)) return;
    this.client.closeCanvas(room);
  }

  private followed(room: string): boolean {
    for (const p of this.pages.values()) if (p.rooms.has(room)) return true;
    return false;
  }

  private removePage(id: string): void {
    const page = this.pages.get(id);
    if (!page) return;
    for (const room of [...page.canvases]) this.closeCanvas(page, room);
    for (const room of [...page.rooms]) this.leave(page, room);
    this.pages.delete(id);
    this.sendStatus();
  }

  /** Hands a tab's frame to the shared outbox, once: the tab sends it again after each handover. */
  private submit(frame: OutboxFrame): void {
    if (!this.holds(frame.clientId)) this.client.enqueue(frame);
  }

  private holds(clientId: string): boolean {
    return this.client.getOutbox().some((e) => e.clientId === clientId);
  }

  private startWhenWanted(): void {
    if (this.started || !this.gathered) return;
    for (const p of this.pages.values()) {
      if (!p.started) continue;
      this.started = true;
      return this.client.start();
    }
  }

  /** Never after stop(): the status listener is gone, and handle() and prune() return first. */
  private sendStatus(): void {
    const status = { ...this.client.getStatus(), sharing: { role: "leader" as const, tabs: Math.max(1, this.pages.size) } };
    this.toTabs({ type: "status", status, mode: this.client.transportMode, offline: this.client.isOffline });
  }

  /**
   * To every tab that has said hello. Alone, the leader tells only itself: a busy room is dozens
   * of events a second, each copied for the channel, and a tab that opens hears nothing from a
   * leader before its welcome (its hello brings it up to date). `leader` and `signedOut` go with
   * `broadcast` itself: tabs that have not said hello to this leader must hear them.
   */
  private toTabs(body: DownBody): void {
    for (const id of this.pages.keys()) if (id !== this.deps.self) return this.deps.broadcast(body);
    this.deps.broadcast(body, this.deps.self);
  }

  private queueFrame(frame: FrameLog): void {
    this.frames.push(frame);
    this.framesTimer ??= setTimeout(() => {
      this.framesTimer = null;
      const frames = this.frames;
      this.frames = [];
      this.toTabs({ type: "frames", frames });
    }, FRAMES_BATCH_MS);
  }

  /** Forgets tabs that went away without a bye (a crash): their rooms are left if no one else follows them. */
  private async prune(): Promise<void> {
    const alive = await this.deps.alivePages().catch(() => null);
    if (!alive || this.stopped) return;
    const now = Date.now();
    // A page that just said hello may not hold its lock yet.
    for (const [id, page] of this.pages) if (!alive.has(id) && now - page.since > PRUNE_GRACE_MS) this.removePage(id);
  }
}
