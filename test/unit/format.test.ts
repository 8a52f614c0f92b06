// The chat panel's wording: who is typing, and how long ago.
import { describe, expect, it } from "vitest";
import { relativeTime, typingLine } from "../../components/format";

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

describe("relativeTime", () => {
  const now = Date.parse("2026-11-23T10:00:00.000Z");
  it("says just now, then minutes, hours and days", () => {
    expect(relativeTime("2026-11-23T09:59:30.000Z", now)).toBe("just now");
    expect(relativeTime("2026-11-23T09:55:00.000Z", now)).toBe("5 minutes ago");
    expect(relativeTime("2026-11-23T07:00:00.000Z", now)).toBe("3 hours ago");
    expect(relativeTime("2026-11-22T10:00:00.000Z", now)).toBe("yesterday");
  });
});
