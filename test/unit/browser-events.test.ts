// The browser's events a realtime client follows (lib/realtime/browser-events.ts): the window's
// `online` and `offline`, and the document becoming visible again. A window and a document are
// played by plain EventTargets; the client records what it was told.
import { describe, expect, it } from "vitest";
import { attachToBrowser, type BrowserAware } from "../../lib/realtime/browser-events";

function browser(opts: { offline?: boolean } = {}) {
  const told: string[] = [];
  const client: BrowserAware & { isOffline: boolean } = {
    isOffline: opts.offline ?? false,
    setOffline(offline) {
      told.push(`setOffline(${offline})`);
      client.isOffline = offline;
    },
    wake() {
      told.push("wake");
    },
  };
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: "visible" as DocumentVisibilityState });
  const unwire = attachToBrowser(client, win as unknown as Window, doc as unknown as Document);
  const fire = (target: EventTarget, type: string) => target.dispatchEvent(new Event(type));
  return { client, told, win, doc, unwire, fire };
}

describe("attachToBrowser", () => {
  it("going offline (on the window) tells the client it is offline", () => {
    const b = browser();
    b.fire(b.doc, "offline");
    expect(b.told).toEqual([]);
    b.fire(b.win, "offline");
    expect(b.told).toEqual(["setOffline(true)"]);
  });

  it("coming back online after being offline tells the client it is online; an `online` with no `offline` before it (a new network) wakes it", () => {
    const b = browser({ offline: true });
    b.fire(b.win, "online");
    expect(b.told).toEqual(["setOffline(false)"]);
    b.fire(b.win, "online");
    expect(b.told).toEqual(["setOffline(false)", "wake"]);
  });

  it("the page becoming visible wakes the client; becoming hidden tells it nothing", () => {
    const b = browser();
    b.doc.visibilityState = "hidden";
    b.fire(b.doc, "visibilitychange");
    expect(b.told).toEqual([]);
    b.doc.visibilityState = "visible";
    b.fire(b.doc, "visibilitychange");
    expect(b.told).toEqual(["wake"]);
  });

  it("after the unwiring, none of the three reaches the client", () => {
    const b = browser({ offline: true });
    b.unwire();
    b.fire(b.win, "online");
    b.fire(b.win, "offline");
    b.fire(b.doc, "visibilitychange");
    expect(b.told).toEqual([]);
  });
});
