// A long room as a reader meets it: the list holds only the rows near the view however long the
// history, scrolling up reaches the very first message (pages come from the server and far ones
// are let go), "Jump to latest" appears once scrolled up and brings the newest back, a message
// arriving meanwhile leaves the view where it is, a link to an old message opens around it, and
// sending from there goes back to the live end.
import { expect, request, test, type Page } from "@playwright/test";
import { createRoomOverHttp, messageLog, openRoom, postMessages, signedInPerson, unique } from "./helpers";

const MESSAGES = 3_000;
const room = unique("long");

/** "Jump to latest", with or without a count of new messages. */
const jumpToLatest = (page: Page) => page.getByRole("button", { name: /^Jump to latest/ });

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ baseURL }) => {
  test.setTimeout(180_000);
  await createRoomOverHttp(baseURL!, room);
  // The first and the last in order, the thousands between them all at once (any order).
  await postMessages(baseURL!, room, ["the very first message"]);
  await postMessages(baseURL!, room, Array.from({ length: MESSAGES - 2 }, (_, i) => `filler ${i + 1}`), { ordered: false });
  await postMessages(baseURL!, room, ["the newest message"]);
});

test("a room of 3,000 messages keeps a few dozen rows in the page and scrolls back to its first message", async ({ browser }) => {
  test.setTimeout(150_000);
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);
  const log = messageLog(lin.page);
  await expect(log.getByText("the newest message")).toBeInViewport();
  await expect(jumpToLatest(lin.page)).toHaveCount(0);
  expect(await log.getByRole("listitem").count()).toBeLessThan(80);

  // Up and up: page after page comes from the server until the beginning.
  // Each page goes in above the view, which stays on what was read: scroll up again for more.
  await expect(async () => {
    await log.evaluate((el) => el.scrollTo({ top: 0 }));
    await expect(log.getByText("the very first message")).toBeInViewport({ timeout: 500 });
  }).toPass({ timeout: 120_000, intervals: [100] });
  await expect(log.getByText(`This is the beginning of #${room}.`)).toBeInViewport();
  expect(await log.getByRole("listitem").count()).toBeLessThan(80);
  // The newest pages were let go on the way up: the DOM and the window both stay small.
  await expect(log.getByText("the newest message")).toHaveCount(0);

  // Scrolled up: "Jump to latest" brings the newest back.
  await jumpToLatest(lin.page).click();
  await expect(log.getByText("the newest message")).toBeInViewport();
  await expect(jumpToLatest(lin.page)).toHaveCount(0);
  await lin.context.close();
});

test("a new message while scrolled up leaves the view where it is and is counted on Jump to latest", async ({ browser, baseURL }) => {
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);
  const log = messageLog(lin.page);
  await expect(log.getByText("the newest message")).toBeInViewport();

  await log.evaluate((el) => el.scrollBy({ top: -700 }));
  await expect(jumpToLatest(lin.page)).toHaveText("Jump to latest");
  // The first message whose top is in view, and where it is.
  const readingId = await log.evaluate((el) => {
    const top = el.getBoundingClientRect().top;
    return [...el.querySelectorAll("[id^='m-']")].find((m) => m.getBoundingClientRect().top >= top)!.id;
  });
  const y = async () => (await log.locator(`#${readingId}`).boundingBox())!.y;
  const before = await y();

  await postMessages(baseURL!, room, ["arrived while Lin reads"]);
  await expect(jumpToLatest(lin.page)).toHaveText("Jump to latest, 1 new message");
  expect(Math.abs((await y()) - before)).toBeLessThan(2);
  await expect(log.getByText("arrived while Lin reads")).not.toBeInViewport();

  await jumpToLatest(lin.page).click();
  await expect(log.getByText("arrived while Lin reads")).toBeInViewport();
  await expect(jumpToLatest(lin.page)).toHaveCount(0);
  await lin.context.close();
});

test("a link to an old message opens the room around it, highlighted, and reads on down to the live end", async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  // Message 500 of the room, whatever its text.
  const api = await request.newContext({ baseURL });
  await api.post("/api/session", { data: { name: "Reader" } });
  const page = (await (await api.get(`/api/rooms/${room}/events?after=499&limit=1`)).json()) as { events: Array<{ seq: number; data: { text: string } }> };
  const target = page.events[0]!;
  await api.dispose();

  const lin = await signedInPerson(browser, "Lin");
  await lin.page.goto(`/rooms/${room}?seq=${target.seq}`);
  const log = messageLog(lin.page);
  const linked = log.getByRole("listitem").filter({ has: lin.page.locator(`#m-${target.seq}`) });
  await expect(linked).toBeInViewport();
  await expect(linked).toHaveAttribute("aria-current", "true");
  await expect(linked).toContainText(target.data.text);
  // Far from the live end: the newest is not in the page, and the way there is one button away.
  await expect(log.getByText("the newest message")).toHaveCount(0);
  await expect(jumpToLatest(lin.page)).toBeVisible();

  // Scrolling down reads the pages after it, on to the newest.
  await expect(async () => {
    await log.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect(log.getByText("the newest message")).toBeInViewport({ timeout: 500 });
  }).toPass({ timeout: 90_000, intervals: [100] });
  expect(await log.getByRole("listitem").count()).toBeLessThan(80);
  await lin.context.close();
});

test("sending from far back in the history brings the view to the live end, with what was sent", async ({ browser }) => {
  const lin = await signedInPerson(browser, "Lin");
  await lin.page.goto(`/rooms/${room}?seq=300`);
  const log = messageLog(lin.page);
  await expect(log.getByRole("listitem").filter({ has: lin.page.locator("#m-300") })).toBeInViewport();
  await expect(log.getByText("the newest message")).toHaveCount(0);

  const box = lin.page.getByLabel("Message", { exact: true });
  await box.fill("written from far back");
  await box.press("Enter");
  await expect(log.getByText("written from far back")).toBeInViewport();
  await expect(log.getByText("the newest message")).toBeAttached();
  await expect(jumpToLatest(lin.page)).toHaveCount(0);
  await lin.context.close();
});
