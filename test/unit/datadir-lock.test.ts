import { describe, expect, it } from "vitest";
import { isAlive, processState } from "../../server/db/datadir-lock";

describe("processState", () => {
  it("reads the state after the last parenthesis, whatever the process's name holds", () => {
    const stat = (line: string) => () => line;
    expect(processState(1, stat("1234 (node) S 1 1234 1234 0 -1"))).toBe("S");
    expect(processState(1, stat("1234 (a) Z (b) Z 1 1234"))).toBe("Z");
    expect(processState(1, stat("1234 (my server) R 1"))).toBe("R");
  });

  it("is unknown where there is no /proc entry", () => {
    expect(processState(1, () => { throw new Error("ENOENT"); })).toBeUndefined();
  });
});

describe("isAlive", () => {
  it("counts a zombie as dead and a sleeping process as alive", () => {
    // This process exists, so signal 0 succeeds: only the state decides.
    expect(isAlive(process.pid, () => `${process.pid} (node) Z 1`)).toBe(false);
    expect(isAlive(process.pid, () => `${process.pid} (node) S 1`)).toBe(true);
    // Without /proc (macOS), signal 0 alone.
    expect(isAlive(process.pid, () => { throw new Error("ENOENT"); })).toBe(true);
  });
});
