// The realtime client, a thin facade over small parts: one per browser where its tabs can share it.
//
// - link.ts: the rooms link (WebSocket, else long polling) with its named states; any client
//   frame goes through `link.send(frame)` and comes back answered on either transport.
// - subscription.ts: each followed room, with its own state, position and rejoin timer.
// - outbox.ts: frames that must arrive once (messages), in order per room, paced, stored.
// - throttles.ts: typing and cursor sends. positions.ts: the resume position per stream,
//   shared by every transport, so switching loses and repeats nothing.
// - feed-link.ts: the feed and notifications over SSE (else long polling).
// Stores listen through one module, lib/store/bindings.ts. Where the browser allows, one
// RealtimeClient serves all of a browser's tabs, in the leader tab (tab-hub.ts).
import { randomId } from "./random-id";
export { randomId };
import {
  CURSOR_TICK_MS,
  POLL_MAX_WAIT_S,
  realtimeEventSchema,
  roomStream,
  canvasStream,
  type DragBox,
  sseReadSchema,
  sseResetSchema,
  sseRoomMutedSchema,
  sseRoomReadSchema,
  type ClientFrame,
  type PollAnswer,
  type RealtimeEvent,
  type ServerFrame,
} from "../protocol";
import { attachToBrowser } from "./browser-events";
import { Backoff, BACKOFF_BASE_MS, BACKOFF_CAP_MS } from "./backoff";
import { decode, InvalidPayload } from "./decode";
import { Emitter } from "./emitter";
import { FeedLink } from "./feed-link";
import { Link } from "./link";
import { Outbox, RETRYABLE, SEND_WINDOW } from "./outbox";
import { PollChannel, type PollFailure } from "./poll-channel";
import { positionKey, Positions } from "./positions";
import { REJOIN_FLOOR_MS, Subscription } from "./subscription";
import type { SseMessage } from "./sse-reader";
import { CursorThrottle, TypingThrottle, type CursorPos } from "./throttles";
import { OUTBOX_LIMIT, type ChannelState, type ClientEvents, ClientOptions, type ConnectionStatus, type FrameLog, type OutboxEntry, type OutboxFrame, type SendOptions, type RealtimeApi, type TransportMode, type WebSocketLike } from "./types";

export { HTTP_TIMEOUT_MS } from "./poll-upstream";

/**
 * Cursor sends: at most every animation frame (the canvas sees to that) and 30 Hz over
 * WebSocket — ⌈1000/30⌉ ms apart, since 33 would fit 31 sends in a second; coarser over HTTP.
 */
export const CURSOR_WS_MAX_HZ = 30;
export const CURSOR_WS_INTERVAL_MS = Math.ceil(1000 / CURSOR_WS_MAX_HZ);
export const CURSOR_HTTP_INTERVAL_MS = 200;
/** A WebSocket that has not opened by then counts as a failure to open. */
export const WS_OPEN_TIMEOUT_MS = 4_000;
/** Failures to open in a row before falling back to long polling. */
export const FAILURES_BEFORE_FALLBACK = 2;
/** A stream with no first byte by then is held by a buffering proxy: fall back to long polling. */
export const SSE_FIRST_BYTE_TIMEOUT_MS = 5_000;
/** While on long polling, how often to try the better transport again in the background. */
export const UPGRADE_RETRY_MS = 60_000;
/** A join on a socket that looks open gets its answer within this, or the socket is replaced. */
export const ANSWER_TIMEOUT_MS = 5_000;

/** A join refused with these will be refused again: the room is gone, or not this person's. */
const ROOM_GONE: ReadonlySet<string> = new Set(["unknown_room", "forbidden"]);

