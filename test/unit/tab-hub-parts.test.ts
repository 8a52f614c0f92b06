// The tab hub's parts (lib/realtime/tab-hub.ts), one page at a time: what it says on the
// channel, which messages it takes and from whom, the Web Locks it holds and lets go, the
// page's lifecycle, and when a new leader connects. The channel is a fake one browser's tabs
// share (the test listens on it and speaks as other pages would), the locks are fake, the
// leader's client is fake, and the clock is fake: each test runs in milliseconds.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RealtimeEvent } from "../../lib/protocol";
import { sharingSupported, TabHub, type TabHubEnv } from "../../lib/realtime/tab-hub";
import { pageLockName, TAB_LEADER_LOCK, type ChannelLike, type DownBody, type LocksLike, type TabMessage, type UpBody } from "../../lib/realtime/tab-protocol";
import { FakeLocks, FakeSharedClient } from "../helpers/fake-tabs";
import { pass, settle } from "../helpers/fake-time";

/** One browser's broadcast channel: what one end posts reaches every other open end, a turn later. */
class Bus {
  readonly ends = new Set<FakeChannel>();
  /** What a listener threw: in a browser, an uncaught error in the page. */
  readonly errors: unknown[] = [];
  open(): FakeChannel {
    const end = new FakeChannel(this);
    this.ends.add(end);
    return end;
  }
}

class FakeChannel implements ChannelLike {
  private readonly listeners = new Set<(ev: MessageEvent) => void>();
  closed = false;
  constructor(private readonly bus: Bus) {}
  postMessage(message: unknown): void {
    // As the browser's: a closed channel refuses.
    if (this.closed) throw new DOMException("BroadcastChannel is closed.", "InvalidStateError");
    const data: unknown = structuredClone(message);
    for (const end of this.bus.ends) if (end !== this) queueMicrotask(() => end.deliver(data));
  }
  deliver(data: unknown): void {
    if (this.closed) return;
    for (const listener of [...this.listeners]) {
      try {
        listener({ data } as MessageEvent);
      } catch (err) {
        this.bus.errors.push(err);
      }
    }
  }
  addEventListener(type: "message", listener: (ev: MessageEvent) => void): void {
    if (type === "message") this.listeners.add(listener);
  }
  removeEventListener(type: "message", listener: (ev: MessageEvent) => void): void {
    if (type === "message") this.listeners.delete(listener);
  }
  close(): void {
    this.closed = true;
    this.bus.ends.delete(this);
  }
  get listening(): number {
    return this.listeners.size;
  }
}

/** Where the page's lifecycle events come from, counting who listens. */
class Lifecycle extends EventTarget {
  readonly listening = new Map<string, number>();
  override addEventListener(type: string, fn: EventListenerOrEventListenerObject | null): void {
    this.listening.set(type, (this.listening.get(type) ?? 0) + 1);
    super.addEventListener(type, fn);
  }
  override removeEventListener(type: string, fn: EventListenerOrEventListenerObject | null): void {
    this.listening.set(type, (this.listening.get(type) ?? 0) - 1);
    super.removeEventListener(type, fn);
  }
}

function pageshow(persisted: boolean): Event {
  return Object.assign(new Event("pageshow"), { persisted });
}

const hubs: TabHub[] = [];
let ids = 0;

beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] }));

