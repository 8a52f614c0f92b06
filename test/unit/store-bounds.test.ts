// Long-lived tabs stay small: the open room, the feed and the mentions keep their newest items
// up to a bound (older ones are a page away over HTTP), and the unread count stays exact.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useFeed, MAX_FEED_EVENTS, type FeedEvent } from "../../lib/store/feed";
import { MAX_MENTIONS, unreadByRoom, unreadCount, useNotifications, type MentionEvent } from "../../lib/store/notifications";
import { MAX_MESSAGES, useRoom, type MessageEvent } from "../../lib/store/room";
import { RealtimeClient } from "../../lib/realtime/client";
import { FakeSockets } from "../helpers/fake-socket";

const actor = { id: "u_ada", name: "Ada" };
const at = new Date(0).toISOString();
const message = (seq: number): MessageEvent => ({ stream: "room:general", seq, type: "message", actor, at, data: { text: `m${seq}`, clientId: `c${seq}` } });
const posted = (seq: number): FeedEvent => ({ stream: "feed", seq, type: "message.posted", actor, at, data: { roomId: "general", seq, preview: "hi" } });
const mention = (seq: number): MentionEvent => ({ stream: "user:u_lin", seq, type: "mention", actor, at, data: { roomId: "general", seq, preview: "@Lin" } });