export class RealtimeClient extends Emitter<ClientEvents> implements RealtimeApi {
  private readonly positions = new Positions();
  private readonly rooms = new Map<string, Subscription>();
  /**
   * Rooms followed only for frames written in them that the server has not taken: left with
   * frames unsent (`leave`), or not open here at all (frames kept across a reload, or left by a
   * closed tab: `followUntilSent`). Each is left once the last of those frames is answered.
   */
  private readonly leaving = new Set<string>();
  /** Rooms whose canvas is followed (protocol 1.3); each `joined` of the room opens it again. */
  private readonly canvases = new Set<string>();
  private readonly feedStreams: string[];
  private readonly link: Link;
  private readonly feed: FeedLink;
  private readonly poll: PollChannel;
  private readonly outbox: Outbox;
  private readonly typingThrottle: TypingThrottle;
  private readonly cursors: CursorThrottle;
  private readonly rejoinBackoff: Backoff;
  private readonly status = { reconnects: 0, rttMs: null as number | null, invalidFrames: 0, feed: "idle" as ChannelState };
  private started = false;
  private offline = false;
  /**
   * Read positions that could not go out (no link up), the last per room: sent when a link
   * comes up. One per room the person read (or marked unread) while offline, so small.
   */
  private readonly unsentReads = new Map<string, { seq: number; unread: boolean }>();

