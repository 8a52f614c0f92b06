// Unread rooms (protocol 1.2) as people see them: a message in a room shows as a badge in the
// sidebar of the person reading another room, on every device of theirs; opening the room
// clears it everywhere and shows where the new messages start (opening at the first of them
// when they are more than the view holds); the tab's title counts rooms with unread; Ctrl+K
// switches rooms from the keyboard; the sidebar is a drawer on a phone.
import { expect, test, type Page } from "@playwright/test";
import { createRoomOverHttp, expectConnected, messageLog, notificationsButton, openRoom, postMessages, sendMessage, signedInPerson } from "./helpers";

/** Names that sort first, so the sidebar's first page (A–Z after the person's rooms) holds them. */
const early = (what: string) => `0${what}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;

const sidebar = (page: Page) => page.getByRole("navigation", { name: "Your rooms" });
const roomLink = (page: Page, room: string) => sidebar(page).getByRole("link", { name: new RegExp(`^#${room}(,|$)`) });

/** The person's read position in `room`, as the server has it. */
async function readSeqOf(page: Page, room: string): Promise<number> {
  const res = await page.request.get(`/api/rooms?q=${room}`);
  const { rooms } = (await res.json()) as { rooms: { id: string; readSeq?: number }[] };
  return rooms.find((r) => r.id === room)?.readSeq ?? 0;
}

/**
 * A new room `room` that the person on `page` reads as a message comes in ("read before"), then
 * leaves for another room, as a person moving between rooms does.
 */
async function readThenLeave(page: Page, baseURL: string, room: string): Promise<void> {
  await createRoomOverHttp(baseURL, room);
  await openRoom(page, room);
  await postMessages(baseURL, room, ["read before"]);
  await expect(messageLog(page).getByText("read before")).toBeVisible();
  await expect.poll(() => readSeqOf(page, room)).toBeGreaterThan(0);
  await openRoom(page, "general");
}

