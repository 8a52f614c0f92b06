// A real browser behind a real hostile proxy (deploy/nginx-hostile.conf: the Upgrade header is
// dropped and every response buffered): two people chat, see each other typing and present,
// and see the feed — all over long polling, and the app says so; Ivo's second tab rides his first
// tab's polls (one connection per browser, lib/realtime/tab-hub.ts). Then the proxy is replaced on
// the same address by the reference one (deploy/nginx.conf), and the same page, never
// reloaded, upgrades to WebSocket and SSE on its own background retry.
//
// That retry comes once a minute; the test does not wait a minute. Hana's page runs on
// Playwright's clock, which flows like the real one until the test fast-forwards it past the
// retry — as if her laptop had slept through the minute.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { startNginx, type Nginx } from "../test/cluster/nginx";
import { activityFeed, connectionBadge, createRoom, messageLog, openConnections, openRoom, peopleHere, sendMessage, signIn, unique, type Person } from "./helpers";

const activityPanel = (page: Page) => page.getByRole("complementary", { name: "Activity feed" });
/** The feed's items about `room` (the feed holds every room's, earlier runs' too). */
const feedItems = (page: Page, room: string, text: string) =>
  activityFeed(page).getByRole("listitem").filter({ hasText: `#${room}` }).filter({ hasText: text });

/** A person whose every page load goes through `proxy`. */
async function personBehind(proxy: Nginx, browser: Browser, name: string, opts: { clock?: boolean } = {}): Promise<Person> {
  const context = await browser.newContext({ baseURL: proxy.url });
  if (opts.clock) await context.clock.install();
  const page = await context.newPage();
  await page.goto("/");
  await signIn(page, name);
  return { name, context, page };
}

test("behind a hostile proxy everything rides long polling; through the reference proxy the same page upgrades", async ({ browser, baseURL }) => {
  // Falling back takes two failed upgrades and two silent event streams (5 s each).
  test.setTimeout(120_000);
  const upstream = Number(new URL(baseURL!).port);
  let nginx: Nginx | null = await startNginx({ conf: "hostile", upstreams: [upstream] });
  const people: Person[] = [];
  try {
    const hana = await personBehind(nginx, browser, "Hana", { clock: true });
    const ivo = await personBehind(nginx, browser, "Ivo");
    people.push(hana, ivo);
    const room = unique("proxied");
    await createRoom(hana.page, room);
    await openRoom(ivo.page, room);

    for (const { page } of people) {
      await expect(connectionBadge(page)).toHaveText("Long polling · connected", { timeout: 30_000 });
      await expect(activityPanel(page)).toContainText("Long polling · connected", { timeout: 30_000 });
    }
    for (const { page } of people) await expect(peopleHere(page)).toHaveCount(2);

    // Ivo opens a second tab: it shares his first tab's long polls instead of polling itself.
    const ivoTab = await ivo.context.newPage();
    await openRoom(ivoTab, room);
    await expect(connectionBadge(ivoTab)).toHaveText("Long polling · connected", { timeout: 30_000 });
    await expect(peopleHere(ivoTab)).toHaveCount(2);
    // One held poll per browser, not per tab: Hana's and Ivo's.
    await expect.poll(async () => (await openConnections(baseURL!)).longpoll).toBe(2);

    await hana.page.getByLabel("Message", { exact: true }).pressSequentially("Hello Iv");
    await expect(ivo.page.getByText("Hana is typing…")).toBeVisible();
    await hana.page.getByLabel("Message", { exact: true }).press("Enter");
    await expect(messageLog(ivo.page).getByText("Hello Iv")).toHaveCount(1);
    await expect(messageLog(ivoTab).getByText("Hello Iv")).toHaveCount(1);
    await expect(ivo.page.getByText("Hana is typing…")).toBeHidden();
    await sendMessage(ivoTab, "polled answer");
    await expect(messageLog(hana.page).getByText("polled answer")).toHaveCount(1);
    await expect(feedItems(hana.page, room, "polled answer")).toHaveCount(1);
    // The feed groups the two into one item: both reached Ivo's feed.
    await expect(feedItems(ivo.page, room, "2 new messages")).toHaveCount(1);
    for (const { page } of people) await expect(connectionBadge(page)).toHaveText("Long polling · connected");

    // The reference proxy takes over the same address. Both pages keep long polling through it…
    const port = nginx.port;
    await nginx.stop();
    nginx = null;
    nginx = await startNginx({ conf: "normal", upstreams: [upstream], port });
    await sendMessage(ivo.page, "through the new proxy");
    await expect(messageLog(hana.page).getByText("through the new proxy")).toHaveCount(1, { timeout: 15_000 });
    await expect(connectionBadge(hana.page)).toHaveText("Long polling · connected");

    // …until the background retry comes round: the same page then moves to WebSocket and SSE.
    await hana.page.clock.fastForward("01:05");
    await expect(connectionBadge(hana.page)).toHaveText("WebSocket · connected", { timeout: 15_000 });
    await expect(activityPanel(hana.page)).toContainText("SSE · connected", { timeout: 15_000 });
    await sendMessage(ivo.page, "now over a WebSocket");
    await expect(messageLog(hana.page).getByText("now over a WebSocket")).toHaveCount(1);
    await sendMessage(hana.page, "and back");
    await expect(messageLog(ivo.page).getByText("and back")).toHaveCount(1);
    await expect(feedItems(hana.page, room, "and back")).toHaveCount(1);
    // Nothing was lost or repeated across the switch.
    for (const text of ["Hello Iv", "polled answer", "through the new proxy", "now over a WebSocket", "and back"]) {
      for (const page of [hana.page, ivo.page, ivoTab]) await expect(messageLog(page).getByText(text)).toHaveCount(1);
    }
  } finally {
    for (const p of people) await p.context.close();
    await nginx?.stop();
  }
});
