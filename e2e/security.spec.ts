// The pages under their Content-Security-Policy: they load, hydrate and connect with no
// violation, while an inline handler injected into the page does not run; names render isolated.
import { expect, test } from "@playwright/test";
import { createRoom, expectConnected, messageLog, sendMessage, signIn, unique } from "./helpers";

test("pages run under a nonce CSP with no violations, and an injected inline handler does not run", async ({ page }) => {
  const violations: string[] = [];
  // And a clean console: a signed-out visitor's session check is an answer, not a failed request.
  const errors: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    if (m.type() === "error") errors.push(m.text());
  });
  await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { reportViolation: (v: string) => void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  const res = await page.goto("/");
  const headers = res!.headers();
  expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");

  // Hydrated: the sign-in form works, the WebSocket connects, a message goes through.
  await signIn(page, "Cspy");
  const room = unique("csp");
  await createRoom(page, room);
  await expectConnected(page);
  await sendMessage(page, "under policy");
  await expect(messageLog(page).getByText("under policy")).toBeVisible();
  await expect(messageLog(page).locator("bdi", { hasText: "Cspy" })).toHaveCount(1);
  expect(violations).toEqual([]);
  expect(errors).toEqual([]);

  // What markup injected into the page would try: an inline event handler. Refused (no
  // 'unsafe-inline'), where without the policy it would run.
  const ran = await page.evaluate(async () => {
    const w = window as unknown as { injected?: boolean };
    const div = document.createElement("div");
    div.innerHTML = '<img src="/nope.png" onerror="window.injected = true">';
    document.body.appendChild(div);
    await new Promise((r) => setTimeout(r, 500));
    return w.injected === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => violations.length).toBeGreaterThan(0);
});
