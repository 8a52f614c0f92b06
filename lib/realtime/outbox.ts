// The outbox: frames that must reach the server once (a message today, a reaction tomorrow),
// each with a clientId the server appends once. Pending while offline, sent through the link
// when it is up (again after every reconnect), removed on ack, kept in storage across reloads.
//
// One unacknowledged frame per room keeps a room's frames in the order they were written even
// when the server refuses one for now (`rate_limited`, `overloaded`, `internal`): nothing after
// it is on its way, so it goes again first. Sends are paced under the server's rate
// (PROTOCOL.md), so a backlog drains without `rate_limited`; under its 10 a second, a round
// trip under 100 ms costs no speed.
import { SEND_BURST, SEND_RATE_PER_S, type ClientFrame, type ErrorCode } from "../protocol";
import { TokenBucket } from "../token-bucket";
import { Backoff, type BackoffOptions } from "./backoff";
import { OUTBOX_LIMIT, type OutboxEntry, type OutboxFrame, type OutboxStorage } from "./types";

/**
 * Frames unacknowledged at once over the WebSocket (one per room), and the burst of our own
 * pace: half the server's burst, so up to a second of network bunching stays within its limit.
 */
export const SEND_WINDOW = SEND_BURST / 2;
/** The least a `rate_limited` (or overloaded) reply holds the outbox: the server refills in that time. */
export const SEND_HOLD_MS = 1_000;
/**
 * How long a frame on a link that stays up may go unanswered before it goes again (same
 * clientId: the server appends it once). A server answers in milliseconds, or says it is busy;
 * a frame it drops unread (its sender past the person's frame rate, PROTOCOL.md) gets no answer
 * at all, and would otherwise wait for the next reconnect.
 */
export const ACK_WAIT_MS = 15_000;
/** Error codes that say "not now" rather than "never": the frame may be sent again as it is. */
export const RETRYABLE: ReadonlySet<string> = new Set(["rate_limited", "overloaded", "unavailable", "internal"]);

export interface OutboxDeps {
  /** Whether frames may go now (started, online, signed in, a link that takes frames). */
  canSend(): boolean;
  /** How many frames may be unacknowledged at once on the current link. */
  window(): number;
  /** Whether `room` is followed and not waiting to be joined again (its frames go after the join). */
  roomReady(room: string): boolean;
  /** Hands a frame to the link; false when it could not take it. */
  send(frame: ClientFrame): boolean;
  onChange(entries: OutboxEntry[]): void;
  onAck(ack: { clientId: string; room: string; seq: number }, rttMs: number | null): void;
  storage?: OutboxStorage;
  backoff: BackoffOptions;
}

/** The frame an entry stands for; entries stored before frames were kept are messages. */
export function frameOf(e: OutboxEntry): OutboxFrame {
  return e.frame ?? { type: "send", room: e.room, text: e.text, clientId: e.clientId };
}

/** Whether `entries` leave room for one more frame (failed ones wait for the person, not the link). */
export function outboxHasRoom(entries: OutboxEntry[]): boolean {
  return entries.filter((e) => e.status !== "failed").length < OUTBOX_LIMIT;
}

/** A new entry for `frame`, waiting to be sent. */
export function newOutboxEntry(frame: OutboxFrame): OutboxEntry {
  const text = "text" in frame ? frame.text : "";
  return { clientId: frame.clientId, room: frame.room, text, frame, status: "pending", createdAt: new Date().toISOString() };
}

/**
 * Frames of one lane go one at a time, in order: a room's chat, and (protocol 1.3) its canvas
 * beside it, so a run of drawing never holds up a message.
 */
function laneOf(e: OutboxEntry): string {
  return e.frame?.type === "canvas.ops" ? `canvas:${e.room}` : e.room;
}

