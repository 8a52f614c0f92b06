// The names people go by now (protocol 1.10), as the client keeps them: the newest heard wins,
// whatever order the news comes in; nothing renders again for a name already shown; and the
// memory is bounded.
import { afterEach, describe, expect, it } from "vitest";
import { forgetNames, hearAuthors, hearNames, MAX_PEOPLE, nameNow, usePeople } from "../../lib/store/people";

const ada = { id: "u_ada", name: "Ada" };
const at = (iso: string) => ({ actor: ada, at: iso });

afterEach(() => forgetNames());

describe("names heard", () => {
  it("shows an event's author under the newest name heard, and as written when nothing is heard", () => {
    expect(nameNow(ada)).toBe("Ada");
    hearNames([{ id: "u_ada", name: "Ada Lovelace" }]);
    expect(nameNow(ada)).toBe("Ada Lovelace");
    // Others are untouched.
    expect(nameNow({ id: "u_lin", name: "Lin" })).toBe("Lin");
  });

  it("an event replayed from before does not undo a name heard as it is now", () => {
    hearNames([{ id: "u_ada", name: "Ada Lovelace" }]);
    hearAuthors([{ actor: { id: "u_ada", name: "Ada" }, at: new Date(Date.now() - 60_000).toISOString() }]);
    expect(nameNow(ada)).toBe("Ada Lovelace");
  });

  it("an event written after the name was heard brings its author's newer name", () => {
    hearNames([{ id: "u_ada", name: "Ada" }]);
    hearAuthors([{ actor: { id: "u_ada", name: "Countess" }, at: new Date(Date.now() + 1_000).toISOString() }]);
    expect(nameNow(ada)).toBe("Countess");
  });

  it("events in any order leave the newest name: a page of old messages read after a new one", () => {
    hearAuthors([{ actor: { id: "u_ada", name: "Augusta" }, at: "2026-12-06T10:05:00.000Z" }]);
    hearAuthors([at("2026-12-06T10:00:00.000Z"), at("2026-12-06T10:01:00.000Z")]);
    expect(nameNow(ada)).toBe("Augusta");
  });

  it("a name heard again, unchanged, changes nothing shown (nothing renders again) but counts as newer", () => {
    hearAuthors([{ actor: ada, at: "2026-12-06T10:00:00.000Z" }]);
    const names = usePeople.getState().names;
    hearNames([ada]);
    expect(usePeople.getState().names).toBe(names);
    // Heard as now: an event from between does not stand for a newer name.
    hearAuthors([{ actor: { id: "u_ada", name: "Old" }, at: "2026-12-06T10:01:00.000Z" }]);
    expect(nameNow(ada)).toBe("Ada");
  });

  it("keeps at most MAX_PEOPLE, forgetting those heard of longest ago", () => {
    hearNames([{ id: "u_first", name: "First now" }]);
    hearNames(Array.from({ length: MAX_PEOPLE }, (_, i) => ({ id: `u_${i}`, name: `Person ${i}` })));
    expect(usePeople.getState().names.size).toBe(MAX_PEOPLE);
    expect(nameNow({ id: "u_first", name: "First" })).toBe("First");
    expect(nameNow({ id: `u_${MAX_PEOPLE - 1}`, name: "x" })).toBe(`Person ${MAX_PEOPLE - 1}`);
  });
});
