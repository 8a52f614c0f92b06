// The chat panel's wording: who is typing, and how long ago.
import { describe, expect, it, vi } from "vitest";
import { badgeLabel, badgeParts, channelsDescription, charactersLeft, dayLabel, initials, messageTime, readableError, relativeTime, sameDay, typingLine, typingStarted } from "../../components/format";

const person = (name: string) => ({ id: `u_${name}`, name });

describe("typingLine", () => {
  it("names one or two people, and says 'several' for three or more", () => {
    expect(typingLine([])).toBe("");
    expect(typingLine([person("Ada")])).toBe("Ada is typing…");
    expect(typingLine([person("Ada"), person("Lin")])).toBe("Ada and Lin are typing…");
    expect(typingLine([person("Ada"), person("Lin"), person("Mo")])).toBe("Several people are typing…");
    expect(typingLine(["Ada", "Lin", "Mo", "Kay", "Sam"].map(person))).toBe("Several people are typing…");
  });
});

describe("typingStarted", () => {
  it("says who started, worded apart from the visible line", () => {
    expect(typingStarted([])).toBe("");
    expect(typingStarted([person("Ada")])).toBe("Ada started typing");
    expect(typingStarted([person("Ada"), person("Lin")])).toBe("Ada and Lin started typing");
    expect(typingStarted([person("Ada"), person("Lin"), person("Mo")])).toBe("Several people started typing");
  });
});

describe("relativeTime", () => {
  const now = Date.parse("2026-11-23T10:00:00.000Z");
  it("says just now, then minutes, hours and days", () => {
    expect(relativeTime("2026-11-23T09:59:30.000Z", now)).toBe("just now");
    expect(relativeTime("2026-11-23T09:55:00.000Z", now)).toBe("5 minutes ago");
    expect(relativeTime("2026-11-23T07:00:00.000Z", now)).toBe("3 hours ago");
    expect(relativeTime("2026-11-22T10:00:00.000Z", now)).toBe("yesterday");
  });
});

describe("message times and day headings", () => {
  // Local times: "today" is the reader's calendar day, wherever they are.
  const local = (month: number, day: number, hour: number, minute = 0, year = 2026) => new Date(year, month - 1, day, hour, minute).toISOString();
  const now = Date.parse(local(11, 23, 10, 0)); // Monday 23 November 2026, 10:00

  it("is relative today and absolute before it", () => {
    expect(messageTime(local(11, 23, 9, 55), now)).toBe("5 minutes ago");
    expect(messageTime(local(11, 23, 0, 5), now)).toBe("10 hours ago");
    expect(messageTime(local(11, 22, 23, 55), now)).toBe("Sun 11:55 PM");
    expect(messageTime(local(11, 17, 14, 5), now)).toBe("Tue 2:05 PM");
    expect(messageTime(local(11, 16, 14, 5), now)).toBe("Nov 16, 2:05 PM");
    expect(messageTime(local(12, 31, 14, 5, 2025), now)).toBe("Dec 31, 2025, 2:05 PM");
  });

  it("heads each day: Today, Yesterday, then the date", () => {
    expect(dayLabel(local(11, 23, 0, 1), now)).toBe("Today");
    expect(dayLabel(local(11, 22, 23, 59), now)).toBe("Yesterday");
    expect(dayLabel(local(11, 20, 12), now)).toBe("Friday, November 20");
    expect(dayLabel(local(3, 3, 12, 0, 2025), now)).toBe("March 3, 2025");
  });

  it("tells days apart at local midnight", () => {
    expect(sameDay(local(11, 22, 23, 59), local(11, 23, 0, 0))).toBe(false);
    expect(sameDay(local(11, 23, 0, 0), local(11, 23, 23, 59))).toBe(true);
  });
});

describe("charactersLeft", () => {
  it("counts what is left, and what is over the limit", () => {
    expect(charactersLeft(150)).toBe("150 characters left");
    expect(charactersLeft(1)).toBe("1 character left");
    expect(charactersLeft(0)).toBe("0 characters left");
    expect(charactersLeft(-12)).toBe("12 characters over the limit");
    expect(charactersLeft(-1)).toBe("1 character over the limit");
  });
});

