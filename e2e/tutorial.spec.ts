// The tutorial's "Try it" steps, done in the browser as a reader would: force long polling and
// switch back in the inspector (chapter 6), go offline and back, and drop the connection
// (chapter 2), and watch the ops page count the connections (chapter 8).
import { expect, test, type Page } from "@playwright/test";
import { connectionBadge, createRoom, fact, expectConnected, messageLog, openRoom, sendMessage, signedInPerson, unique } from "./helpers";

const inspector = (page: Page) => page.getByRole("complementary", { name: "Inspector" });

async function openInspector(page: Page) {
  await page.getByRole("button", { name: "Inspector", exact: true }).click();
  await expect(inspector(page)).toBeVisible();
  return inspector(page);
}

/** The newest row of the inspector's frames table (direction, via, type, bytes, time) for a frame type. */
const newestFrame = (panel: ReturnType<Page["locator"]>, direction: "in" | "out", type: string) =>
  panel
    .getByRole("table", { name: "Frames" })
    .getByRole("row")
    .filter({ hasText: direction === "in" ? "↓" : "↑" })
    .filter({ has: panel.page().getByRole("cell", { name: type, exact: true }) })
    .first();

/** Sends a message every few hundred ms until the returned stop() — for rates measured per second. */
function keepSending(page: Page, prefix: string) {
  let sending = true;
  const loop = (async () => {
    for (let i = 0; sending; i++) {
      await sendMessage(page, `${prefix} ${i}`);
      await page.waitForTimeout(300);
    }
  })();
  return async () => {
    sending = false;
    await loop;
  };
}

test("chapter 6: force long polling in the inspector, chat on, switch back to WebSocket", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("inspect");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  await expectConnected(ada.page);

  const panel = await openInspector(ada.page);
  await expect(fact(panel, "Rooms")).toHaveText("WebSocket · connected");
  await panel.getByRole("radio", { name: "Long polling" }).check();
  await expect(connectionBadge(ada.page)).toHaveText("Long polling · connected");
  await expect(fact(panel, "Rooms")).toHaveText("Long polling · connected");
  await expect(fact(panel, "Feed")).toHaveText("Long polling · connected");

  await sendMessage(ada.page, "sent by a long poller");
  await expect(messageLog(lin.page).getByText("sent by a long poller")).toHaveCount(1);
  await sendMessage(lin.page, "answered over WebSocket");
  await expect(messageLog(ada.page).getByText("answered over WebSocket")).toHaveCount(1);
  // The frames list shows the traffic that carried them: a POST out, poll answers in.
  const frames = panel.getByRole("table", { name: "Frames" });
  await expect(frames.getByRole("row").filter({ hasText: "http" }).filter({ hasText: "send" }).first()).toBeVisible();
  await expect(frames.getByRole("row").filter({ hasText: /poll\([1-9]/ }).first()).toBeVisible();
  await expect(fact(panel, `room:${room}`)).toHaveText("2");

  // Back to WebSocket mid-conversation: the positions carry over, nothing repeats.
  await panel.getByRole("radio", { name: "WebSocket" }).check();
  await expectConnected(ada.page);
  await sendMessage(lin.page, "and now a WebSocket again");
  await expect(messageLog(ada.page).getByText("and now a WebSocket again")).toHaveCount(1);
  await expect(fact(panel, `room:${room}`)).toHaveText("3");
  for (const text of ["sent by a long poller", "answered over WebSocket"]) {
    await expect(messageLog(ada.page).getByText(text)).toHaveCount(1);
  }
  await ada.context.close();
  await lin.context.close();
});

