// One connection per browser, not per tab (lib/realtime/tab-hub.ts). Over plain HTTP/1.1 a
// browser opens at most 6 connections to one origin, and each tab's event stream would hold one
// for good: the seventh tab would never load. Here ten tabs of one person load, chat and see the
// other person's typing, presence and cursor, through one WebSocket and one event stream; the
// leader tab closes mid-conversation and nothing is lost or repeated; signing out in one tab
// signs out all of them. A frozen leader lets go as a closed one does. A transport chosen in one
// tab is the shared connection's, and every tab's settings show it.
import { expect, test, type Page } from "@playwright/test";
import { createRoom, fact, messageLog, openConnections, openRoom, peopleHere, sendMessage, sharedCanvas, signedInPerson, signOutGuest, unique } from "./helpers";

// A trace snapshots every page at each step: with eleven pages that is most of the machine.
test.use({ trace: "off" });

/**
 * What the inspector of `page` says of the shared connection once it matches `expected`, e.g.
 * "Leader · this tab connects for 3 tabs".
 */
async function sharing(page: Page, expected: RegExp): Promise<string> {
  await page.getByRole("button", { name: "Inspector" }).click();
  const row = fact(page, "Shared connection");
  await expect(row).toHaveText(expected);
  const text = (await row.textContent()) ?? "";
  await page.getByRole("button", { name: "Close inspector" }).click();
  return text;
}

async function expectSharing(page: Page, expected: RegExp): Promise<void> {
  await sharing(page, expected);
}

/** Each text shows exactly once in the conversation on every page. */
async function expectEachOnce(pages: Page[], texts: string[]): Promise<void> {
  for (const page of pages) for (const text of texts) await expect(messageLog(page).getByText(text, { exact: true })).toHaveCount(1);
}

test("ten tabs of one person load, chat and see the other person, over one connection", async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const ada = await signedInPerson(browser, "Ada");
  const bo = await signedInPerson(browser, "Bo");
  const room = unique("tabs");
  await createRoom(ada.page, room);
  await openRoom(bo.page, room);
  const tabs = [ada.page];
  for (let i = 1; i < 10; i++) {
    const tab = await ada.context.newPage();
    await openRoom(tab, room);
    tabs.push(tab);
  }
  // Two people, however many tabs one of them has.
  for (const tab of [...tabs, bo.page]) await expect(peopleHere(tab)).toHaveCount(2);
  // One WebSocket and one event stream per browser: Ada's and Bo's.
  await expect.poll(() => openConnections(baseURL!)).toMatchObject({ ws: 2, sse: 2 });

  await expectSharing(tabs[0]!, /^Leader · this tab connects for 10 tabs$/);
  await expectSharing(tabs[9]!, /^Follower · another tab connects for 10 tabs$/);

  const texts = tabs.map((_, i) => `hello from tab ${i + 1}`);
  for (const [i, tab] of tabs.entries()) await sendMessage(tab, texts[i]!);
  await sendMessage(bo.page, "hello, all of you");
  await expectEachOnce([...tabs, bo.page], [...texts, "hello, all of you"]);

  await bo.page.getByLabel("Message", { exact: true }).pressSequentially("typing to ten tabs");
  for (const tab of tabs) await expect(tab.getByText("Bo is typing…")).toBeVisible();

  const area = await sharedCanvas(bo.page).boundingBox();
  if (!area) throw new Error("no canvas");
  await bo.page.mouse.move(area.x + area.width * 0.2, area.y + area.height * 0.2);
  await bo.page.mouse.move(area.x + area.width * 0.6, area.y + area.height * 0.5, { steps: 10 });
  for (const tab of tabs) await expect(tab.getByRole("img", { name: "Bo's cursor" })).toBeVisible();

  await expect.poll(() => openConnections(baseURL!)).toMatchObject({ ws: 2, sse: 2 });
  await ada.context.close();
  await bo.context.close();
});

test("the leader tab closes mid-conversation: the other tabs lose and repeat nothing", async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  const ada = await signedInPerson(browser, "Ada");
  const bo = await signedInPerson(browser, "Bo");
  const room = unique("handover");
  await createRoom(ada.page, room);
  await openRoom(bo.page, room);
  const [second, third] = [await ada.context.newPage(), await ada.context.newPage()];
  for (const tab of [second, third]) await openRoom(tab, room);
  await expectSharing(ada.page, /^Leader · this tab connects for 3 tabs$/);

  await sendMessage(bo.page, "before the handover");
  await sendMessage(second, "me too, before");
  await expectEachOnce([ada.page, second, third, bo.page], ["before the handover", "me too, before"]);

  // The leader goes; messages are written on both sides while another tab takes over.
  await ada.page.close();
  await sendMessage(second, "written during the handover");
  await sendMessage(bo.page, "Bo, during the handover");
  await sendMessage(third, "third tab, during");
  await expectEachOnce([second, third], ["before the handover", "me too, before", "written during the handover", "Bo, during the handover", "third tab, during"]);

  const roles = [await sharing(second, /for 2 tabs$/), await sharing(third, /for 2 tabs$/)].sort();
  expect(roles).toEqual(["Follower · another tab connects for 2 tabs", "Leader · this tab connects for 2 tabs"]);
  await sendMessage(third, "after the handover");
  await sendMessage(bo.page, "Bo, after");
  const all = ["before the handover", "me too, before", "written during the handover", "Bo, during the handover", "third tab, during", "after the handover", "Bo, after"];
  await expectEachOnce([second, third, bo.page], all);
  await expect.poll(() => openConnections(baseURL!)).toMatchObject({ ws: 2, sse: 2 });
  await ada.context.close();
  await bo.context.close();
});

