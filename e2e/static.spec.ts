// Static assets from public/: the tab shows the app's icon.
import { expect, test } from "@playwright/test";

test("every page names the SVG icon, and the server serves it", async ({ page, request }) => {
  await page.goto("/");
  const icon = page.locator('head link[rel="icon"]');
  await expect(icon).toHaveAttribute("href", "/favicon.svg");
  await expect(icon).toHaveAttribute("type", "image/svg+xml");
  const res = await request.get("/favicon.svg");
  expect(res.status()).toBe(200);
  expect(res.headers()["content-type"]).toMatch(/^image\/svg\+xml/);
  expect(await res.text()).toContain("<svg");
});
