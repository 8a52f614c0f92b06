// `?transport=longpoll` forces the fallback: chat still works, and the badge says so; a page
// closed over it leaves its room within seconds; a page removed from a private room over it is
// told at once and goes on polling the rest.
import { expect, test } from "@playwright/test";
import { metricValue, parseMetrics } from "../test/helpers/metrics";
import { activityFeed, connectionBadge, createPrivateRoom, createRoom, messageLog, openRoom, peopleHere, sendMessage, signedInPerson, unique } from "./helpers";

test("two people chat over long polling", async ({ browser, baseURL }) => {
  const tia = await signedInPerson(browser, "Tia", "/?transport=longpoll");
  const uri = await signedInPerson(browser, "Uri", "/?transport=longpoll");
  const room = unique("polling");
  await createRoom(tia.page, room);
  await openRoom(uri.page, room);

  for (const p of [tia, uri]) await expect(connectionBadge(p.page)).toHaveText("Long polling · connected");
  // Each answer names the subscription kept for the page's next poll, and that poll names it
  // back (protocol 1.17): the server carries on without reading the poll afresh.
  const carriedOn: string[] = [];
  uri.page.on("request", (req) => {
    const url = new URL(req.url());
    if (url.pathname === "/api/poll" && url.searchParams.has("next")) carriedOn.push(url.searchParams.get("next")!);
  });
  const taken = async () => metricValue(parseMetrics(await (await fetch(`${baseURL}/metrics`)).text()), "rt_poll_tickets_total", { outcome: "taken" });
  const takenBefore = await taken();
  await sendMessage(tia.page, "polled hello");
  await expect(messageLog(uri.page).getByText("polled hello")).toBeVisible();
  await sendMessage(uri.page, "polled reply");
  await expect(messageLog(tia.page).getByText("polled reply")).toBeVisible();
  await expect(uri.page.getByRole("list", { name: "People here" }).getByRole("listitem")).toHaveCount(2);
  await expect.poll(() => carriedOn.length).toBeGreaterThanOrEqual(2);
  expect(new Set(carriedOn).size).toBe(carriedOn.length);
  expect(await taken()).toBeGreaterThan(takenBefore);
  await tia.context.close();
  await uri.context.close();
});

test("someone on long polling who closes their tab leaves the room within seconds, as over a WebSocket", async ({ browser }) => {
  const tia = await signedInPerson(browser, "Tia", "/");
  const uri = await signedInPerson(browser, "Uri", "/?transport=longpoll");
  const room = unique("leaving");
  await createRoom(tia.page, room);
  await openRoom(uri.page, room);
  await expect(connectionBadge(uri.page)).toHaveText("Long polling · connected");
  const uriHere = peopleHere(tia.page).filter({ has: tia.page.getByRole("img", { name: /Uri/ }) });
  await expect(peopleHere(tia.page)).toHaveCount(2);
  await expect(uriHere).toHaveCount(1);
  // The page's goodbye (protocol 1.20): gone after the 3 s presence grace, not the polls' 35 s lapse.
  await uri.page.close({ runBeforeUnload: true });
  await expect(uriHere).toHaveCount(0, { timeout: 10_000 });
  await expect(peopleHere(tia.page)).toHaveCount(1);
  await tia.context.close();
  await uri.context.close();
});

test("over long polling, someone removed from a private room is told at once, and the rest of the page goes on", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const dave = await signedInPerson(browser, `Dave ${unique("d").slice(-5)}`, "/?transport=longpoll");
  const room = unique("lpsecret");
  await createPrivateRoom(ada.page, room);
  await ada.page.getByRole("button", { name: "Members" }).click();
  await ada.page.getByLabel("Add someone").fill(dave.name);
  await ada.page.getByRole("button", { name: `Add ${dave.name}` }).click();
  await openRoom(dave.page, room);
  await expect(connectionBadge(dave.page)).toHaveText("Long polling · connected");
  await expect(ada.page.getByRole("list", { name: "People here" }).getByRole("listitem")).toHaveCount(2);

  await ada.page.getByRole("region", { name: "Members" }).getByRole("button", { name: `Remove ${dave.name}` }).click();
  await ada.page.getByRole("region", { name: "Members" }).getByRole("alertdialog").getByRole("button", { name: "Remove" }).click();
  // Told what happened, as a WebSocket page is; no longer among the people here for Ada.
  await expect(dave.page.getByRole("heading", { name: "You are no longer in this room" })).toBeVisible();
  await expect(ada.page.getByRole("list", { name: "People here" }).getByRole("listitem")).toHaveCount(1);
  // The rest of Dave's page goes on polling: a message in #general reaches his activity feed.
  await expect(connectionBadge(dave.page)).toHaveText("Long polling · connected");
  await openRoom(ada.page, "general");
  const word = unique("still");
  await sendMessage(ada.page, `${word} here`);
  await expect(activityFeed(dave.page)).toContainText(`${word} here`);
  await ada.context.close();
  await dave.context.close();
});