afterEach(() => {
  for (const hub of hubs.splice(0)) hub.dispose();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** A one-line picture of a message on the channel: `up pb join`, `down pa>pb welcome`. */
function line(m: TabMessage): string {
  return `${m.dir} ${m.from}${m.dir === "down" && m.to !== undefined ? `>${m.to}` : ""} ${m.body.type}`;
}

/** A feed event, as the shared client emits it. */
function roomCreated(seq: number): RealtimeEvent {
  return { stream: "feed", seq, type: "room.created", actor: { id: "u_2", name: "Bo" }, at: new Date(0).toISOString(), data: { roomId: `r${seq}`, name: "r" } };
}

/** The same, as the leader broadcasts it. */
function feedEvent(seq: number): DownBody {
  return { type: "event", event: roomCreated(seq) };
}

/** One browser: its locks, its channel (which the test listens on and speaks into), its tabs. */
function browser() {
  const fakeLocks = new FakeLocks();
  const bus = new Bus();
  const clients: FakeSharedClient[] = [];
  const wire = bus.open();
  const said: TabMessage[] = [];
  wire.addEventListener("message", (ev) => said.push(ev.data as TabMessage));

  function open(pageId: string, env: Partial<TabHubEnv> = {}) {
    const channel = bus.open();
    const hub = new TabHub(
      {
        locks: fakeLocks.forPage(pageId),
        channel,
        pageId,
        createClient: () => {
          const c = new FakeSharedClient();
          clients.push(c);
          return c;
        },
        gatherMs: 100,
        pruneMs: 5_000,
        ...env,
      },
      { feedStreams: ["feed"], mode: "auto", newClientId: () => `c-${++ids}` },
    );
    hubs.push(hub);
    const heard = { events: [] as string[], signedOut: 0, typing: [] as string[] };
    hub.client.on("typing", (x) => heard.typing.push(`${x.room}:${x.users.map((u) => u.name).join(",")}`));
    hub.client.on("event", (e) => heard.events.push(`${e.stream}#${e.seq}`));
    hub.client.on("signedOut", () => heard.signedOut++);
    return { pageId, hub, client: hub.client, channel, heard };
  }

  return {
    locks: fakeLocks,
    clients,
    errors: bus.errors,
    open,
    /** The client the tab leading now made. */
    get leaderClient(): FakeSharedClient {
      return clients.at(-1)!;
    },
    /** What the tabs said on the channel, one line each; `clear` forgets it. */
    said: (filter?: (m: TabMessage) => boolean) => said.filter(filter ?? (() => true)).map(line),
    raw: said,
    clear: () => void said.splice(0),
    /** Speaks on the channel as another page would. */
    say: (message: unknown) => wire.postMessage(message),
    down: (from: string, body: DownBody, to?: string) => wire.postMessage(to === undefined ? { dir: "down", from, body } : { dir: "down", from, to, body }),
    up: (from: string, body: UpBody) => wire.postMessage({ dir: "up", from, body }),
    /** Page `id`, not a hub here, holds the leader lock until `release()`. */
    holdLeaderLock(id: string): () => void {
      let release!: () => void;
      void fakeLocks.forPage(id).request(TAB_LEADER_LOCK, {}, () => new Promise<void>((r) => (release = r)));
      return () => release();
    },
  };
}

/** Web Locks whose grants the test hands out, late if it likes (as a browser may, racing an abort). */
/** The page is frozen and resumed (a sleep the browser chose). */
async function sleepAndWake(doc: EventTarget): Promise<void> {
  doc.dispatchEvent(new Event("freeze"));
  doc.dispatchEvent(new Event("resume"));
  await settle();
}

/** The new leader's client connects only once the gathering time (100 ms here) has passed. */
async function connectsAfterGathering(b: ReturnType<typeof browser>): Promise<void> {
  await pass(99);
  expect(b.leaderClient.started).toBe(false);
  await pass(1);
  expect(b.leaderClient.started).toBe(true);
}

function slowLocks() {
  const asked: { name: string; signal?: AbortSignal; grant: () => Promise<unknown> }[] = [];
  const locks: LocksLike & { asked: typeof asked } = {
    asked,
    request: (name, options, callback) => {
      let done!: (v: unknown) => void;
      const p = new Promise((r) => (done = r));
      asked.push({ name, signal: options.signal, grant: () => callback({ name }).then(done) });
      return p;
    },
    query: async () => ({ held: [] }),
  };
  return locks;
}

const hello = (started = false): UpBody => ({ type: "hello", started, rooms: [], feed: {}, outbox: [], canvases: [] });

describe("whether a browser can share", () => {
  it("needs both BroadcastChannel and Web Locks", () => {
    vi.stubGlobal("navigator", undefined);
    expect(sharingSupported()).toBe(false);
    vi.stubGlobal("navigator", {});
    expect(sharingSupported()).toBe(false);
    vi.stubGlobal("navigator", { locks: {} });
    expect(sharingSupported()).toBe(true);
    vi.stubGlobal("BroadcastChannel", undefined);
    expect(sharingSupported()).toBe(false);
  });
});

describe("the first tab", () => {
  it("says hello, takes the lock, says it leads, and holds its page lock", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    // Alone, what it leads it tells only itself: the channel carries its hello and its claim.
    expect(b.said()).toEqual(["up pa hello", "down pa leader"]);
    // A broadcast carries no addressee at all.
    expect(b.raw[1]).toStrictEqual({ dir: "down", from: "pa", body: { type: "leader" } });
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pa");
    expect(b.locks.holder(pageLockName("pa"))).toBe("pa");
    expect(b.clients).toHaveLength(1);
    expect(a.client.getStatus().sharing).toEqual({ role: "leader", tabs: 1 });
  });

  it("connects at once when the page starts: no tab before it holds anything to wait for", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    a.client.start();
    await settle();
    await pass(0);
    expect(b.leaderClient.started).toBe(true);
  });

  it("serves its own page without the channel, and never within the page's own call", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.clear();
    a.client.join("design", 4);
    expect(b.leaderClient.calls).toEqual([]);
    await settle();
    expect(b.leaderClient.calls).toEqual(["join design 4"]);
    expect(b.said((m) => m.dir === "up")).toEqual([]);
  });

  it("answers another tab's hello to that tab alone, and its own page hears the shared client", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.clear();
    b.up("px", hello());
    await settle();
    expect(b.said((m) => m.body.type !== "status")).toEqual(["down pa>px welcome", "down pa>px outbox"]);
    expect(b.raw.find((m) => m.body.type === "welcome")).toStrictEqual({ dir: "down", from: "pa", to: "px", body: { type: "welcome" } });
    b.leaderClient.emit("event", roomCreated(3));
    await settle();
    expect(a.heard.events).toEqual(["feed#3"]);
    expect(b.said((m) => m.body.type === "event")).toEqual(["down pa event"]);
  });

  it("alone, keeps the shared client's events off the channel; with another tab, puts them on it until that tab says bye", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.clear();
    b.leaderClient.emit("event", roomCreated(1));
    await settle();
    expect(a.heard.events).toEqual(["feed#1"]);
    expect(b.said()).toEqual([]);
    b.up("px", hello());
    await settle();
    b.clear();
    b.leaderClient.emit("event", roomCreated(2));
    await settle();
    expect(a.heard.events).toEqual(["feed#1", "feed#2"]);
    expect(b.said()).toEqual(["down pa event"]);
    b.up("px", { type: "bye" });
    await settle();
    b.clear();
    b.leaderClient.emit("event", roomCreated(3));
    b.leaderClient.emit("signedOut", undefined);
    await settle();
    expect(a.heard.events).toEqual(["feed#1", "feed#2", "feed#3"]);
    // A sign-out is the whole browser's: it goes on the channel, alone or not.
    expect(b.said()).toEqual(["down pa signedOut"]);
  });

  it("hears what the leader says to its page alone: who types in a room it starts in", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.up("px", { type: "join", room: "design" });
    await settle();
    b.leaderClient.emit("typing", { room: "design", users: [{ id: "u_2", name: "Bo" }] });
    await settle();
    expect(a.heard.typing).toEqual([]);
    a.client.join("design");
    a.client.start();
    await settle();
    expect(a.heard.typing).toEqual(["design:Bo"]);
    expect(b.said((m) => m.dir === "down" && m.to === "pa")).toEqual([]);
  });

  it("hands another tab's up messages to the shared client", async () => {
    const b = browser();
    b.open("pa");
    await settle();
    b.up("px", { type: "join", room: "ops", since: 2 });
    await settle();
    expect(b.leaderClient.calls).toEqual(["join ops 2"]);
  });

  it("does not listen to another page claiming to lead: it hears only its own", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.down("px", { type: "leader" });
    b.down("px", { type: "welcome" }, "pa");
    b.down("px", feedEvent(1));
    await settle();
    expect(a.client.getStatus().sharing.role).toBe("leader");
    expect(a.heard.events).toEqual([]);
    b.leaderClient.emit("event", roomCreated(2));
    await settle();
    expect(a.heard.events).toEqual(["feed#2"]);
  });
});

