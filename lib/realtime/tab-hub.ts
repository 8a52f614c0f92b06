// One connection per browser, not per tab. Browsers open at most 6 HTTP/1.1 connections per
// origin, and each tab's event stream holds one for good: the seventh tab would never load.
// So the tabs of one browser elect a leader, the tab holding the Web Lock TAB_LEADER_LOCK,
// which alone connects (WebSocket, event stream, or long polls) for the union of what every
// tab follows; the others speak through it over a BroadcastChannel (tab-protocol.ts).
//
// Every tab holds a TabClient (tab-client.ts), its face to the page, with its own rooms,
// positions and outbox. The leader tab also runs a TabLeader (tab-leader.ts) with the real
// RealtimeClient. When the leader closes, or is frozen or put in the back/forward cache (it
// lets go first), the lock passes at once to a tab waiting for it, which announces itself;
// every tab answers with its whole state, and the new leader resumes from what they hold.
//
// Where Web Locks or BroadcastChannel are missing (Web Locks need a secure context: https, or
// localhost), `sharingSupported` is false and each tab runs its own RealtimeClient.
import { TabClient, type TabClientOptions } from "./tab-client";
import { TabLeader, type SharedClient } from "./tab-leader";
import {
  pageLockName,
  TAB_LEADER_LOCK,
  tabMessageSchema,
  type ChannelLike,
  type DownBody,
  type LocksLike,
  type TabMessage,
  type UpBody,
} from "./tab-protocol";

type LifecycleTarget = Pick<EventTarget, "addEventListener" | "removeEventListener">;

export interface TabHubEnv {
  locks: LocksLike;
  channel: ChannelLike;
  /** This page (one document: a reload is a new page). */
  pageId: string;
  /** The real client, made when this tab becomes the leader. */
  createClient(): SharedClient;
  /**
   * Where the page's lifecycle events come: `freeze` and `resume` at the document, `pagehide`
   * and `pageshow` at the window. Absent: the hub does not follow them.
   */
  lifecycle?: { win: LifecycleTarget; doc: LifecycleTarget };
  gatherMs?: number;
  pruneMs?: number;
}

/** Whether this browser can share one connection between its tabs. */
export function sharingSupported(): boolean {
  return typeof BroadcastChannel !== "undefined" && typeof navigator !== "undefined" && navigator.locks !== undefined;
}

export class TabHub {
  readonly client: TabClient;
  private leader: TabLeader | null = null;
  /** The page whose down messages count: the last to say `leader` or `welcome`. */
  private leaderPage: string | null = null;
  /** Ends this tab's hold on the leader lock (or its wait for it). */
  private releaseLeadership: (() => void) | null = null;
  private campaign: AbortController | null = null;
  private releasePageLock: (() => void) | null = null;
  private disposed = false;
  /** From `freeze` or `pagehide` until `resume` or `pageshow`: out of the hub, as if closed. */
  private asleep = false;
  /** Another tab has led while this page lived. */
  private otherLeaderSeen = false;
  private readonly unlisten: () => void;
  private readonly onMessage = (ev: MessageEvent) => this.receive(ev.data);

  constructor(
    private readonly env: TabHubEnv,
    options: Omit<TabClientOptions, "up" | "onStop">,
  ) {
    this.client = new TabClient({ ...options, up: (body) => this.up(body), onStop: () => this.dispose() });
    env.channel.addEventListener("message", this.onMessage);
    void env.locks
      .request(pageLockName(env.pageId), {}, () => new Promise<void>((release) => (this.releasePageLock = release)))
      .catch(() => undefined);
    this.unlisten = this.followLifecycle();
    // A leader already there answers with `welcome`; none yet: the first to get the lock says `leader`.
    this.up(this.client.hello());
    this.runForLeader();
  }

  /**
   * The session ended (signed out here, or the server said so): every tab of this browser shares
   * the cookie, so every tab ends it too. Then this tab lets go.
   */
  endSession(): void {
    if (this.disposed) return;
    this.post({ dir: "down", from: this.env.pageId, body: { type: "signedOut" } });
    this.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stepDown();
    this.post({ dir: "up", from: this.env.pageId, body: { type: "bye" } });
    this.unlisten();
    this.releasePageLock?.();
    this.env.channel.removeEventListener("message", this.onMessage);
    this.env.channel.close();
  }

  // ---------------------------------------------------------------------------
  // Leadership

  /** Called when the page opens and when it wakes (its sleep ended any campaign before). */
  private runForLeader(): void {
    const campaign = new AbortController();
    this.campaign = campaign;
    void this.env.locks
      .request(TAB_LEADER_LOCK, { signal: campaign.signal }, () => {
        if (this.disposed || campaign.signal.aborted) return Promise.resolve();
        return new Promise<void>((release) => {
          this.releaseLeadership = release;
          this.becomeLeader();
        });
      })
      // Aborted while waiting (stepping down, disposed): nothing was held.
      .catch(() => undefined);
  }

