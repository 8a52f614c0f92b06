// Every user colour carries white text (avatar initials, cursor labels): each must reach WCAG AA
// against white, and no two may be the same.
import { describe, expect, it } from "vitest";
import { PALETTE, colorFor } from "../../lib/colors";

/** WCAG 2 relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

const contrastWithWhite = (hex: string) => 1.05 / (luminance(hex) + 0.05);

describe("user colours", () => {
  it.each(PALETTE)("%s holds white text at 4.5:1 or more", (color) => {
    expect(contrastWithWhite(color)).toBeGreaterThanOrEqual(4.5);
  });

  it("are all different, and everyone gets one of them", () => {
    expect(new Set(PALETTE).size).toBe(PALETTE.length);
    for (const id of ["u_ada", "u_lin", "u_kai", ""]) expect(PALETTE).toContain(colorFor(id));
  });
});