describe("a follower", () => {
  it("says hello, and again to each leader that announces itself", async () => {
    const b = browser();
    b.holdLeaderLock("px");
    const t = b.open("pb");
    await settle();
    expect(b.said()).toEqual(["up pb hello"]);
    expect(b.clients).toHaveLength(0);
    b.down("px", { type: "leader" });
    await settle();
    expect(b.said()).toEqual(["up pb hello", "up pb hello"]);
    t.client.join("ops");
    await settle();
    expect(b.said().at(-1)).toBe("up pb join");
  });

  it("takes down messages only from the page that last said it leads or welcomed it", async () => {
    const b = browser();
    b.holdLeaderLock("px");
    const t = b.open("pb");
    await settle();
    // Before any leader is known, nobody's events count.
    b.down("px", feedEvent(1));
    await settle();
    expect(t.heard.events).toEqual([]);

    b.down("px", { type: "welcome" }, "pb");
    b.down("px", feedEvent(2));
    b.down("py", feedEvent(3));
    await settle();
    expect(t.heard.events).toEqual(["feed#2"]);

    // A new leader: the old one is not heard any more.
    b.down("py", { type: "leader" });
    b.down("px", feedEvent(4));
    b.down("py", feedEvent(5));
    await settle();
    expect(t.heard.events).toEqual(["feed#2", "feed#5"]);
  });

  it("takes what is addressed to it, and not what is addressed to another page", async () => {
    const b = browser();
    b.holdLeaderLock("px");
    const t = b.open("pb");
    await settle();
    b.down("px", { type: "leader" });
    b.down("px", feedEvent(1), "pz");
    b.down("px", feedEvent(2), "pb");
    await settle();
    expect(t.heard.events).toEqual(["feed#2"]);
  });

  it("hears a sign-out from any tab", async () => {
    const b = browser();
    b.holdLeaderLock("px");
    const t = b.open("pb");
    await settle();
    b.down("pz", { type: "signedOut" });
    await settle();
    expect(t.heard.signedOut).toBe(1);
  });

  it("ignores what is not the tabs' protocol, and other tabs' up messages", async () => {
    const b = browser();
    b.holdLeaderLock("px");
    const t = b.open("pb");
    await settle();
    b.say(null);
    b.say("hello");
    b.say({ dir: "down", from: "px", body: { type: "nope" } });
    b.say({ dir: "sideways", from: "px", body: { type: "leader" } });
    b.up("py", { type: "join", room: "ops" });
    await settle();
    expect(b.errors).toEqual([]);
    expect(t.client.getStatus().sharing.role).toBe("follower");
    b.down("px", { type: "leader" });
    b.down("px", feedEvent(1));
    await settle();
    expect(t.heard.events).toEqual(["feed#1"]);
  });
});