test("a message in another room is unread on every device until the room is opened on one", async ({ browser, baseURL }) => {
  const x = early("news");
  const y = early("desk");
  await createRoomOverHttp(baseURL!, x);
  await createRoomOverHttp(baseURL!, y);
  await postMessages(baseURL!, x, ["before Ada came"]);

  const lin = await signedInPerson(browser, "Lin");
  const ada = await signedInPerson(browser, "Ada");
  // Ada's second device: the same session in another browser context.
  const phoneContext = await browser.newContext({ storageState: await ada.context.storageState() });
  const phone = await phoneContext.newPage();
  try {
    // Ada reads X, then goes to Y.
    await openRoom(ada.page, x);
    await expect(messageLog(ada.page).getByText("before Ada came")).toBeVisible();
    await expect.poll(() => readSeqOf(ada.page, x)).toBeGreaterThan(0);
    await openRoom(ada.page, y);
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}`);
    await expect(ada.page).toHaveTitle("Realtime Workspace");
    await phone.goto("/");
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}`);

    // Lin writes in X.
    await openRoom(lin.page, x);
    await sendMessage(lin.page, "news from Lin");
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 1 unread`);
    await expect(roomLink(ada.page, x)).toHaveText(new RegExp(`#${x}\\s*1$`));
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}, 1 unread`);
    // The title counts the rooms with something unread.
    await expect(ada.page).toHaveTitle("(1) Realtime Workspace");

    // Ada opens X from the sidebar: where the new messages start is marked, and it is read.
    await roomLink(ada.page, x).click();
    await expect(ada.page).toHaveURL(new RegExp(`/rooms/${x}$`));
    const log = messageLog(ada.page);
    await expect(log.getByRole("separator", { name: "New messages" })).toBeVisible();
    await expect(log.getByText("news from Lin")).toBeVisible();
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}`);
    await expect(ada.page).toHaveTitle("Realtime Workspace");
    // And on her other device, which did nothing.
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}`);
    await expect(phone).toHaveTitle("Realtime Workspace");
  } finally {
    await phoneContext.close();
    await lin.context.close();
    await ada.context.close();
  }
});

/** Makes the page's tab hidden (another tab in front) or shown again, as the browser tells a page. */
async function setTabHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

test("messages that came while the room's tab was in the background are under New messages when it comes back", async ({ browser, baseURL }) => {
  const x = early("behind");
  await createRoomOverHttp(baseURL!, x);
  const ada = await signedInPerson(browser, "Ada");
  try {
    await openRoom(ada.page, x);
    await postMessages(baseURL!, x, ["seen before"]);
    const log = messageLog(ada.page);
    await expect(log.getByText("seen before")).toBeVisible();
    await expect.poll(() => readSeqOf(ada.page, x)).toBe(1);
    await expect(log.getByRole("separator", { name: "New messages" })).toHaveCount(0);

    await setTabHidden(ada.page, true);
    await postMessages(baseURL!, x, ["while away 1", "while away 2"]);
    await expect(log.getByText("while away 2")).toBeAttached();
    // Not read while nobody can see them.
    await ada.page.waitForTimeout(1_000);
    expect(await readSeqOf(ada.page, x)).toBe(1);

    await setTabHidden(ada.page, false);
    await expect(log.getByRole("listitem").filter({ has: ada.page.getByRole("separator", { name: "New messages" }) })).toContainText("while away 1");
    await expect.poll(() => readSeqOf(ada.page, x)).toBe(3);
  } finally {
    await ada.context.close();
  }
});

test("a message marked unread makes the room unread from it on, on every device, until it is opened again", async ({ browser, baseURL }) => {
  const x = early("later");
  await createRoomOverHttp(baseURL!, x);
  await postMessages(baseURL!, x, ["first thing", "deal with this later", "and one more"]);
  const ada = await signedInPerson(browser, "Ada");
  const phoneContext = await browser.newContext({ storageState: await ada.context.storageState() });
  const phone = await phoneContext.newPage();
  try {
    await openRoom(ada.page, x);
    const log = messageLog(ada.page);
    await expect(log.getByText("and one more")).toBeVisible();
    await expect.poll(() => readSeqOf(ada.page, x)).toBe(3);
    await phone.goto("/");
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}`);

    // Ada marks the second message unread, from its toolbar.
    const later = log.getByRole("listitem").filter({ hasText: "deal with this later" });
    await later.hover();
    await later.getByRole("button", { name: "Mark unread" }).click();
    // Two messages unread, here and on her phone; the divider above the one she marked.
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 2 unread`);
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}, 2 unread`);
    await expect(ada.page).toHaveTitle("(1) Realtime Workspace");
    await expect(log.getByRole("listitem").filter({ has: ada.page.getByRole("separator", { name: "New messages" }) })).toContainText("deal with this later");
    // Staying in the room, looking at it, does not read it again.
    await ada.page.waitForTimeout(1_500);
    expect(await readSeqOf(ada.page, x)).toBe(1);
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 2 unread`);
    // A new message meanwhile is one more unread.
    await postMessages(baseURL!, x, ["news after the mark"]);
    await expect(log.getByText("news after the mark")).toBeVisible();
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 3 unread`);

    // Away and back: the room opens at the message she marked, and is read.
    await openRoom(ada.page, "general");
    await roomLink(ada.page, x).click();
    await expect(log.getByRole("listitem").filter({ has: ada.page.getByRole("separator", { name: "New messages" }) })).toContainText("deal with this later");
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}`);
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}`);
    await expect.poll(() => readSeqOf(ada.page, x)).toBe(4);
  } finally {
    await phoneContext.close();
    await ada.context.close();
  }
});