let requests: string[];
beforeEach(() => {
  vi.useFakeTimers();
  requests = [];
  vi.stubGlobal("fetch", (url: string) => {
    requests.push(url);
    return Promise.resolve(new Response(JSON.stringify({ events: [], hasMore: false }), { headers: { "Content-Type": "application/json" } }));
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("the open room", () => {
  it("keeps the newest messages as live ones arrive, and says older ones can be fetched again", () => {
    useRoom.getState().open("general");
    for (let seq = 1; seq <= MAX_MESSAGES + 250; seq++) useRoom.getState().receive(message(seq));
    const { messages, hasMore } = useRoom.getState();
    expect(messages).toHaveLength(MAX_MESSAGES);
    expect(messages[0]!.seq).toBe(251);
    expect(messages.at(-1)!.seq).toBe(MAX_MESSAGES + 250);
    expect(hasMore).toBe(true);
  });

  it("pages back past the bound by dropping the newest end, then pages forward to the live end", async () => {
    useRoom.getState().open("general");
    const pageOf = (from: number, to: number, hasMore: boolean) => ({ events: Array.from({ length: to - from + 1 }, (_, i) => message(from + i)), hasMore });
    const answers: Array<ReturnType<typeof pageOf>> = [];
    vi.stubGlobal("fetch", (url: string) => {
      requests.push(url);
      return Promise.resolve(new Response(JSON.stringify(answers.shift()), { headers: { "Content-Type": "application/json" } }));
    });
    // The newest MAX_MESSAGES of a room of 5,000, then one page further back.
    answers.push(pageOf(5001 - 100, 5000, true));
    await useRoom.getState().loadNewest();
    useRoom.setState({ messages: Array.from({ length: MAX_MESSAGES }, (_, i) => message(5001 - MAX_MESSAGES + i)) });
    answers.push(pageOf(5001 - MAX_MESSAGES - 100, 5000 - MAX_MESSAGES, true));
    await useRoom.getState().loadOlder();
    let s = useRoom.getState();
    expect(s.messages).toHaveLength(MAX_MESSAGES);
    expect(s.messages[0]!.seq).toBe(5001 - MAX_MESSAGES - 100);
    expect(s.hasNewer).toBe(true);
    // Live messages meanwhile wait: appending them would leave a gap.
    useRoom.getState().receive([message(5001), message(5002)]);
    expect(useRoom.getState().messages.at(-1)!.seq).toBe(4900);
    // Forward again: the last page reaches the head, and the live ones follow it.
    answers.push(pageOf(4901, 5000, false));
    await useRoom.getState().loadNewer();
    s = useRoom.getState();
    expect(requests.at(-1)).toBe("/api/rooms/general/events?limit=100&after=4900");
    expect(s.messages.at(-1)!.seq).toBe(5002);
    expect(s.messages).toHaveLength(MAX_MESSAGES);
    expect(s.hasNewer).toBe(false);
    expect(s.hasMore).toBe(true);
  });

  it("still pages older messages below the bound", async () => {
    useRoom.getState().open("general");
    useRoom.setState({ hasMore: true, status: "ready" });
    for (let seq = 100; seq <= 120; seq++) useRoom.getState().receive(message(seq));
    await useRoom.getState().loadOlder();
    expect(requests).toEqual(["/api/rooms/general/events?limit=100&before=100"]);
  });
});

describe("the activity feed", () => {
  it("keeps the newest items as live ones arrive", () => {
    useFeed.getState().reset();
    for (let seq = 1; seq <= MAX_FEED_EVENTS + 100; seq++) useFeed.getState().receive(posted(seq));
    const { events, hasMore } = useFeed.getState();
    expect(events).toHaveLength(MAX_FEED_EVENTS);
    expect(events[0]!.seq).toBe(101);
    expect(hasMore).toBe(true);
  });

  it("shows no older items past the bound", async () => {
    useFeed.getState().reset();
    for (let seq = 1; seq <= MAX_FEED_EVENTS + 1; seq++) useFeed.getState().receive(posted(seq));
    await useFeed.getState().loadOlder();
    expect(requests).toEqual([]);
  });
});

describe("mentions", () => {
  it("keep the newest; the unread count is of mentions after the marker, at most the bound (shown 99+)", () => {
    useNotifications.getState().reset();
    useNotifications.getState().readUpTo(10);
    for (let seq = 1; seq <= MAX_MENTIONS + 50; seq++) useNotifications.getState().receive(mention(seq));
    const state = useNotifications.getState();
    expect(state.mentions).toHaveLength(MAX_MENTIONS);
    expect(state.mentions[0]!.seq).toBe(51);
    expect(unreadCount(state, {})).toBe(MAX_MENTIONS);
    expect(state.toasts.length).toBeLessThanOrEqual(3);
  });

  it("count mentions, not positions: a person's stream also carries their private rooms' messages", () => {
    useNotifications.getState().reset();
    useNotifications.getState().readUpTo(2);
    for (const seq of [1, 5, 9]) useNotifications.getState().receive(mention(seq));
    expect(unreadCount(useNotifications.getState(), {})).toBe(2);
  });

  it("a mention whose room is read past its message is read, wherever the room was read", () => {
    useNotifications.getState().reset();
    for (const seq of [3, 7, 12]) useNotifications.getState().receive(mention(seq));
    const state = useNotifications.getState();
    expect(unreadCount(state, { general: { readSeq: 2 } })).toBe(3);
    // Read up to message 7 of the room: the mentions in messages 3 and 7 are read; 12 waits.
    expect(unreadCount(state, { general: { readSeq: 7 } })).toBe(1);
    expect(unreadCount(state, { random: { readSeq: 99 } })).toBe(3);
  });

  it("a mention in a message deleted since waits for no one: listed, not counted", () => {
    useNotifications.getState().reset();
    for (const seq of [3, 7]) useNotifications.getState().receive(mention(seq));
    expect(unreadCount(useNotifications.getState(), {})).toBe(2);
    // The message of the second was deleted (1.18's notice, or message.deleted from the room).
    useNotifications.getState().messageChanged("general", 7, "");
    const state = useNotifications.getState();
    expect(state.mentions).toHaveLength(2);
    expect(unreadCount(state, {})).toBe(1);
    expect(unreadByRoom(state, {})).toEqual({ general: 1 });
  });

  it("count per room what waits there, for a sidebar that shows a muted room's mentions (1.12)", () => {
    useNotifications.getState().reset();
    for (const seq of [3, 7, 12]) useNotifications.getState().receive(mention(seq));
    useNotifications.getState().receive({ ...mention(20), data: { roomId: "random", seq: 4, preview: "@Lin" } });
    const state = useNotifications.getState();
    expect(unreadByRoom(state, { general: { readSeq: 7 } })).toEqual({ general: 1, random: 1 });
    expect(unreadByRoom(state, { general: { readSeq: 12 }, random: { readSeq: 4 } })).toEqual({});
  });

  it("keep a room's mentions waiting there after the bell is opened, until the room is read", () => {
    useNotifications.getState().reset();
    for (const seq of [3, 7]) useNotifications.getState().receive(mention(seq));
    // The bell opened: its marker is past both, and it counts none.
    const state = { ...useNotifications.getState(), readSeq: 99 };
    expect(unreadCount(state, {})).toBe(0);
    expect(unreadByRoom(state, {})).toEqual({ general: 2 });
    expect(unreadByRoom(state, { general: { readSeq: 7 } })).toEqual({});
  });
});

describe("the client's send times", () => {
  it("forgets a discarded message's send time", () => {
    const sockets = new FakeSockets();
    const client = new RealtimeClient({ baseUrl: "http://app.test", transport: "websocket", createWebSocket: sockets.create, fetch: () => Promise.reject(new Error("down")) });
    client.start();
    client.join("general", 0);
    sockets.last.open();
    const entry = client.send("general", "x".repeat(10))!;
    sockets.last.receive({ type: "error", code: "invalid_text", message: "no", clientId: entry.clientId });
    // Inside look: the outbox's map of send times is private; it must not keep entries that are gone.
    const sentAt = (client as unknown as { outbox: { sentAt: Map<string, number> } }).outbox.sentAt;
    expect(sentAt.has(entry.clientId)).toBe(true);
    client.discard(entry.clientId);
    expect(sentAt.size).toBe(0);
    client.stop();
  });
});