describe("a new leader", () => {
  it("taking over from another, waits for the tabs' hellos before connecting", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t = b.open("pb");
    await settle();
    for (const x of [a, t]) x.client.start();
    await settle();
    await pass(0);
    expect(b.clients[0]!.started).toBe(true);
    a.hub.dispose();
    await settle();
    expect(b.clients).toHaveLength(2);
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pb");
    await connectsAfterGathering(b);
  });

  it("that has heard another tab lead, waits too when it leads again after a sleep", async () => {
    const b = browser();
    const release = b.holdLeaderLock("px");
    const doc = new Lifecycle();
    const t = b.open("pb", { lifecycle: { win: new Lifecycle(), doc } });
    await settle();
    b.down("px", { type: "leader" });
    await settle();
    release();
    t.client.start();
    await settle();
    await pass(100);
    expect(b.leaderClient.started).toBe(true);

    await sleepAndWake(doc);
    expect(b.clients).toHaveLength(2);
    await connectsAfterGathering(b);
  });

  it("that was welcomed by another, waits too when it leads again after a sleep", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const doc = new Lifecycle();
    const t = b.open("pb", { lifecycle: { win: new Lifecycle(), doc } });
    t.client.start();
    await settle();
    a.hub.dispose();
    await settle();
    await pass(100);
    expect(b.leaderClient.started).toBe(true);

    await sleepAndWake(doc);
    expect(b.clients).toHaveLength(3);
    await connectsAfterGathering(b);
  });

  it("alone in its browser, connects again at once after a sleep", async () => {
    const b = browser();
    const doc = new Lifecycle();
    const a = b.open("pa", { lifecycle: { win: new Lifecycle(), doc } });
    a.client.start();
    await settle();
    await pass(0);
    doc.dispatchEvent(new Event("freeze"));
    await settle();
    expect(b.clients[0]!.stopped).toBe(true);
    doc.dispatchEvent(new Event("resume"));
    await settle();
    await pass(0);
    expect(b.clients).toHaveLength(2);
    expect(b.leaderClient.started).toBe(true);
  });

  it("is not made when the lock comes after the tab closed: the lock goes straight back", async () => {
    const b = browser();
    const locks = slowLocks();
    const t = b.open("pb", { locks });
    await settle();
    const campaign = locks.asked.find((x) => x.name === TAB_LEADER_LOCK)!;
    t.hub.dispose();
    expect(campaign.signal?.aborted).toBe(true);
    // The browser granted it just before the abort: the tab gives it back at once.
    let givenBack = false;
    void campaign.grant().then(() => (givenBack = true));
    await settle();
    expect(givenBack).toBe(true);
    expect(b.clients).toEqual([]);
  });

  it("is not made when the lock comes after the tab fell asleep: the lock goes straight back", async () => {
    const b = browser();
    const locks = slowLocks();
    const doc = new Lifecycle();
    b.open("pb", { locks, lifecycle: { win: new Lifecycle(), doc } });
    await settle();
    const campaign = locks.asked.find((x) => x.name === TAB_LEADER_LOCK)!;
    doc.dispatchEvent(new Event("freeze"));
    let givenBack = false;
    void campaign.grant().then(() => (givenBack = true));
    await settle();
    expect(givenBack).toBe(true);
    expect(b.clients).toEqual([]);
  });
});