  constructor(options: ClientOptions = {}) {
    super();
    const baseUrl = options.baseUrl ?? "";
    const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    const mode = options.transport ?? "auto";
    const backoff = { baseMs: options.backoffBaseMs ?? BACKOFF_BASE_MS, capMs: options.backoffCapMs ?? BACKOFF_CAP_MS, random: options.random };
    const failuresBeforeFallback = options.failuresBeforeFallback ?? FAILURES_BEFORE_FALLBACK;
    const upgradeRetryMs = options.upgradeRetryMs ?? UPGRADE_RETRY_MS;
    const tabId = options.tabId ?? randomId("t");
    this.feedStreams = options.feedStreams ?? [];
    this.rejoinBackoff = new Backoff({ ...backoff, baseMs: REJOIN_FLOOR_MS });

    const pollBackoff = new Backoff(backoff);
    this.poll = new PollChannel(baseUrl, fetchImpl, options.pollWaitS ?? POLL_MAX_WAIT_S, tabId, {
      streams: () => this.pollStreams(),
      cursor: (streams) => this.positions.cursorFor(streams),
      onAnswer: (answer, bytes, rtt) => this.pollAnswer(answer, bytes, rtt),
      onError: (err) => this.pollError(err),
      nextDelay: () => pollBackoff.next(),
      onSuccess: () => {
        pollBackoff.reset();
        this.link.pollAnswered(true);
        if (this.feedOnPoll) this.setFeed("connected");
      },
    }, () => this.link.pollDoc);
    this.link = new Link(
      {
        baseUrl,
        wsUrl: baseUrl ? `${baseUrl.replace(/^http/, "ws")}/ws` : defaultWsUrl(),
        fetch: fetchImpl,
        createWebSocket: options.createWebSocket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike),
        conn: tabId,
        mode,
        wsOpenTimeoutMs: options.wsOpenTimeoutMs ?? WS_OPEN_TIMEOUT_MS,
        upgradeRetryMs,
        answerTimeoutMs: options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS,
        failuresBeforeFallback,
        backoff,
        poller: this.poll,
      },
      {
        onUp: () => {
          // A fresh link is alive: its joins need no watching. They are every join a refusal had put off, too.
          for (const sub of this.rooms.values()) sub.join();
          this.outbox.linkUp();
          this.sendUnsentReads();
        },
        onDown: () => {
          for (const sub of this.rooms.values()) sub.linkDown();
          this.outbox.linkDown();
        },
        onFrame: (frame) => this.handleFrame(frame),
        onUnanswered: (frames) => this.unanswered(frames),
        onSignedOut: () => this.signedOut(),
        onInvalid: (transport, invalid, bytes, type) => this.reportInvalid(transport, invalid, bytes, type),
        onLog: (log) => this.emit("frame", log),
        onStatus: () => {
          // WebSockets blocked on the way to a server that answers: the feed follows the rooms
          // onto long polling (FeedLink.roomsBlocked) instead of negotiating on its own.
          if (this.link.transport === "longpoll") this.feed.roomsBlocked();
          this.emitStatus();
        },
        onReconnect: () => this.status.reconnects++,
      },
    );
    const streamsQuery = encodeURIComponent(this.feedStreams.join(","));
    this.feed = new FeedLink(
      `${baseUrl}/api/stream?streams=${streamsQuery}`,
      fetchImpl,
      mode,
      { firstByteTimeoutMs: options.sseFirstByteTimeoutMs ?? SSE_FIRST_BYTE_TIMEOUT_MS, upgradeRetryMs, failuresBeforeFallback, backoff },
      {
        cursor: () => this.positions.cursorFor(this.feedStreams),
        onMessage: (msg, bytes) => this.sseMessage(msg, bytes),
        onId: (id) => this.advance(id),
        onState: (state) => this.setFeed(state),
        onReconnect: () => this.status.reconnects++,
        onSignedOut: () => this.link.signOut(),
        onTransport: () => this.poll.restart(),
        serverAnswersHttp: async () => {
          try {
            return (await fetchImpl(`${baseUrl}/readyz`, { cache: "no-store" })).ok;
          } catch {
            return false;
          }
        },
      },
    );
    this.outbox = new Outbox({
      canSend: () => this.started && !this.offline && this.link.canSend,
      window: () => (this.link.transport === "websocket" ? SEND_WINDOW : 1),
      roomReady: (room) => this.rooms.has(room) && !this.rooms.get(room)!.waitingToRejoin,
      send: (frame) => this.link.send(frame),
      onChange: (entries) => {
        this.leaveWhenSent(entries);
        this.emit("outbox", entries);
      },
      onAck: (ack, rtt) => {
        if (rtt !== null) this.status.rttMs = rtt;
        this.emit("ack", ack);
        this.emitStatus();
      },
      storage: options.storage,
      backoff,
    });
    this.typingThrottle = new TypingThrottle((room, stop) => this.link.send(stop ? { type: "typing", room, stop: true } : { type: "typing", room }));
    this.cursors = new CursorThrottle(
      (room, pos) => this.link.send(cursorFrame(room, pos)),
      () => (this.link.transport === "websocket" ? CURSOR_WS_INTERVAL_MS : CURSOR_HTTP_INTERVAL_MS),
    );
  }

  // ---------------------------------------------------------------------------
  // Public API

  start(): void {
    if (this.started) return;
    this.started = true;
    // Frames kept from before a reload go to their rooms, whichever room the page opens.
    for (const entry of this.outbox.list()) this.followUntilSent(entry.room);
    this.connect();
  }

  stop(): void {
    this.started = false;
    this.disconnect();
  }

  getStatus(): ConnectionStatus {
    const subscriptions: Record<string, string> = {};
    for (const [room, sub] of this.rooms) subscriptions[room] = sub.state;
    return {
      rooms: { transport: this.link.transport, state: this.link.channelState },
      feed: { transport: this.feed.transport, state: this.status.feed },
      reconnects: this.status.reconnects,
      rttMs: this.status.rttMs,
      invalidFrames: this.status.invalidFrames,
      link: this.link.state,
      subscriptions,
      sharing: { role: "alone", tabs: 1 },
    };
  }

  getOutbox(): OutboxEntry[] {
    return this.outbox.list();
  }

  /** The last seq seen of a stream (`room:<id>`, `feed`, `user:me`). */
  position(stream: string): number | undefined {
    return this.positions.get(stream);
  }

  /**
   * Moves the resume position of a feed stream (`feed`, `user:me`) back to `seq`, or gives it
   * one: a tab sharing this connection holds less than it (tab-leader.ts). What came after is
   * asked for again, and each tab drops what it already has. Rooms do this through `join`.
   */
  rewind(stream: string, seq: number): void {
    const at = this.positions.get(stream);
    if (at !== undefined && at <= seq) return;
    this.positions.set(stream, seq);
    if (!this.started || this.offline || this.link.state === "signed-out") return;
    if (this.feedStreams.includes(positionKey(stream)) && this.feed.transport === "sse") {
      this.feed.stop();
      this.startFeed();
    }
    if (this.poll.isRunning) this.poll.restart();
  }

  /** Follows a room from `since` (the newest seq the page already shows), or live when absent. */
  join(room: string, since?: number): void {
    this.leaving.delete(room);
    if (since !== undefined) this.positions.set(roomStream(room), since);
    let sub = this.rooms.get(room);
    if (!sub) {
      sub = new Subscription(room, this.positions, (frame) => this.link.send(frame), this.rejoinBackoff, () => this.outbox.flush());
      this.rooms.set(room, sub);
    }
    // A socket that has been open a while may be dead without knowing it: watch for the answer.
    if (this.link.pollsRooms) this.poll.restart();
    if (this.started && sub.join()) this.link.expectAnswer();
    // Frames for this room kept from before (a reload while offline) can go out now.
    this.outbox.flush();
  }

  /**
   * Stops following a room. What the person wrote there and the server has not taken yet goes
   * first: the room stays joined (the server takes a room's frames only from those in it) until
   * the last is answered, as a message sent just before switching rooms must not wait for the
   * person to come back.
   */
  leave(room: string): void {
    const sub = this.rooms.get(room);
    if (!sub) return;
    this.cursors.forget(room);
    this.closeCanvas(room);
    if (unsentIn(this.outbox.list(), room)) {
      this.leaving.add(room);
      return;
    }
    this.unfollow(room, sub);
  }

  private unfollow(room: string, sub: Subscription): void {
    this.leaving.delete(room);
    sub.leave();
    this.rooms.delete(room);
    if (this.link.pollsRooms) this.poll.restart();
  }

  /**
   * Frames waiting for a room not followed here go out all the same: the server takes a room's
   * frames only from those in it, so the room is joined, and left again once they are answered.
   */
  private followUntilSent(room: string): void {
    if (this.rooms.has(room) || !unsentIn(this.outbox.list(), room)) return;
    this.join(room);
    this.leaving.add(room);
  }

  /** Rooms left with frames unsent are let go once those are answered. */
  private leaveWhenSent(entries: OutboxEntry[]): void {
    for (const room of this.leaving) {
      const sub = this.rooms.get(room);
      if (!sub) this.leaving.delete(room);
      else if (!unsentIn(entries, room)) this.unfollow(room, sub);
    }
  }

  /**
   * Follows the room's canvas: a `canvas.join` now if the room is joined, and again after every
   * join of the room (a reconnect), from the position reached, so nothing is missed or repeated.
   * Opened anew (a tab that has no board yet), it starts from a snapshot.
   */
  openCanvas(room: string, fresh = false): void {
    if (fresh) this.positions.delete(canvasStream(room));
    this.canvases.add(room);
    if (this.rooms.get(room)?.state === "joined") this.joinCanvas(room);
  }

  closeCanvas(room: string): void {
    if (!this.canvases.delete(room)) return;
    this.positions.delete(canvasStream(room));
    if (this.started && !this.offline) this.link.send({ type: "canvas.leave", room });
    if (this.link.pollsRooms) this.poll.restart();
  }

  moveOnCanvas(room: string, drags?: Record<string, DragBox | null>, selection?: string[]): void {
    if (!this.started || this.offline || !this.canvases.has(room) || !this.rooms.has(room)) return;
    this.link.send({ type: "canvas.live", room, ...(drags ? { drags } : {}), ...(selection ? { selection } : {}) });
  }

  private joinCanvas(room: string): void {
    if (!this.started || this.offline) return;
    const since = this.positions.get(canvasStream(room));
    this.link.send(since === undefined ? { type: "canvas.join", room } : { type: "canvas.join", room, since });
  }

  /** Queues a message; it goes out now or when a transport is up. Null when the outbox is full. */
  send(room: string, text: string, opts: SendOptions = {}): OutboxEntry | null {
    this.typingThrottle.forget(room);
    return this.enqueue({ type: "send", room, text, clientId: randomId("c"), ...opts });
  }

  /** Queues any frame that must arrive once (it carries a clientId). Null when the outbox is full. */
  enqueue(frame: OutboxFrame): OutboxEntry | null {
    const entry = this.outbox.enqueue(frame);
    if (!entry) this.emit("error", { code: "outbox_full", message: `At most ${OUTBOX_LIMIT} messages can wait to be sent` });
    else this.followUntilSent(frame.room);
    return entry;
  }

  /** Sends a failed message again (same clientId, so it can never appear twice). */
  retry(clientId: string): void {
    this.outbox.retry(clientId);
  }

  discard(clientId: string): void {
    this.outbox.discard(clientId);
  }

  /** Typing: call on each keystroke (renewals are throttled); `stop` clears at once. */
  typing(room: string, stop = false): void {
    this.typingThrottle.typing(room, stop);
  }

  /**
   * The pointer moved (normalized to [0,1], with the point of the board under it: protocol 1.15)
   * or left the canvas (null). Latest wins. Ignored for a room not joined (yet, or any more): the
   * page may draw its canvas before its join goes out.
   */
  moveCursor(room: string, pos: CursorPos): void {
    if (this.rooms.has(room)) this.cursors.move(room, pos);
  }

  /**
   * Sends a cursor now, unthrottled: the tabs sharing this connection throttle in their own
   * pages (tab-client.ts), whose timers keep time, while this client may run in a hidden tab
   * whose timers the browser slows to once a second.
   */
  cursorNow(room: string, pos: CursorPos): void {
    if (this.rooms.has(room)) this.link.send(cursorFrame(room, pos));
  }

  /**
   * I have seen `room` up to `seq`: a `read` frame on whichever link is up (a WebSocket frame, or
   * a long-poll batch). With none up it waits for the next, the newest position per room only:
   * a later position covers an earlier one. Lossy beyond that by design (the server drops reads
   * over the person's limit): the next message seen sends the position again.
   */
  markRead(room: string, seq: number, unread = false): void {
    // A mark (1.11) is what the person last did, whatever the seq; a read is news only when further.
    const waiting = this.unsentReads.get(room);
    if (!unread && waiting !== undefined && waiting.seq >= seq) return;
    if (this.started && !this.offline && this.link.send(readFrame(room, seq, unread))) {
      this.unsentReads.delete(room);
      return;
    }
    // A read after a mark still waiting goes out as a mark too: from where the mark set it.
    this.unsentReads.set(room, { seq, unread: unread || waiting?.unread === true });
  }

  private sendUnsentReads(): void {
    for (const [room, { seq, unread }] of [...this.unsentReads]) {
      if (!this.link.send(readFrame(room, seq, unread))) return;
      this.unsentReads.delete(room);
    }
  }

  /** Forces a transport (the inspector's toggle, `?transport=`); "auto" negotiates again. */
  setTransport(mode: TransportMode): void {
    this.feed.setMode(mode);
    if (this.started && !this.offline && this.link.state !== "signed-out") {
      this.feed.stop();
      this.link.setMode(mode);
      this.startFeed();
      this.poll.restart();
    } else this.link.setMode(mode);
    this.emitStatus();
  }

  get transportMode(): TransportMode {
    return this.link.transportMode;
  }

  /** Drops the live connections; they come back as after a network blip. */
  dropConnection(): void {
    if (!this.started || this.offline || this.link.state === "signed-out") return;
    this.link.drop();
    this.feed.stop();
    this.setFeed("reconnecting");
    setTimeout(() => this.started && !this.offline && this.startFeed(), 500);
  }

  /** Simulates (or reports) being offline: no traffic until back online. */
  setOffline(offline: boolean): void {
    if (this.offline === offline) return;
    this.offline = offline;
    this.link.setOffline(offline);
    // Signed out, nothing runs to stop or start again: only a new start (after `stop`) connects.
    if (this.link.state === "signed-out") return;
    if (offline) {
      this.feed.stop();
      this.poll.stop();
      this.setFeed("offline");
    } else if (this.started) {
      this.feed.resetBackoff();
      this.startFeed();
      this.poll.restart();
    } else this.setFeed("idle");
  }

  get isOffline(): boolean {
    return this.offline;
  }

  /**
   * The page became visible or the network came back: reconnect now what is down, and check
   * what looks up. After a laptop slept, or the network changed under it, a socket can still
   * look open while nothing reaches it any more (half-open TCP): only an answer proves it alive.
   */
  wake(): void {
    if (!this.started || this.offline || this.link.state === "signed-out") return;
    // An open socket is checked by joining a followed room again from its position.
    if (this.link.wake()) {
      const sub = this.rooms.values().next().value;
      if (sub?.join()) this.link.expectAnswer();
    }
    if (this.feedStreams.length > 0) this.feed.wake();
    // A held poll on a dead connection would wait out its whole timeout: ask again now.
    if (this.poll.isRunning) this.poll.restart();
  }

  /** Wires the browser's online/offline and visibility events; returns the unwiring. */
  attachToBrowser(win: Window = window, doc: Document = document): () => void {
    return attachToBrowser(this, win, doc);
  }

  // ---------------------------------------------------------------------------
  // Connecting

  private get feedOnPoll(): boolean {
    return this.feedStreams.length > 0 && this.feed.transport === "longpoll";
  }

  private connect(): void {
    // Started while offline, the link waits in `offline` and connects when back online. (A stop
    // leaves it idle, offline or not: it is told again.)
    if (this.offline) this.link.setOffline(true);
    this.link.start();
    if (this.offline || this.link.state === "signed-out") return;
    this.startFeed();
    this.poll.restart();
    this.outbox.flush();
  }

  private startFeed(): void {
    if (this.feedStreams.length > 0) this.feed.start();
  }

  private disconnect(): void {
    this.link.stop();
    this.feed.stop();
    this.poll.stop();
  }

  private pollStreams(): string[] {
    const streams: string[] = [];
    if (this.link.pollsRooms) {
      for (const r of this.rooms.keys()) streams.push(roomStream(r));
      // A canvas is polled from the position its snapshot (or join) gave.
      for (const r of this.canvases) if (this.positions.has(canvasStream(r))) streams.push(canvasStream(r));
    }
    if (this.feed.transport === "longpoll") streams.push(...this.feedStreams);
    return streams;
  }

  private signedOut(): void {
    this.feed.stop();
    this.poll.stop();
    this.setFeed("signed-out");
    this.emit("signedOut", undefined);
  }

  // ---------------------------------------------------------------------------
  // What the server sends

  private handleFrame(frame: ServerFrame): void {
    const sub = "room" in frame && frame.room !== undefined ? this.rooms.get(frame.room) : undefined;
    switch (frame.type) {
      case "joined":
        sub?.joined(frame.head, frame.members);
        if (this.canvases.has(frame.room)) this.joinCanvas(frame.room);
        this.emit("joined", { room: frame.room, head: frame.head, members: frame.members });
        // The members in the answer are the room's presence as of joining.
        this.emit("presence", { room: frame.room, members: frame.members });
        // The subscription's state is part of the status (the inspector, the other tabs).
        return this.emitStatus();
      case "event":
        return this.accept(frame.event);
      case "ack":
        return this.outbox.acked(frame.clientId, frame.seq);
      case "presence":
        // A late frame for a room left meanwhile must not bring its list back.
        return this.emit("presence", { room: frame.room, members: sub ? sub.presence(frame.members) : frame.members });
      case "presence_diff":
        return this.emit("presence", { room: frame.room, members: (sub ?? this.detached(frame.room)).presenceDiff(frame) });
      case "typing":
        return this.emit("typing", { room: frame.room, users: frame.users });
      case "cursors":
        return this.emit("cursors", { room: frame.room, cursors: frame.cursors, snapshot: frame.full === true });
      case "reset":
        return this.resetPosition(roomStream(frame.room), frame.head);
      case "read":
        return this.emit("roomRead", { room: frame.room, readSeq: frame.seq, ...(frame.unread ? { unread: true } : {}) });
      case "muted":
        return this.emit("roomMuted", { room: frame.room, muted: frame.muted });
      case "error": {
        this.emit("error", { code: frame.code, message: frame.message });
        // The server lost a room we follow: join again, and what was refused for it goes again after.
        const lostRoom = frame.code === "not_joined" && sub !== undefined;
        if (sub && (lostRoom || (frame.clientId === undefined && RETRYABLE.has(frame.code)))) sub.refused();
        if (frame.clientId) this.outbox.refused(frame.clientId, frame.code, frame.message, RETRYABLE.has(frame.code) || lostRoom);
        // A room followed only for its unsent frames whose join was refused: gone, or no longer
        // this person's, those frames fail (kept for Retry) and the room is let go without a
        // `leave`, as it was never joined; refused for any other reason (too many rooms open
        // just now), it is asked again later.
        else if (sub && this.leaving.has(sub.room) && !lostRoom) {
          if (ROOM_GONE.has(frame.code)) {
            sub.removed();
            this.rooms.delete(sub.room);
            this.leaving.delete(sub.room);
            this.outbox.refusedRoom(sub.room, frame.code, frame.message);
            if (this.link.pollsRooms) this.poll.restart();
          } else if (!RETRYABLE.has(frame.code)) sub.refused();
        }
        return;
      }
      case "canvas.joined":
        if (!this.canvases.has(frame.room)) return;
        return this.emit("canvasJoined", { room: frame.room, head: frame.head });
      case "canvas.snapshot":
        if (!this.canvases.has(frame.room)) return;
        this.positions.set(canvasStream(frame.room), frame.seq);
        this.emit("canvasSnapshot", { room: frame.room, seq: frame.seq, objects: frame.objects });
        // A long-polling page now reads the canvas' stream from the snapshot on.
        if (this.link.pollsRooms) this.poll.restart();
        return;
      case "canvas.live":
        if (!this.canvases.has(frame.room)) return;
        return this.emit("canvasLive", { room: frame.room, drags: frame.drags, selections: frame.selections, full: frame.full === true });
      case "removed":
        return this.roomGone(frame.room);
      default: {
        const unknown: never = frame;
        void unknown;
      }
    }
  }

  /** Gone for this person: stop following it here, without a `leave` the server would refuse. */
  private roomGone(room: string): void {
    this.rooms.get(room)?.removed();
    this.rooms.delete(room);
    this.leaving.delete(room);
    this.canvases.delete(room);
    this.cursors.forget(room);
    this.emit("removed", { room });
  }

  /** A room no longer followed: its diff applies to nothing kept. */
  private detached(room: string): Subscription {
    return new Subscription(room, new Positions(), () => false, this.rejoinBackoff, () => undefined);
  }

  /**
   * Frames sent over HTTP with no answer: a join is asked again later; what must arrive once (a
   * message, an edit, a reaction, a canvas change: the outbox's frames) goes again.
   */
  private unanswered(frames: ClientFrame[]): void {
    for (const f of frames) {
      if (f.type === "join") this.rooms.get(f.room)?.refused();
      if ("clientId" in f) this.outbox.unanswered(f.clientId);
    }
  }

  private sseMessage(msg: SseMessage, bytes: number): void {
    const log = () => this.emit("frame", { direction: "in", transport: "sse", type: msg.event, bytes, at: Date.now() });
    if (msg.event === "read") {
      // Not an event of the log: the stream position stays where it is.
      const read = decode(sseReadSchema, msg.data);
      if (read instanceof InvalidPayload) return this.reportInvalid("sse", read, bytes, msg.event);
      log();
      return this.emit("read", read);
    }
    if (msg.event === "room.read") {
      // Version 1.2: a read position, not an event of the log either.
      const read = decode(sseRoomReadSchema, msg.data);
      if (read instanceof InvalidPayload) return this.reportInvalid("sse", read, bytes, msg.event);
      log();
      return this.emit("roomRead", read);
    }
    if (msg.event === "room.muted") {
      // Version 1.12: a room muted or unmuted, not an event of the log either.
      const change = decode(sseRoomMutedSchema, msg.data);
      if (change instanceof InvalidPayload) return this.reportInvalid("sse", change, bytes, msg.event);
      log();
      return this.emit("roomMuted", change);
    }
    if (msg.event === "reset") {
      const reset = decode(sseResetSchema, msg.data);
      if (reset instanceof InvalidPayload) return this.reportInvalid("sse", reset, bytes, msg.event);
      log();
      this.resetPosition(reset.stream, reset.head);
    } else {
      // The position does not move on an event we could not read: a reconnect before the next one asks for it again.
      const event = decode(realtimeEventSchema, msg.data);
      if (event instanceof InvalidPayload) return this.reportInvalid("sse", event, bytes, msg.event);
      log();
      this.accept(event);
    }
    this.advance(msg.id);
  }

  private pollAnswer(answer: PollAnswer, bytes: number, rtt: number): void {
    this.emit("frame", { direction: "in", transport: "longpoll", type: `poll(${answer.events.length})`, bytes, at: Date.now() });
    if (answer.events.length === 0 && rtt < 1000) this.status.rttMs = rtt;
    for (const [stream, head] of Object.entries(answer.resets ?? {})) this.resetPosition(stream, head);
    for (const e of answer.events) this.accept(e);
    this.advance(answer.cursor);
    for (const [room, state] of Object.entries(answer.rooms ?? {})) {
      const sub = this.rooms.get(room);
      if (this.link.transport !== "longpoll" || !sub) continue;
      sub.carried();
      this.emit("presence", { room, members: sub.presence(state.members) });
      this.emit("typing", { room, users: state.typing });
      this.emit("cursors", { room, cursors: state.cursors, snapshot: true });
    }
    this.emitStatus();
  }

  private pollError(err: PollFailure): void {
    if (err.status === 401) return this.link.signOut();
    // A room of the poll's is no longer this person's (removed from it, or it is gone): as a
    // WebSocket hears `removed`, it is let go, and the poll goes on at once for the rest.
    if (err.code === "unknown_room" && err.room !== undefined && (this.rooms.has(err.room) || this.canvases.has(err.room))) {
      this.roomGone(err.room);
      return this.poll.restart();
    }
    if (err.invalid) this.reportInvalid("longpoll", err.invalid.payload, err.invalid.bytes, "poll");
    else this.emit("error", { code: err.code ?? "network", message: err.message });
    this.link.pollAnswered(false);
    if (this.feedOnPoll) this.setFeed("reconnecting");
  }

  /** Takes a durable event once: anything at or below the stream's position is a repeat. */
  private accept(event: RealtimeEvent): void {
    if (!this.positions.accept(event.stream, event.seq)) return;
    // Our own message (or canvas change) came back before (or instead of) its ack: it is sent.
    if ((event.type === "message" || event.type === "canvas.ops") && this.outbox.has(event.data.clientId)) this.outbox.acked(event.data.clientId, event.seq);
    this.emit("event", event);
  }

  /** The server says our position in a stream cannot be resumed: start over from its head. */
  private resetPosition(stream: string, head: number): void {
    this.positions.set(stream, head);
    this.emit("reset", { stream: stream.startsWith("user:") ? "user:me" : stream, head });
  }

  private advance(cursorText: string): void {
    this.positions.advance(cursorText, (room) => this.rooms.has(room));
  }

  /**
   * A payload from the server that failed validation: dropped before the stores see it, shown
   * in the inspector's frames (marked invalid) and counted in the status, and reported as an
   * `invalid_frame` error. The connection carries on.
   */
  private reportInvalid(transport: FrameLog["transport"], invalid: InvalidPayload, bytes: number, type?: string): void {
    const what = type ?? invalid.claimedType ?? "frame";
    this.status.invalidFrames++;
    this.emit("frame", { direction: "in", transport, type: what, bytes, at: Date.now(), invalid: invalid.reason });
    this.emit("error", { code: "invalid_frame", message: `Invalid ${what} from the server, dropped: ${invalid.reason}` });
    this.emitStatus();
  }

  private setFeed(state: ChannelState): void {
    this.status.feed = state;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit("status", this.getStatus());
  }
}

/** The cursor tick the server coalesces on; exported for components that animate to it. */
export const SERVER_CURSOR_TICK_MS = CURSOR_TICK_MS;

/** A `read` frame; with `unread` (1.11), a mark that sets the position. */
function readFrame(room: string, seq: number, unread: boolean): ClientFrame {
  return unread ? { type: "read", room, seq, unread } : { type: "read", room, seq };
}

function defaultWsUrl(): string {
  if (typeof location === "undefined") return "ws://localhost:3000/ws";
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

/** A `cursor` frame: where I point, or null (x and y null: my pointer left the canvas). */
function cursorFrame(room: string, pos: CursorPos): ClientFrame {
  if (!pos) return { type: "cursor", room, x: null, y: null };
  return pos.board ? { type: "cursor", room, x: pos.x, y: pos.y, board: pos.board } : { type: "cursor", room, x: pos.x, y: pos.y };
}

/** Whether `entries` hold a frame of `room` still to be taken (a failed one waits for the person, not the room). */
function unsentIn(entries: readonly OutboxEntry[], room: string): boolean {
  return entries.some((e) => e.room === room && e.status !== "failed");
}