describe("initials", () => {
  it("takes the first letter of the first and last words", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("lin")).toBe("L");
    expect(initials("  grace   brewster  hopper ")).toBe("GH");
  });

  it("takes whole graphemes, never half an emoji or a letter without its accent", () => {
    expect(initials("Chloé 🌸")).toBe("C");
    expect(initials("Émile Zola")).toBe("ÉZ");
    // "e" + a combining acute accent: one grapheme, two code points.
    expect(initials("e\u0301tienne")).toBe("E\u0301");
    for (const name of ["Chloé 🌸", "🌸 Chloé", "👩🏽‍💻", "🇫🇷 Marie"]) {
      expect(initials(name)).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });

  it("are worked out once per name, and still right once a thousand other names have come and gone", () => {
    const segment = vi.spyOn(Intl.Segmenter.prototype, "segment");
    expect(initials("Quinn Avery")).toBe("QA");
    const first = segment.mock.calls.length;
    expect(first).toBeGreaterThan(0);
    expect(initials("Quinn Avery")).toBe("QA");
    expect(segment.mock.calls.length).toBe(first);
    for (let i = 0; i < 1_200; i++) initials(`Person ${i} Zed`);
    expect(initials("Quinn Avery")).toBe("QA");
    segment.mockRestore();
  });

  it("skips words that do not start with a letter", () => {
    expect(initials("Maya (mobile)")).toBe("M");
    expect(initials("🌸 Chloé")).toBe("C");
    expect(initials("Lin #2")).toBe("L");
    expect(initials("Sam 🚀 Okafor")).toBe("SO");
  });

  it("shows the first emoji of a name with no letters, whole", () => {
    expect(initials("🌸")).toBe("🌸");
    expect(initials("👩🏽‍💻 🚀")).toBe("👩🏽‍💻");
    expect(initials("🇫🇷🇩🇪")).toBe("🇫🇷");
    expect(initials("   ")).toBe("?");
  });
});

describe("readableError", () => {
  it("drops the field a validation message starts with", () => {
    expect(readableError("name: Room names are 1–40 letters, digits, '-' or '_'")).toBe("Room names are 1–40 letters, digits, '-' or '_'");
    expect(readableError("data.text: Too long")).toBe("Too long");
  });

  it("leaves other messages as they are", () => {
    expect(readableError('A room named "x" already exists')).toBe('A room named "x" already exists');
    expect(readableError("Cannot reach the server; check your connection")).toBe("Cannot reach the server; check your connection");
    expect(readableError("Note: rooms are public")).toBe("Note: rooms are public");
  });
});

describe("badgeLabel", () => {
  const ws = (state: "connected" | "connecting" | "reconnecting" | "idle" | "offline" | "signed-out") => ({ transport: "websocket" as const, state });
  const sse = (state: "connected" | "connecting" | "reconnecting" | "idle" | "offline" | "signed-out") => ({ transport: "sse" as const, state });
  const lp = (state: "connected" | "connecting" | "reconnecting" | "idle" | "offline" | "signed-out") => ({ transport: "longpoll" as const, state });

  it("says only the rooms' transport while the feed is up with them", () => {
    expect(badgeLabel(ws("connected"), sse("connected"))).toBe("WebSocket · connected");
    expect(badgeLabel(lp("connected"), lp("connected"))).toBe("Long polling · connected");
    expect(badgeLabel(ws("connected"), undefined)).toBe("WebSocket · connected");
  });

  it("adds the feed's state while it lags, naming its transport when the rooms ride another", () => {
    // Behind a proxy that blocks WebSockets: the rooms fell back, the feed is still connecting.
    expect(badgeLabel(lp("connected"), sse("connecting"))).toBe("Long polling · connected · feed on SSE connecting");
    expect(badgeLabel(lp("connected"), lp("idle"))).toBe("Long polling · connected · feed connecting");
    expect(badgeLabel(ws("connected"), sse("reconnecting"))).toBe("WebSocket · connected · feed reconnecting");
    expect(badgeLabel(ws("reconnecting"), sse("connected"))).toBe("WebSocket · reconnecting · feed connected");
  });

  it("says nothing of the feed when the rooms are offline or signed out", () => {
    expect(badgeLabel(ws("offline"), sse("connecting"))).toBe("Offline");
    expect(badgeLabel(ws("signed-out"), sse("offline"))).toBe("Signed out");
  });

  it("parts the label into the state a phone shows and what wider screens add around it", () => {
    expect(badgeParts(ws("connected"), sse("connected"))).toEqual({ transport: "WebSocket", state: "connected", feed: null });
    expect(badgeParts(lp("connected"), sse("connecting"))).toEqual({ transport: "Long polling", state: "connected", feed: "feed on SSE connecting" });
    expect(badgeParts(ws("offline"), sse("connecting"))).toEqual({ transport: null, state: "Offline", feed: null });
  });

  it("describes both channels in full for the tooltip", () => {
    expect(channelsDescription({ rooms: lp("connected"), feed: sse("connecting") })).toBe("Rooms: Long polling · connected. Activity feed: SSE · connecting.");
  });
});