describe("the page's lifecycle", () => {
  it("a frozen leader lets go and stays out until it resumes, then comes back as a follower", async () => {
    const b = browser();
    const doc = new Lifecycle();
    const a = b.open("pa", { lifecycle: { win: new Lifecycle(), doc } });
    await settle();
    const t = b.open("pb");
    t.client.start();
    await settle();
    const first = b.leaderClient;
    b.clear();

    doc.dispatchEvent(new Event("freeze"));
    doc.dispatchEvent(new Event("freeze"));
    await settle();
    expect(first.stopped).toBe(true);
    expect(b.said((m) => m.from === "pa")).toEqual(["up pa bye"]);
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pb");
    expect(a.client.getStatus().sharing.role).toBe("follower");

    // Asleep: what the page does is not sent, and what the leader says is not heard.
    a.client.join("design");
    b.leaderClient.emit("event", roomCreated(1));
    await settle();
    expect(b.said((m) => m.from === "pa")).toEqual(["up pa bye"]);
    expect(a.heard.events).toEqual([]);

    b.clear();
    doc.dispatchEvent(new Event("resume"));
    doc.dispatchEvent(new Event("resume"));
    await settle();
    expect(b.said((m) => m.from === "pa")).toEqual(["up pa hello"]);
    expect(a.client.getStatus().sharing.role).toBe("follower");
    expect(b.leaderClient.calls).toContain("join design");
    b.leaderClient.emit("event", roomCreated(2));
    await settle();
    expect(a.heard.events).toEqual(["feed#2"]);
  });

  it("pagehide sleeps, and only a pageshow from the back/forward cache wakes", async () => {
    const b = browser();
    b.holdLeaderLock("px");
    const win = new Lifecycle();
    const t = b.open("pb", { lifecycle: { win, doc: new Lifecycle() } });
    await settle();
    b.clear();
    win.dispatchEvent(new Event("pagehide"));
    await settle();
    expect(b.said()).toEqual(["up pb bye"]);
    win.dispatchEvent(pageshow(false));
    t.client.join("ops");
    await settle();
    expect(b.said()).toEqual(["up pb bye"]);
    win.dispatchEvent(pageshow(true));
    await settle();
    expect(b.said()).toEqual(["up pb bye", "up pb hello"]);
  });

  it("a sleeping follower gives up its place in the line for the lock, and takes one again when it wakes", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const doc = new Lifecycle();
    const t = b.open("pb", { lifecycle: { win: new Lifecycle(), doc } });
    const c = b.open("pc");
    await settle();
    doc.dispatchEvent(new Event("freeze"));
    a.hub.dispose();
    await settle();
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pc");
    doc.dispatchEvent(new Event("resume"));
    await settle();
    expect(t.client.getStatus().sharing.role).toBe("follower");
    c.hub.dispose();
    await settle();
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pb");
  });

  it("follows freeze and resume on the document, pagehide and pageshow on the window, until disposed", async () => {
    const b = browser();
    const win = new Lifecycle();
    const doc = new Lifecycle();
    const a = b.open("pa", { lifecycle: { win, doc } });
    await settle();
    expect(Object.fromEntries(doc.listening)).toEqual({ freeze: 1, resume: 1 });
    expect(Object.fromEntries(win.listening)).toEqual({ pagehide: 1, pageshow: 1 });
    a.hub.dispose();
    expect(Object.fromEntries(doc.listening)).toEqual({ freeze: 0, resume: 0 });
    expect(Object.fromEntries(win.listening)).toEqual({ pagehide: 0, pageshow: 0 });
  });

  it("a tab closed while asleep closes quietly, once", async () => {
    const b = browser();
    const doc = new Lifecycle();
    const a = b.open("pa", { lifecycle: { win: new Lifecycle(), doc } });
    await settle();
    doc.dispatchEvent(new Event("freeze"));
    await settle();
    b.clear();
    a.hub.dispose();
    doc.dispatchEvent(new Event("resume"));
    await settle();
    expect(b.said()).toEqual(["up pa bye"]);
    expect(b.locks.holder(pageLockName("pa"))).toBeUndefined();
  });
});