test("a leader tab being frozen lets go: another tab leads, and the first catches up when it resumes", async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  const ada = await signedInPerson(browser, "Ada");
  const bo = await signedInPerson(browser, "Bo");
  const room = unique("frozen");
  await createRoom(ada.page, room);
  await openRoom(bo.page, room);
  const second = await ada.context.newPage();
  await openRoom(second, room);
  await expectSharing(ada.page, /^Leader · this tab connects for 2 tabs$/);

  // The browser freezes a background tab to save power, telling it first with `freeze` (and
  // `resume` when it thaws). Headless Chromium freezes no page on request (CDP's
  // Page.setWebLifecycleState fires no `freeze` there), so the page is sent the events itself.
  await ada.page.evaluate(() => document.dispatchEvent(new Event("freeze")));
  await expectSharing(second, /^Leader · this tab connects for 1 tab$/);
  await sendMessage(bo.page, "while the first tab sleeps");
  await sendMessage(second, "from the tab awake");
  await expectEachOnce([second, bo.page], ["while the first tab sleeps", "from the tab awake"]);
  await expect.poll(() => openConnections(baseURL!)).toMatchObject({ ws: 2, sse: 2 });

  await ada.page.evaluate(() => document.dispatchEvent(new Event("resume")));
  await expectSharing(ada.page, /^Follower · another tab connects for 2 tabs$/);
  await sendMessage(ada.page, "awake again");
  await expectEachOnce([ada.page, second, bo.page], ["while the first tab sleeps", "from the tab awake", "awake again"]);
  await ada.context.close();
  await bo.context.close();
});

test("two people count as two whatever their tabs; signing out in one tab signs out every tab", async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  const ada = await signedInPerson(browser, "Ada");
  const bo = await signedInPerson(browser, "Bo");
  const room = unique("signout");
  await createRoom(ada.page, room);
  await openRoom(bo.page, room);
  const adaTabs = [ada.page, await ada.context.newPage(), await ada.context.newPage()];
  const boTabs = [bo.page, await bo.context.newPage()];
  for (const tab of [...adaTabs.slice(1), ...boTabs.slice(1)]) await openRoom(tab, room);
  for (const tab of [...adaTabs, ...boTabs]) await expect(peopleHere(tab)).toHaveCount(2);
  await expect.poll(() => openConnections(baseURL!)).toMatchObject({ ws: 2, sse: 2 });

  // Signing out in a tab that does not hold the connection.
  const follower = adaTabs[2]!;
  await signOutGuest(follower);
  for (const tab of adaTabs) await expect(tab.getByLabel("Display name")).toBeVisible();
  for (const tab of boTabs) await expect(peopleHere(tab)).toHaveCount(1);
  await expect.poll(() => openConnections(baseURL!)).toMatchObject({ ws: 1, sse: 1 });
  await ada.context.close();
  await bo.context.close();
});

test("a transport chosen in one tab is every tab's, each tab's settings say so, and it outlives the tab that chose it", async ({ browser }) => {
  // The first tab chooses long polling, and leads: the connection is its own.
  const ada = await signedInPerson(browser, "Ada", "/rooms/general?transport=longpoll");
  await expect(ada.page.getByRole("status")).toHaveText("Long polling · connected");
  const other = await ada.context.newPage();
  await other.goto("/rooms/general");
  await expect(other.getByRole("status")).toHaveText("Long polling · connected");
  // The other tab's own settings show the choice the first made: one connection, one choice.
  await other.getByRole("button", { name: /account and settings/i }).click();
  const setting = other.getByRole("region", { name: "Account and settings" }).getByLabel("Transport");
  await expect(setting).toHaveValue("longpoll");
  await other.getByRole("button", { name: /account and settings/i }).click();
  // The tab that chose it closes: the other leads now, and keeps the choice.
  await ada.page.close();
  await expectSharing(other, /^Leader/);
  await expect(other.getByRole("status")).toHaveText("Long polling · connected");
  await other.getByRole("button", { name: /account and settings/i }).click();
  await expect(setting).toHaveValue("longpoll");
  await ada.context.close();
});