test("a muted room's messages are not counted as unread, on every device, but a mention there is; unmuted, they are", async ({ browser, baseURL }) => {
  const x = early("noisy");
  const y = early("calm");
  const name = `Ada${Date.now().toString(36)}`;
  const ada = await signedInPerson(browser, name);
  const phoneContext = await browser.newContext({ storageState: await ada.context.storageState() });
  const phone = await phoneContext.newPage();
  try {
    // Two rooms of Ada's, read.
    await readThenLeave(ada.page, baseURL!, x);
    await readThenLeave(ada.page, baseURL!, y);
    await phone.goto("/");
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}`);

    // Ada mutes X from its header, then goes back to general.
    await openRoom(ada.page, x);
    const toggle = ada.page.getByRole("button", { name: "Mute room" });
    await expect(toggle).toHaveAttribute("aria-pressed", "false");
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-pressed", "true");
    await expect(roomLink(phone, x)).toHaveAccessibleName(`#${x}, muted`);
    await openRoom(ada.page, "general");

    // Messages in both: Y's count, X's none, here and on the phone; the titles count Y alone.
    await postMessages(baseURL!, x, ["chatter", "more chatter"]);
    await postMessages(baseURL!, y, ["something for Ada"]);
    for (const page of [ada.page, phone]) {
      await expect(roomLink(page, y)).toHaveAccessibleName(`#${y}, 1 unread`);
      await expect(roomLink(page, x)).toHaveAccessibleName(`#${x}, muted`);
      await expect(page).toHaveTitle("(1) Realtime Workspace");
    }
    // A mention of her there still is news: a badge of its own.
    await postMessages(baseURL!, x, [`@${name} this one is for you`]);
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, muted, a mention of you`);
    await expect(roomLink(ada.page, x)).toHaveText(new RegExp(`#${x}\\s*1$`));
    // Seen in the bell, it still waits in its room until the room is read, as in Slack.
    await notificationsButton(ada.page).click();
    await expect(notificationsButton(ada.page)).not.toHaveAccessibleName(/unread/);
    await notificationsButton(ada.page).click();
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, muted, a mention of you`);

    // Unmuted on the phone (where X is opened, and so read, the mention too): from then on its
    // messages count, on both.
    await openRoom(phone, x);
    await phone.getByRole("button", { name: "Mute room" }).click();
    await expect(phone.getByRole("button", { name: "Mute room" })).toHaveAttribute("aria-pressed", "false");
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}`);
    await openRoom(phone, "general");
    await postMessages(baseURL!, x, ["worth reading"]);
    for (const page of [ada.page, phone]) await expect(roomLink(page, x)).toHaveAccessibleName(`#${x}, 1 unread`);
    await expect(ada.page).toHaveTitle("(2) Realtime Workspace");

    // From the sidebar too, without opening the room (which would read it): Y muted, and back.
    const yRow = sidebar(ada.page).getByRole("listitem").filter({ has: ada.page.getByRole("link", { name: new RegExp(`^#${y}(,|$)`) }) });
    await yRow.hover();
    await yRow.getByRole("button", { name: `Mute #${y}` }).click();
    for (const page of [ada.page, phone]) await expect(roomLink(page, y)).toHaveAccessibleName(`#${y}, muted`);
    await expect(ada.page).toHaveTitle("(1) Realtime Workspace");
    await yRow.getByRole("button", { name: `Mute #${y}` }).click();
    await expect(yRow.getByRole("button", { name: `Mute #${y}` })).toHaveAttribute("aria-pressed", "false");
    for (const page of [ada.page, phone]) await expect(roomLink(page, y)).toHaveAccessibleName(`#${y}, 1 unread`);
  } finally {
    await phoneContext.close();
    await ada.context.close();
  }
});

test("a room joined while it was empty counts what comes after, on a page loaded since", async ({ browser, baseURL }) => {
  const quiet = early("quiet");
  await createRoomOverHttp(baseURL!, quiet);
  const lin = await signedInPerson(browser, "Lin");
  // Lin joins it empty, then loads another room afresh: nothing was read there, nothing unread.
  await openRoom(lin.page, quiet);
  await expect(messageLog(lin.page).getByText(`This is the beginning of #${quiet}.`)).toBeVisible();
  // Her join is recorded (the feed says so just before it writes the membership).
  await expect(lin.page.getByRole("list", { name: "Activity" })).toContainText(new RegExp(`joined .*#${quiet}`));
  await openRoom(lin.page, "general");
  await expect(roomLink(lin.page, quiet)).toHaveAccessibleName(`#${quiet}`);
  // Connected, and the sidebar asked again as the feed connected: the count must come live.
  await expectConnected(lin.page);
  await lin.page.waitForTimeout(1_000);

  await postMessages(baseURL!, quiet, ["first words", "second words"]);
  await expect(roomLink(lin.page, quiet)).toHaveAccessibleName(`#${quiet}, 2 unread`);
  await lin.context.close();
});

