// The activity feed and mentions (over SSE): a new room appears, @name raises the bell's count,
// and reading it in one tab clears the count in the person's other tab and on their other device;
// a busy room's burst is counted whole without hiding the rest of the workspace.
import { expect, test } from "@playwright/test";
import {
  activityFeed,
  createRoom,
  createRoomOverHttp,
  messageLog,
  notificationsButton,
  openRoom,
  peopleHere,
  postMessages,
  sendMessage,
  signedInPerson,
  unique,
} from "./helpers";

test("the feed shows a new room; a mention is counted, listed, and read in every tab", async ({ browser }) => {
  const fay = await signedInPerson(browser, "Fay");
  const gus = await signedInPerson(browser, "Gus");
  const gusOtherTab = await gus.context.newPage();
  await gusOtherTab.goto("/");
  // Another device: its own browser context (no shared storage, no messages between tabs), the
  // same person signed in. Only the server's read marker can reach it.
  const gusPhone = await browser.newContext();
  await gusPhone.addCookies(await gus.context.cookies());
  const phone = await gusPhone.newPage();
  await phone.goto("/");
  for (const page of [gus.page, gusOtherTab, phone]) await expect(activityFeed(page)).toBeAttached();

  const room = unique("launch");
  await createRoom(fay.page, room);
  await expect(activityFeed(gus.page)).toContainText(`Fay created #${room}`);

  await openRoom(fay.page, room);
  await sendMessage(fay.page, "@Gus could you review the launch plan?");
  await expect(activityFeed(gus.page)).toContainText(`Fay in #${room}: @Gus could you review`);

  for (const page of [gus.page, gusOtherTab, phone]) {
    await expect(notificationsButton(page)).toHaveAccessibleName("Notifications, 1 unread");
    await expect(notificationsButton(page)).toHaveText("1");
    await expect(page).toHaveTitle("(1) Realtime Workspace");
  }
  // The toast (the feed panel's "For you" says so too).
  await expect(gus.page.getByRole("link", { name: `Fay mentioned you in #${room}` })).toBeVisible();

  await notificationsButton(gus.page).click();
  const panel = gus.page.getByRole("region", { name: "Mentions" });
  await expect(panel).toContainText(`Fay mentioned you in #${room}`);
  await expect(panel).toContainText("could you review the launch plan?");
  await expect(notificationsButton(gus.page)).toHaveAccessibleName("Notifications");
  await expect(gus.page).toHaveTitle("Realtime Workspace");

  await expect(notificationsButton(gusOtherTab)).toHaveAccessibleName("Notifications");
  await expect(gusOtherTab).toHaveTitle("Realtime Workspace");
  // The other device hears it from the server at once, not at its next refresh (30 s).
  await expect(notificationsButton(phone)).toHaveAccessibleName("Notifications", { timeout: 5_000 });
  await expect(phone).toHaveTitle("Realtime Workspace");
  await gusPhone.close();
  await fay.context.close();
  await gus.context.close();
});

test("someone looking into several rooms in a row is one item in the feed, naming each room", async ({ browser, baseURL }) => {
  const rooms = ["a", "b", "c"].map((r) => unique(`round-${r}`));
  for (const room of rooms) await createRoomOverHttp(baseURL!, room);
  const watcher = await signedInPerson(browser, "Wes");
  const abe = await signedInPerson(browser, `Abe ${unique("x").slice(-4)}`);
  for (const room of rooms) {
    await openRoom(abe.page, room);
    // In: the server has his join (the page shows him here), not only the page its history.
    await expect(peopleHere(abe.page)).toHaveCount(1);
  }

  const item = activityFeed(watcher.page).getByRole("listitem").filter({ hasText: `${abe.name} joined` });
  await expect(item).toHaveCount(1);
  await expect(item).toContainText(`#${rooms[0]}, #${rooms[1]} and #${rooms[2]}`);
  for (const room of rooms) await expect(item.getByRole("link", { name: `#${room}` })).toBeVisible();
  await watcher.context.close();
  await abe.context.close();
});

test("two people of one name are told apart in every feed item, not only where both are named", async ({ browser }) => {
  const name = `Sam ${unique("s").slice(-4)}`;
  const first = await signedInPerson(browser, name);
  const second = await signedInPerson(browser, name);
  const room = unique("twins");
  await createRoom(first.page, room);
  await openRoom(second.page, room);
  await sendMessage(second.page, "hello from the second");
  const feed = activityFeed(first.page);
  await expect(feed.getByRole("listitem").filter({ hasText: "hello from the second" })).toContainText(new RegExp(`^${name} #\\S+ in #${room}`));
  await expect(feed.getByRole("listitem").filter({ hasText: `created #${room}` })).toContainText(new RegExp(`^${name} #\\S+ created`));
  await first.context.close();
  await second.context.close();
});

