// The list of a person's devices: two sessions of one browser read apart, by which is this one
// and by when each was last active.
import { describe, expect, it } from "vitest";
import { deviceActivity, deviceName } from "../../components/shell/devices";

const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

describe("deviceActivity", () => {
  const now = Date.parse("2026-12-18T12:00:00.000Z");
  const signedIn = "2026-12-17T09:00:00.000Z";
  const at = (iso: string) => new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));

  it("tells sessions of one browser, signed in together, apart by this one and by their last activity", () => {
    const devices = [
      { userAgent: CHROME, current: true, createdAt: signedIn, lastSeenAt: "2026-12-18T11:58:00.000Z" },
      { userAgent: CHROME, current: false, createdAt: signedIn, lastSeenAt: "2026-12-18T09:00:00.000Z" },
      { userAgent: CHROME, current: false, createdAt: signedIn, lastSeenAt: "2026-12-18T11:57:00.000Z" },
    ];
    expect(new Set(devices.map((d) => deviceName(d.userAgent))).size).toBe(1);
    expect(devices.map((d) => deviceActivity(d, now))).toEqual([
      `This device · signed in ${at(signedIn)}`,
      `Active 3 hours ago · signed in ${at(signedIn)}`,
      // Activity is noted every few minutes at most: closer than that is now.
      `Active just now · signed in ${at(signedIn)}`,
    ]);
  });

  it("counts from the sign-in when a server says nothing of activity", () => {
    expect(deviceActivity({ current: false, createdAt: signedIn }, now)).toBe(`Active yesterday · signed in ${at(signedIn)}`);
  });
});