export class Outbox {
  private entries: OutboxEntry[];
  private readonly sentAt = new Map<string, number>();
  private readonly pacer = new TokenBucket(SEND_RATE_PER_S, SEND_WINDOW);
  private readonly holdBackoff: Backoff;
  /** Nothing goes out before this time (a rate_limited or overloaded reply asked us to wait). */
  private holdUntil = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Set while frames are on their way: looks for one unanswered past ACK_WAIT_MS. */
  private ackTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly deps: OutboxDeps) {
    this.holdBackoff = new Backoff({ ...deps.backoff, baseMs: SEND_HOLD_MS });
    this.entries = (deps.storage?.load() ?? []).map((e) => ({ ...e, status: e.status === "failed" ? "failed" : "pending" }));
  }

  list(): OutboxEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  has(clientId: string): boolean {
    return this.entries.some((e) => e.clientId === clientId);
  }

  /** Queues a frame; null when the outbox is full. */
  enqueue(frame: OutboxFrame): OutboxEntry | null {
    if (!outboxHasRoom(this.entries)) return null;
    const entry = newOutboxEntry(frame);
    this.entries.push(entry);
    this.changed();
    this.flush();
    return { ...entry };
  }

  retry(clientId: string): void {
    const e = this.entries.find((x) => x.clientId === clientId);
    if (!e) return;
    e.status = "pending";
    delete e.error;
    this.changed();
    this.flush();
  }

  discard(clientId: string): void {
    this.entries = this.entries.filter((e) => e.clientId !== clientId);
    this.sentAt.delete(clientId);
    this.changed();
  }

  /** The server took it (an ack, or our own event came back first). */
  acked(clientId: string, seq: number): void {
    const entry = this.entries.find((e) => e.clientId === clientId);
    if (!entry) return;
    const sent = this.sentAt.get(clientId);
    this.sentAt.delete(clientId);
    this.entries = this.entries.filter((e) => e !== entry);
    this.holdBackoff.reset();
    this.deps.onAck({ clientId, room: entry.room, seq }, sent === undefined ? null : Date.now() - sent);
    this.changed();
    // Room in the window for the next one.
    this.flush();
  }

  /** The server refused it: for now (held, sent again first) or for good (failed, kept for Retry). */
  refused(clientId: string, code: ErrorCode, message: string, retry: boolean): void {
    const entry = this.entries.find((e) => e.clientId === clientId);
    // Failed already (its room refused): the first reason stands.
    if (!entry || entry.status === "failed") return;
    if (retry) {
      entry.status = "pending";
      this.hold();
    } else {
      entry.status = "failed";
      entry.error = { code, message };
    }
    this.changed();
    // A failed frame leaves the window: the next one may go.
    this.flush();
  }

  /** The server refused the room itself: every frame for it fails (kept for Retry). */
  refusedRoom(room: string, code: ErrorCode, message: string): void {
    for (const e of this.entries) {
      if (e.room !== room || e.status === "failed") continue;
      e.status = "failed";
      e.error = { code, message };
      this.sentAt.delete(e.clientId);
    }
    this.changed();
    this.flush();
  }

  /** No answer came (unreachable, timed out, cut off): it goes again, still first in line. */
  unanswered(clientId: string): void {
    const entry = this.entries.find((e) => e.clientId === clientId);
    if (!entry || entry.status !== "sending") return;
    entry.status = "pending";
    this.changed();
    this.hold();
  }

  /** The link went down: what was on its way goes again on the next one (same clientId). */
  linkDown(): void {
    for (const e of this.entries) if (e.status === "sending") e.status = "pending";
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }

  /** A fresh connection: the server's rate limit starts over too. */
  linkUp(): void {
    this.pacer.reset();
    this.linkDown();
    this.flush();
  }

  /** Sends waiting frames in the order they were written, within the window and the pace. */
  flush(): void {
    if (!this.deps.canSend()) return;
    const hold = this.holdUntil - Date.now();
    if (hold > 0) return this.schedule(hold);
    const window = this.deps.window();
    const busy = new Set(this.entries.filter((e) => e.status === "sending").map(laneOf));
    let inFlight = this.entries.filter((e) => e.status === "sending").length;
    let changed = false;
    for (const e of this.entries) {
      if (inFlight >= window) break;
      // A room's first waiting frame holds back the rest of that room. (Past this, `e` is
      // pending: a frame on its way made its lane busy above.)
      if (busy.has(laneOf(e)) || e.status === "failed") continue;
      busy.add(laneOf(e));
      if (!this.deps.roomReady(e.room)) continue;
      if (!this.pacer.take()) {
        this.schedule(this.pacer.waitMs);
        break;
      }
      e.status = "sending";
      if (!this.deps.send(frameOf(e))) {
        e.status = "pending";
        break;
      }
      this.sentAt.set(e.clientId, Date.now());
      changed = true;
      inFlight++;
    }
    if (changed) {
      this.changed();
      this.watchAcks();
    }
  }

  /** While frames are on their way: the oldest unanswered past ACK_WAIT_MS goes again. */
  private watchAcks(): void {
    if (this.ackTimer) return;
    const sent = this.entries.filter((e) => e.status === "sending").map((e) => this.sentAt.get(e.clientId) ?? Date.now());
    if (sent.length === 0) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      const now = Date.now();
      for (const e of this.entries) {
        if (e.status === "sending" && now - (this.sentAt.get(e.clientId) ?? now) >= ACK_WAIT_MS) this.unanswered(e.clientId);
      }
      this.watchAcks();
    }, Math.max(0, Math.min(...sent) + ACK_WAIT_MS - Date.now()));
  }

  /** The server asked us to slow down (or could not take a frame now): wait, longer each time. */
  private hold(): void {
    const wait = Math.max(SEND_HOLD_MS, this.holdBackoff.next());
    this.holdUntil = Date.now() + wait;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.schedule(wait);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }

  private changed(): void {
    this.deps.storage?.save(this.entries);
    this.deps.onChange(this.list());
  }
}