test("a name with spaces is mentioned whole: counted for that person, shown as one mention, and read with its room", async ({ browser }) => {
  const room = unique("docs");
  const ivy = await signedInPerson(browser, "Ivy");
  await createRoom(ivy.page, room);
  const hal = await signedInPerson(browser, "Hal Jordan", `/rooms/${room}`);
  await openRoom(hal.page, room);
  await expect(peopleHere(ivy.page)).toHaveCount(2);

  await openRoom(hal.page, "general");

  await sendMessage(ivy.page, "@Hal Jordan the docs are live");
  await expect(notificationsButton(hal.page)).toHaveAccessibleName("Notifications, 1 unread");
  await expect(notificationsButton(ivy.page)).toHaveAccessibleName("Notifications");
  // Hal reads the room down to it: the mention is read with it, the bell never opened.
  await openRoom(hal.page, room);
  for (const page of [ivy.page, hal.page]) {
    await expect(messageLog(page).getByText("@Hal Jordan", { exact: true })).toBeVisible();
  }
  await expect(notificationsButton(hal.page)).toHaveAccessibleName("Notifications");
  await expect(hal.page).toHaveTitle("Realtime Workspace");
  await ivy.context.close();
  await hal.context.close();
});

test("a feed item links to its message: the room loads back to it, shows it and highlights it", async ({ browser, baseURL }) => {
  const kim = await signedInPerson(browser, "Kim");
  const room = unique("linked");
  await createRoom(kim.page, room);
  await sendMessage(kim.page, "the decision is in the doc");
  await expect(messageLog(kim.page).getByText("the decision is in the doc")).toBeVisible();
  // A new room next ends the burst, so the message keeps a feed item of its own; then enough
  // after it that it is neither in the room's newest page nor the feed's.
  await createRoomOverHttp(baseURL!, unique("aside"));
  await postMessages(baseURL!, room, Array.from({ length: 80 }, (_, i) => `chatter ${i + 1}`));

  const lou = await signedInPerson(browser, "Lou");
  // Every message has a URL of its own: a busy room's feed must not fetch the room's page for
  // each link it shows (Next prefetches links as they come into view unless told not to).
  const fetchedMessagePages: string[] = [];
  lou.page.on("request", (req) => {
    if (/\/rooms\/[^/?]+\?seq=/.test(req.url())) fetchedMessagePages.push(req.url());
  });
  const feed = activityFeed(lou.page);
  await expect(feed.getByRole("listitem").filter({ hasText: `new messages in #${room}` })).toContainText("chatter 80");
  // Further back than the feed's first page: the feed reads on until it holds more than the burst.
  const item = feed.getByRole("link", { name: "the decision is in the doc" });
  await expect(item).toHaveAttribute("href", new RegExp(`/rooms/${room}\\?seq=\\d+$`));
  // Seen and hovered, as a person about to click; a prefetch would have gone out by now.
  await item.hover();
  await lou.page.waitForTimeout(1_000);
  expect(fetchedMessagePages).toEqual([]);
  await item.click();

  await expect(lou.page).toHaveURL(new RegExp(`/rooms/${room}\\?seq=`));
  const log = messageLog(lou.page);
  const linked = log.getByRole("listitem").filter({ hasText: "the decision is in the doc" });
  await expect(linked).toBeInViewport();
  await expect(linked).toHaveAttribute("aria-current", "true");
  // The newest is further down, not where the view is.
  await expect(log.getByText("chatter 80", { exact: true })).not.toBeInViewport();
  await kim.context.close();
  await lou.context.close();
});

test("a busy room's burst does not take over the feed: it counts every message, and the rooms before it still show", async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  const quiet = unique("quiet");
  const busy = unique("busy");
  await createRoomOverHttp(baseURL!, quiet);
  await postMessages(baseURL!, quiet, ["before the burst"]);
  await createRoomOverHttp(baseURL!, busy);
  await postMessages(baseURL!, busy, Array.from({ length: 120 }, (_, i) => `burst ${i + 1}`), { ordered: false });

  const ida = await signedInPerson(browser, "Ida");
  const feed = activityFeed(ida.page);
  // More than the first page (50) of the feed: older pages are read until the burst is whole.
  await expect(feed.getByRole("listitem").filter({ hasText: `#${busy}` }).first()).toContainText(`120 new messages in #${busy}`);
  await expect(feed.getByRole("listitem").filter({ hasText: `#${quiet}` }).filter({ hasText: "before the burst" })).toBeVisible();
  await ida.context.close();
});

test("a mention's toast leaves the room's header in reach, and goes once its room is read", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  // A name no one else here has: the mention is hers, whoever else is called Lin.
  const lin = await signedInPerson(browser, `Lin ${unique("t").slice(-6)}`);
  const room = unique("toast");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  await openRoom(lin.page, "general");
  // Lin's page is live (a mention it first hears of in its opening refresh has no toast).
  await expect(lin.page.getByText("SSE · connected")).toBeVisible();
  await lin.page.waitForTimeout(500);
  // Long enough that the toast is as wide as it gets.
  await sendMessage(ada.page, `@${lin.name} have a look at the plan for the launch when you have a moment, before the review on Thursday`);
  const toast = lin.page.getByRole("link", { name: `Ada mentioned you in #${room}` });
  await expect(toast).toBeVisible();
  const inspector = lin.page.getByRole("button", { name: "Inspector" });
  const onTop = await inspector.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
  });
  expect(onTop).toBe(true);
  // Read where it was written: the toast is not news any more.
  // Opened from For you (not from the toast itself, which would close it).
  await lin.page.getByRole("list", { name: "For you" }).getByRole("link").first().click();
  await expect(messageLog(lin.page).getByText("have a look")).toBeVisible();
  await expect(toast).toHaveCount(0);
  await ada.context.close();
  await lin.context.close();
});