test("chapter 2: simulate offline in the inspector; the message waits and arrives exactly once", async ({ browser }) => {
  test.slow(); // a whole chapter's walk-through: two people, a drop and a resume
  const olga = await signedInPerson(browser, "Olga");
  const piet = await signedInPerson(browser, "Piet");
  const room = unique("resume");
  await createRoom(olga.page, room);
  await openRoom(piet.page, room);
  await expectConnected(olga.page);
  const panel = await openInspector(olga.page);
  await expect(fact(panel, "Reconnects")).toHaveText("0");
  await expect(fact(panel, "Subscriptions")).toHaveText(`${room}: joined`);
  await expect(fact(panel, "Round trip (send → ack)")).toHaveText("—");

  // A send goes out as a frame with its size and time, and its ack gives the round trip.
  await sendMessage(olga.page, "before going offline");
  await expect(messageLog(piet.page).getByText("before going offline")).toHaveCount(1);
  await expect(fact(panel, "Round trip (send → ack)")).toHaveText(/^\d+ ms$/);
  const sent = newestFrame(panel, "out", "send");
  await expect(sent.getByRole("cell").nth(1)).toHaveText("ws");
  await expect(sent.getByRole("cell").nth(3)).toHaveText(/^[1-9]\d*$/);
  await expect(sent.getByRole("cell").nth(4)).toHaveText(/^\d\d:\d\d:\d\d\.\d{3}$/);
  const ack = newestFrame(panel, "in", "ack");
  await expect(ack.getByRole("cell").nth(3)).toHaveText(/^[1-9]\d*$/);
  await expect(fact(panel, `room:${room}`)).toHaveText("1");

  const offline = panel.getByRole("switch", { name: "Simulate offline" });
  await offline.check();
  await expect(connectionBadge(olga.page)).toHaveText("Offline");
  await sendMessage(olga.page, "written while offline");
  const mine = messageLog(olga.page).getByRole("listitem").filter({ hasText: "written while offline" });
  await expect(mine).toContainText("Pending");
  // Meanwhile Piet writes: Olga gets it on resume, from her position in the log.
  await sendMessage(piet.page, "written while Olga was away");
  await piet.page.waitForTimeout(500);
  await expect(messageLog(piet.page).getByText("written while offline")).toHaveCount(0);
  await expect(messageLog(olga.page).getByText("written while Olga was away")).toHaveCount(0);

  await offline.uncheck();
  await expectConnected(olga.page);
  await expect(messageLog(piet.page).getByText("written while offline")).toHaveCount(1);
  await expect(messageLog(olga.page).getByText("written while Olga was away")).toHaveCount(1);
  await expect(mine).not.toContainText("Pending");
  await expect(fact(panel, "Reconnects")).not.toHaveText("0");
  // The resume position is the room's newest seq: three messages, so 3.
  await expect(fact(panel, `room:${room}`)).toHaveText("3");
  await expect(fact(panel, "feed")).toHaveText(/^[1-9]\d*$/);

  // A dropped connection comes back by itself, counts as a reconnect, and resumes the same way.
  const reconnects = Number(await fact(panel, "Reconnects").textContent());
  await panel.getByRole("button", { name: "Drop connection" }).click();
  await expectConnected(olga.page);
  await expect.poll(async () => Number(await fact(panel, "Reconnects").textContent())).toBeGreaterThan(reconnects);
  await sendMessage(piet.page, "after the drop");
  await expect(messageLog(olga.page).getByText("after the drop")).toHaveCount(1);
  await expect(fact(panel, `room:${room}`)).toHaveText("4");

  // Still one copy of each after things settle (the resend on reconnect is deduplicated).
  await piet.page.waitForTimeout(1_000);
  for (const page of [olga.page, piet.page]) {
    for (const text of ["before going offline", "written while offline", "written while Olga was away", "after the drop"]) {
      await expect(messageLog(page).getByText(text)).toHaveCount(1);
    }
  }
  await olga.context.close();
  await piet.context.close();
});

test("chapter 8: the ops page counts the connections the test opens, by transport, and the messages it sends", async ({ browser }) => {
  test.slow(); // the whole chapter: three transports opened, counted and closed
  // Signed out, /ops asks for a name like every page; then it is the ops page.
  const viewer = await signedInPerson(browser, "Vera", "/ops");
  await expect(viewer.page.getByRole("heading", { name: "Ops", exact: true })).toBeVisible();
  // It is also a link away from anywhere, in the account menu.
  await viewer.page.getByRole("link", { name: "Realtime Workspace" }).click();
  await expect(viewer.page).toHaveURL(/\/$/);
  await viewer.page.getByRole("button", { name: "Account and settings" }).click();
  await viewer.page.getByRole("link", { name: "Ops dashboard" }).click();
  await expect(viewer.page).toHaveURL(/\/ops$/);
  await expect(viewer.page.getByRole("heading", { name: "Ops", exact: true })).toBeVisible();
  await expect(viewer.page.getByRole("img", { name: /^Live connections by transport/ })).toBeVisible();

  const count = (name: string) => async () => Number(await fact(viewer.page, name).textContent());
  const websockets = count("WebSocket connections");
  const longPolls = count("Long-polling connections");
  // Vera's own tab holds one: the count before the others arrive (earlier tests' are closed).
  await expect.poll(websockets).toBeGreaterThanOrEqual(1);
  const before = await websockets();
  const pollsBefore = await longPolls();

  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("ops");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  for (const p of [ada, lin]) await expectConnected(p.page);
  await expect.poll(websockets, { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 2);

  // A third person on long polling: the page counts their held poll.
  const pat = await signedInPerson(browser, "Pat", `/rooms/${room}?transport=longpoll`);
  await expectConnected(pat.page, "Long polling");
  await expect.poll(longPolls, { timeout: 10_000 }).toBeGreaterThanOrEqual(pollsBefore + 1);

  await sendMessage(ada.page, "counted");
  await expect(messageLog(lin.page).getByText("counted")).toBeVisible();
  await expect(messageLog(pat.page).getByText("counted")).toBeVisible();
  // Rates are per second: keep chatting until the page's latest sample has caught some.
  const stop = keepSending(ada.page, "counted again");
  try {
    const positive = /^(> )?[1-9][\d,]*(\.\d+)?( ms)?$|^0\.\d*[1-9]\d*( ms)?$/;
    await expect.poll(async () => fact(viewer.page, "Messages per second").textContent(), { timeout: 15_000, intervals: [100] }).toMatch(positive);
    await expect.poll(async () => fact(viewer.page, "Mean batch size").textContent(), { timeout: 15_000, intervals: [100] }).toMatch(positive);
    await expect.poll(async () => fact(viewer.page, "Fan-out p50").textContent(), { timeout: 15_000, intervals: [100] }).toMatch(/^\d+(\.\d+)? ms$/);
  } finally {
    await stop();
  }

  await ada.context.close();
  await lin.context.close();
  await pat.context.close();
  await expect.poll(websockets, { timeout: 10_000 }).toBeLessThanOrEqual(before);
  await expect.poll(longPolls, { timeout: 10_000 }).toBeLessThanOrEqual(pollsBefore);
  await viewer.context.close();
});