test("a room with more new messages than the view holds opens at the first of them, and is read once the reader reaches the end", async ({ browser, baseURL }) => {
  const x = early("backlog");
  const ada = await signedInPerson(browser, "Ada");
  try {
    await readThenLeave(ada.page, baseURL!, x);
    await postMessages(baseURL!, x, Array.from({ length: 60 }, (_, i) => `backlog ${i + 1}`));
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 60 unread`);

    await roomLink(ada.page, x).click();
    const log = messageLog(ada.page);
    await expect(log.getByRole("separator", { name: "New messages" })).toBeInViewport();
    await expect(log.getByText("backlog 1", { exact: true })).toBeInViewport();
    await expect(log.getByText("backlog 60", { exact: true })).not.toBeInViewport();
    // Not read while the reader is still above the end (reads wait half a second at the end).
    await ada.page.waitForTimeout(1_000);
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 60 unread`);
    await ada.page.getByRole("button", { name: /^Jump to latest/ }).click();
    await expect(log.getByText("backlog 60", { exact: true })).toBeInViewport();
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}`);
  } finally {
    await ada.context.close();
  }
});

test("a room opened with a few more new messages than fit shows its divider whole, below the day's label", async ({ browser, baseURL }) => {
  const ada = await signedInPerson(browser, "Ada");
  try {
    // Around what one view holds, where the divider used to sit just above the view's top.
    for (const count of [18, 22, 26, 30]) {
      const x = early(`edge${count}`);
      await readThenLeave(ada.page, baseURL!, x);
      await postMessages(baseURL!, x, Array.from({ length: count }, (_, i) => `edge ${i + 1}`));
      await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, ${count} unread`);
      await roomLink(ada.page, x).click();
      const log = messageLog(ada.page);
      const divider = log.getByRole("separator", { name: "New messages" });
      await expect(divider).toBeInViewport({ ratio: 1 });
      // The day's pill kept over the top of the view does not cover it.
      const pill = log.locator(".sticky span");
      if ((await pill.count()) > 0) {
        const [p, d] = [(await pill.boundingBox())!, (await divider.boundingBox())!];
        expect(p.y + p.height, `with ${count} new`).toBeLessThanOrEqual(d.y);
      }
      await openRoom(ada.page, "general");
    }
  } finally {
    await ada.context.close();
  }
});

test("a room with more new messages than a page opens at the first of them all, not the first of the page", async ({ browser, baseURL }) => {
  const x = early("flood");
  const ada = await signedInPerson(browser, "Ada");
  try {
    await readThenLeave(ada.page, baseURL!, x);
    await postMessages(baseURL!, x, Array.from({ length: 130 }, (_, i) => `flood ${i + 1}`));
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 99+ unread`);

    await roomLink(ada.page, x).click();
    const log = messageLog(ada.page);
    await expect(log.getByRole("separator", { name: "New messages" })).toBeInViewport();
    await expect(log.getByText("flood 1", { exact: true })).toBeInViewport();
    await expect(log.getByText("read before", { exact: true })).toBeAttached();
    // Read on down to the end: the newest is there, and then read.
    await ada.page.getByRole("button", { name: /^Jump to latest/ }).click();
    await expect(log.getByText("flood 130", { exact: true })).toBeInViewport();
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}`);
  } finally {
    await ada.context.close();
  }
});