  private becomeLeader(): void {
    // Taking over from another leader, wait for the tabs' positions before connecting; the
    // browser's first leader connects at once (a tab that opens meanwhile still gets its due).
    const takingOver = this.leaderPage !== null || this.otherLeaderSeen;
    this.leaderPage = this.env.pageId;
    this.leader = new TabLeader({
      client: this.env.createClient(),
      self: this.env.pageId,
      broadcast: (body, to) => this.broadcast(body, to),
      alivePages: () => this.alivePages(),
      gatherMs: takingOver ? this.env.gatherMs : 0,
      pruneMs: this.env.pruneMs,
    });
  }

  /** Lets go of the lock, or of the wait for it; the connection (when leading) ends. */
  private stepDown(): void {
    this.campaign?.abort();
    this.campaign = null;
    if (this.leader) {
      this.leader.stop();
      this.leader = null;
      this.leaderPage = null;
      this.client.leaderLost();
    }
    this.releaseLeadership?.();
    this.releaseLeadership = null;
  }

  /**
   * A frozen page runs no code, and a page in the back/forward cache is gone until it comes
   * back: neither may hold the connection, nor be handed it while it sleeps. A page that closes
   * lets go at once too, so the next leader need not wait for the document to be torn down.
   */
  private followLifecycle(): () => void {
    const target = this.env.lifecycle;
    if (!target) return () => undefined;
    const sleep = () => {
      if (this.disposed || this.asleep) return;
      this.stepDown();
      this.post({ dir: "up", from: this.env.pageId, body: { type: "bye" } });
      this.asleep = true;
    };
    const wake = (ev: Event) => {
      if (this.disposed || !this.asleep || (ev.type === "pageshow" && !(ev as PageTransitionEvent).persisted)) return;
      this.asleep = false;
      this.runForLeader();
      this.up(this.client.hello());
    };
    const events: [LifecycleTarget, string, (ev: Event) => void][] = [
      [target.doc, "freeze", sleep],
      [target.doc, "resume", wake],
      [target.win, "pagehide", sleep],
      [target.win, "pageshow", wake],
    ];
    for (const [on, type, fn] of events) on.addEventListener(type, fn);
    return () => {
      for (const [on, type, fn] of events) on.removeEventListener(type, fn);
    };
  }

  private async alivePages(): Promise<Set<string>> {
    const { held = [] } = await this.env.locks.query();
    const prefix = pageLockName("");
    const alive = new Set<string>();
    for (const lock of held) if (lock.name?.startsWith(prefix)) alive.add(lock.name.slice(prefix.length));
    return alive;
  }

  // ---------------------------------------------------------------------------
  // Routing

  /** From this tab's client to the leader: this tab's own, or over the channel. */
  private up(body: UpBody): void {
    if (this.disposed || this.asleep) return;
    if (this.leader) {
      const leader = this.leader;
      // As over the channel, never within the caller's own call.
      queueMicrotask(() => {
        if (this.leader === leader) leader.handle(this.env.pageId, body);
      });
    } else this.post({ dir: "up", from: this.env.pageId, body });
  }

  /** From the leader (this tab) to every tab, or to page `to`. */
  private broadcast(body: DownBody, to?: string): void {
    const message: TabMessage = to === undefined ? { dir: "down", from: this.env.pageId, body } : { dir: "down", from: this.env.pageId, to, body };
    if (to !== this.env.pageId) this.post(message);
    if (to === undefined || to === this.env.pageId) queueMicrotask(() => this.down(message));
  }

  private post(message: TabMessage): void {
    try {
      this.env.channel.postMessage(message);
    } catch {
      // A closed channel (the page is going away): nobody is left to tell.
    }
  }

  private receive(data: unknown): void {
    const parsed = tabMessageSchema.safeParse(data);
    // Not ours (another version of the page): ignored.
    if (!parsed.success || this.disposed || this.asleep) return;
    const message = parsed.data;
    if (message.dir === "up") {
      this.leader?.handle(message.from, message.body);
      return;
    }
    this.down(message);
  }

  private down(message: Extract<TabMessage, { dir: "down" }>): void {
    if (this.disposed) return;
    if (message.to !== undefined && message.to !== this.env.pageId) return;
    const { body, from } = message;
    const self = from === this.env.pageId;
    switch (body.type) {
      case "leader":
        // Only the lock's holder says it; a tab that leads itself hears only its own.
        if (this.leader && !self) return;
        this.leaderPage = from;
        this.otherLeaderSeen ||= !self;
        return this.client.leaderChanged(self);
      case "welcome":
        if (this.leader && !self) return;
        this.leaderPage = from;
        this.otherLeaderSeen ||= !self;
        return this.client.welcomed(self);
      case "signedOut":
        // Any tab may say it: the cookie is the whole browser's.
        return this.client.handleDown(body);
      default:
        if (from === this.leaderPage) this.client.handleDown(body);
    }
  }
}
