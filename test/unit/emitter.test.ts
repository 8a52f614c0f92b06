// The client's typed event emitter: every listener hears each event, unsubscribing works, and
// one listener that throws does not keep the event from the others.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Emitter } from "@/lib/realtime/emitter";

type Events = { message: string; status: number };

describe("Emitter", () => {
  afterEach(() => vi.restoreAllMocks());

  it("hands each event to every listener of its type, in the order they subscribed", () => {
    const e = new Emitter<Events>();
    const heard: string[] = [];
    e.on("message", (m) => heard.push(`first ${m}`));
    e.on("message", (m) => heard.push(`second ${m}`));
    e.on("status", (n) => heard.push(`status ${n}`));
    e.emit("message", "hi");
    expect(heard).toEqual(["first hi", "second hi"]);
  });

  it("stops calling a listener once it unsubscribed, and only that one", () => {
    const e = new Emitter<Events>();
    const heard: string[] = [];
    const off = e.on("message", (m) => heard.push(`a ${m}`));
    e.on("message", (m) => heard.push(`b ${m}`));
    off();
    e.emit("message", "x");
    expect(heard).toEqual(["b x"]);
  });

  it("an event nobody listens to does nothing", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    new Emitter<Events>().emit("status", 1);
    expect(errors).not.toHaveBeenCalled();
  });

  it("a listener that throws is reported, and the others still hear the event", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const e = new Emitter<Events>();
    const heard: string[] = [];
    e.on("message", () => {
      throw new Error("broken listener");
    });
    e.on("message", (m) => heard.push(m));
    e.emit("message", "still here");
    expect(heard).toEqual(["still here"]);
    expect(errors).toHaveBeenCalledWith(expect.objectContaining({ message: "broken listener" }));
  });
});
