// Names as readers tell them apart: people shown together under one name (guests may share
// one) each carry a tag of their own; everyone else is shown by their name alone.
import { describe, expect, it } from "vitest";
import { distinctName, nameTag, sharedNames } from "../../lib/names";

describe("people who go by one name", () => {
  const ada = { id: "u_ada", name: "Ada" };
  const otherAda = { id: "u_other", name: "Ada" };
  const lookalike = { id: "u_cyrillic", name: "Аda" }; // a Cyrillic А
  const lin = { id: "u_lin", name: "Lin" };

  it("are found among the people shown, once each, lookalike letters and case folded", () => {
    expect(sharedNames([ada, lin])).toEqual(new Set());
    // One person twice (two tabs, two lists) is still one.
    expect(sharedNames([ada, lin, ada])).toEqual(new Set());
    expect(sharedNames([ada, lin, otherAda])).toEqual(new Set(["ada"]));
    expect(sharedNames([{ ...ada, name: "ADA" }, lookalike])).toEqual(new Set(["ada"]));
  });

  it("each carry a tag drawn from who they are, while the others keep their names alone", () => {
    const shared = sharedNames([ada, otherAda, lin, lookalike]);
    const shown = [ada, otherAda, lookalike, lin].map((p) => distinctName(p, shared));
    expect(shown.slice(0, 3).map((s) => s.replace(/ #\d{4}$/, ""))).toEqual(["Ada", "Ada", "Аda"]);
    expect(new Set(shown).size).toBe(4);
    expect(shown[3]).toBe("Lin");
    // The same tag wherever they are shown.
    expect(shown[0]).toBe(`Ada ${nameTag("u_ada")}`);
    expect(nameTag("u_ada")).toBe(nameTag("u_ada"));
    expect(nameTag("u_ada")).toMatch(/^#\d{4}$/);
  });
});