test("a room joined while it was empty opens at the first message that came since, under New messages", async ({ browser, baseURL }) => {
  const x = early("empty");
  await createRoomOverHttp(baseURL!, x);
  const ada = await signedInPerson(browser, "Ada");
  try {
    // Ada looks in while nothing is there (joined, nothing to read), then goes elsewhere.
    await openRoom(ada.page, x);
    await expect
      .poll(async () => ((await (await ada.page.request.get(`/api/rooms?q=${x}`)).json()) as { rooms: { id: string; joined?: boolean }[] }).rooms.find((r) => r.id === x)?.joined)
      .toBe(true);
    await openRoom(ada.page, "general");
    await postMessages(baseURL!, x, Array.from({ length: 45 }, (_, i) => `since ${i + 1}`));
    await expect(roomLink(ada.page, x)).toHaveAccessibleName(`#${x}, 45 unread`);

    await roomLink(ada.page, x).click();
    const log = messageLog(ada.page);
    await expect(log.getByRole("separator", { name: "New messages" })).toBeInViewport();
    await expect(log.getByText("since 1", { exact: true })).toBeInViewport();
  } finally {
    await ada.context.close();
  }
});

test("Ctrl+K opens a switcher that finds a room, moves by arrow keys and opens it with Enter", async ({ browser, baseURL }) => {
  const first = early("alpha");
  const second = early("alpine");
  await createRoomOverHttp(baseURL!, first);
  await createRoomOverHttp(baseURL!, second);
  const ada = await signedInPerson(browser, "Ada");
  try {
    await openRoom(ada.page, first);
    const composer = ada.page.getByLabel("Message", { exact: true });
    await composer.focus();

    // Escape closes it, and the focus is back where it was.
    await ada.page.keyboard.press("Control+k");
    const dialog = ada.page.getByRole("dialog", { name: "Switch to a room" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("combobox", { name: "Find a room" })).toBeFocused();
    await ada.page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(composer).toBeFocused();

    await ada.page.keyboard.press("Control+k");
    await ada.page.keyboard.type(second.slice(0, -1));
    const options = dialog.getByRole("option");
    await expect(options).toHaveCount(1);
    await expect(options.first()).toHaveText(`#${second}`);
    await ada.page.keyboard.press("Control+a");
    await ada.page.keyboard.type("0alp");
    // Both rooms (and perhaps others of earlier tests): the arrow moves the selection.
    await expect(dialog.getByRole("option", { name: `#${second}` })).toBeVisible();
    const selected = dialog.getByRole("option", { selected: true });
    await expect(selected).toHaveCount(1);
    const before = await selected.textContent();
    await ada.page.keyboard.press("ArrowDown");
    await expect(selected).not.toHaveText(before!);
    // Straight to the room asked for: type it whole and press Enter.
    await ada.page.keyboard.press("Control+a");
    await ada.page.keyboard.type(`#${second}`);
    await expect(options).toHaveCount(1);
    await ada.page.keyboard.press("Enter");
    await expect(ada.page).toHaveURL(new RegExp(`/rooms/${second}$`));
    await expect(dialog).toBeHidden();
    await expect(ada.page.getByRole("heading", { name: `#${second}` })).toBeVisible();
  } finally {
    await ada.context.close();
  }
});

test("on a phone the rooms sidebar is a drawer behind a button", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  try {
    await ada.page.setViewportSize({ width: 390, height: 800 });
    const toggle = ada.page.getByRole("button", { name: "Rooms", exact: true });
    await expect(toggle).toHaveAttribute("aria-expanded", "false");
    await expect(sidebar(ada.page)).toBeHidden();
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-expanded", "true");
    await expect(sidebar(ada.page)).toBeVisible();
    // Following a room closes the drawer.
    await roomLink(ada.page, "general").click();
    await expect(ada.page).toHaveURL(/\/rooms\/general$/);
    await expect(sidebar(ada.page)).toBeHidden();
    await expect(toggle).toHaveAttribute("aria-expanded", "false");
  } finally {
    await ada.context.close();
  }
});