describe("closing", () => {
  it("a closing tab says bye once, lets go of its page lock and its channel", async () => {
    const b = browser();
    b.open("pa");
    await settle();
    const t = b.open("pb");
    await settle();
    b.clear();
    t.hub.dispose();
    t.hub.dispose();
    await settle();
    expect(b.said((m) => m.from === "pb")).toEqual(["up pb bye"]);
    expect(b.locks.holder(pageLockName("pb"))).toBeUndefined();
    expect(t.channel.closed).toBe(true);
    expect(t.channel.listening).toBe(0);
  });

  it("a closing leader ends its connection and the next tab leads", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t = b.open("pb");
    await settle();
    a.hub.dispose();
    await settle();
    expect(b.clients[0]!.stopped).toBe(true);
    expect(a.client.getStatus().sharing.role).toBe("follower");
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pb");
    expect(t.client.getStatus().sharing.role).toBe("leader");
  });

  it("what the leader's client says in the call that closes the tab does not reach its page", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.leaderClient.emit("event", roomCreated(1));
    a.hub.dispose();
    await settle();
    expect(a.heard.events).toEqual([]);
  });

  it("a sign-out the leader's client hears in the call that closes the tab does not reach its page", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    b.leaderClient.emit("signedOut", undefined);
    a.hub.dispose();
    await settle();
    expect(a.heard.signedOut).toBe(0);
  });

  it("a page that stops realtime lets go of it", async () => {
    const b = browser();
    b.open("pa");
    await settle();
    const t = b.open("pb");
    await settle();
    b.clear();
    t.client.stop();
    await settle();
    expect(b.said((m) => m.from === "pb")).toEqual(["up pb bye"]);
    expect(t.channel.closed).toBe(true);
  });

  it("ending the session tells every tab, then lets go; once", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t = b.open("pb");
    await settle();
    b.clear();
    t.hub.endSession();
    t.hub.endSession();
    await settle();
    expect(b.said((m) => m.from === "pb")).toEqual(["down pb signedOut", "up pb bye"]);
    expect(a.heard.signedOut).toBe(1);
    expect(t.channel.closed).toBe(true);
  });

  it("a tab whose channel the browser already closed closes quietly", async () => {
    const b = browser();
    b.open("pa");
    await settle();
    const t = b.open("pb");
    await settle();
    t.channel.close();
    expect(() => t.hub.endSession()).not.toThrow();
    await settle();
    expect(b.locks.holder(pageLockName("pb"))).toBeUndefined();
  });
});

describe("tabs that went away without a word", () => {
  it("the leader forgets a page whose page lock is gone, and keeps one that holds it", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    // py lives (it holds its page lock); px does not.
    void b.locks.forPage("py").request(pageLockName("py"), {}, () => new Promise(() => undefined));
    b.up("px", hello());
    b.up("py", hello());
    await settle();
    expect(a.client.getStatus().sharing.tabs).toBe(3);
    await pass(5_000);
    expect(a.client.getStatus().sharing.tabs).toBe(2);
  });

  it("only page locks count, and a lock with no name is skipped", async () => {
    const b = browser();
    const fake = b.locks.forPage("pa");
    const locks: LocksLike = {
      request: (name, options, callback) => fake.request(name, options, callback),
      // A lock of another name that ends like a page's id, and one with no name.
      query: async () => ({ held: [...((await fake.query()).held ?? []), { name: "rt-otherpx" }, {}] }),
    };
    const a = b.open("pa", { locks });
    await settle();
    b.up("px", hello());
    await settle();
    expect(a.client.getStatus().sharing.tabs).toBe(2);
    await pass(5_000);
    expect(a.client.getStatus().sharing.tabs).toBe(1);
  });
});
