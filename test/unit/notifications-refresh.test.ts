// What a refresh of my notifications keeps: mentions, and (version 1.2) replies to me — the
// feed panel's "For you" lists both, and a refresh must not drop what arrived live.
import { afterEach, describe, expect, it, vi } from "vitest";
import { useNotifications } from "../../lib/store/notifications";

const actor = { id: "u_ada", name: "Ada" };
const at = new Date(0).toISOString();
const data = { roomId: "general", seq: 7, preview: "about that" };

afterEach(() => vi.unstubAllGlobals());

describe("notifications refresh", () => {
  it("keeps replies to me as well as mentions", async () => {
    const events = [
      { stream: "user:u_lin", seq: 1, type: "mention", actor, at, data },
      { stream: "user:u_lin", seq: 2, type: "reply", actor, at, data },
    ];
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ events, readSeq: 1 }), { headers: { "Content-Type": "application/json" } })));
    useNotifications.getState().reset();
    await useNotifications.getState().refresh();
    expect(useNotifications.getState().mentions.map((m) => m.type)).toEqual(["mention", "reply"]);
  });
});
