// Fakes for tabs sharing one connection (lib/realtime/tab-hub.ts): a Web Locks manager whose
// holders the test can kill as a browser kills a tab, and a stand-in for the leader's real
// client that records what it is asked and emits what the test tells it to. The channel is
// node's own BroadcastChannel.
import { Emitter } from "../../lib/realtime/emitter";
import type { SharedClient } from "../../lib/realtime/tab-leader";
import type { LocksLike } from "../../lib/realtime/tab-protocol";
import type { CursorPos } from "../../lib/realtime/throttles";
import type { ClientEvents, ConnectionStatus, OutboxEntry, OutboxFrame, TransportMode } from "../../lib/realtime/types";

interface Waiter {
  owner: string;
  grant(): void;
  cancel(): void;
}

/** The locks of one browser: `forPage(id)` is what one page sees; `kill(id)` ends that page. */
export class FakeLocks {
  private readonly held = new Map<string, { owner: string; release: () => void }>();
  private readonly queues = new Map<string, Waiter[]>();

  forPage(owner: string): LocksLike {
    return {
      request: (name, options, callback) => this.request(owner, name, options, callback),
      query: async () => ({ held: [...this.held.keys()].map((name) => ({ name })) }),
    };
  }

  /** The page is gone (closed, crashed): the browser drops what it held and what it waited for. */
  kill(owner: string): void {
    for (const [name, queue] of this.queues) this.queues.set(name, queue.filter((w) => w.owner !== owner));
    for (const [, lock] of [...this.held]) if (lock.owner === owner) lock.release();
  }

  holder(name: string): string | undefined {
    return this.held.get(name)?.owner;
  }

  private request(owner: string, name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        owner,
        grant: () => {
          let released = false;
          const release = () => {
            if (released) return;
            released = true;
            this.held.delete(name);
            this.queues.get(name)?.shift()?.grant();
          };
          this.held.set(name, { owner, release });
          void callback({ name }).then(
            (value) => {
              release();
              resolve(value);
            },
            (err: unknown) => {
              release();
              reject(err);
            },
          );
        },
        cancel: () => reject(new DOMException("The request was aborted", "AbortError")),
      };
      options.signal?.addEventListener("abort", () => {
        const queue = this.queues.get(name) ?? [];
        const at = queue.indexOf(waiter);
        if (at < 0) return;
        queue.splice(at, 1);
        waiter.cancel();
      });
      if (!this.held.has(name)) return waiter.grant();
      let queue = this.queues.get(name);
      if (!queue) this.queues.set(name, (queue = []));
      queue.push(waiter);
    });
  }
}

/** The leader's connection, faked: it records calls and emits what the test says. */
export class FakeSharedClient extends Emitter<ClientEvents> implements SharedClient {
  readonly calls: string[] = [];
  readonly positions = new Map<string, number>();
  outbox: OutboxEntry[] = [];
  started = false;
  stopped = false;
  transportMode: TransportMode = "auto";
  isOffline = false;

  start(): void {
    this.started = true;
  }
  stop(): void {
    this.stopped = true;
  }
  getStatus(): ConnectionStatus {
    return {
      rooms: { transport: "websocket", state: this.started ? "connected" : "idle" },
      feed: { transport: "sse", state: this.started ? "connected" : "idle" },
      reconnects: 0,
      rttMs: null,
      invalidFrames: 0,
      link: this.started ? "open" : "idle",
      subscriptions: {},
      sharing: { role: "alone", tabs: 1 },
    };
  }
  getOutbox(): OutboxEntry[] {
    return this.outbox.map((e) => ({ ...e }));
  }
  position(stream: string): number | undefined {
    return this.positions.get(stream);
  }
  join(room: string, since?: number): void {
    if (since !== undefined) this.positions.set(`room:${room}`, since);
    this.calls.push(since === undefined ? `join ${room}` : `join ${room} ${since}`);
  }
  leave(room: string): void {
    this.positions.delete(`room:${room}`);
    this.calls.push(`leave ${room}`);
  }
  openCanvas(room: string, fresh?: boolean): void {
    this.calls.push(fresh ? `openCanvas ${room} fresh` : `openCanvas ${room}`);
  }
  closeCanvas(room: string): void {
    this.calls.push(`closeCanvas ${room}`);
  }
  moveOnCanvas(room: string): void {
    this.calls.push(`moveOnCanvas ${room}`);
  }
  rewind(stream: string, seq: number): void {
    const at = this.positions.get(stream);
    if (at !== undefined && at <= seq) return;
    this.positions.set(stream, seq);
    this.calls.push(`rewind ${stream} ${seq}`);
  }
  send(): OutboxEntry | null {
    throw new Error("the leader only enqueues the tabs' frames");
  }
  enqueue(frame: OutboxFrame): OutboxEntry | null {
    const entry: OutboxEntry = { clientId: frame.clientId, room: frame.room, text: "text" in frame ? frame.text : "", frame, status: "sending", createdAt: new Date().toISOString() };
    this.outbox.push(entry);
    this.calls.push(`enqueue ${frame.clientId}`);
    this.emit("outbox", this.getOutbox());
    return entry;
  }
  retry(clientId: string): void {
    this.calls.push(`retry ${clientId}`);
  }
  discard(clientId: string): void {
    this.outbox = this.outbox.filter((e) => e.clientId !== clientId);
    this.calls.push(`discard ${clientId}`);
  }
  typing(room: string, stop = false): void {
    this.calls.push(`typing ${room}${stop ? " stop" : ""}`);
  }
  moveCursor(room: string, pos: CursorPos): void {
    this.calls.push(`cursor ${room} ${pos ? `${pos.x},${pos.y}` : "null"}`);
  }
  cursorNow(room: string, pos: CursorPos): void {
    this.calls.push(`cursor ${room} ${pos ? `${pos.x},${pos.y}` : "null"}`);
  }
  markRead(room: string, seq: number): void {
    this.calls.push(`read ${room} ${seq}`);
  }
  setTransport(mode: TransportMode): void {
    this.transportMode = mode;
    this.calls.push(`transport ${mode}`);
    this.emit("status", this.getStatus());
  }
  dropConnection(): void {
    this.calls.push("drop");
  }
  setOffline(offline: boolean): void {
    this.isOffline = offline;
    this.calls.push(`offline ${offline}`);
    this.emit("status", this.getStatus());
  }
  wake(): void {
    this.calls.push("wake");
  }
  attachToBrowser(): () => void {
    return () => undefined;
  }

  /** The server took a frame: acked, out of the outbox. */
  ack(clientId: string, seq: number): void {
    const entry = this.outbox.find((e) => e.clientId === clientId);
    this.outbox = this.outbox.filter((e) => e.clientId !== clientId);
    if (entry) this.emit("ack", { clientId, room: entry.room, seq });
    this.emit("outbox", this.getOutbox());
  }
}
