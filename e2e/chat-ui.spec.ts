// The chat panel as a reader meets it: older pages on scrolling up (the view stays put), pinned
// to the newest unless scrolled up (then "Jump to latest" counts new messages), typing lines, the Send
// button, long words wrapping, times relative with the exact one on hover — and a reset that
// reloads the page is not news.
import { expect, test } from "@playwright/test";
import {
  atBottom,
  createRoom,
  createRoomOverHttp,
  expectConnected,
  messageLog,
  newMessagesPill,
  openRoom,
  postMessages,
  sendMessage,
  signedInPerson,
  unique,
} from "./helpers";

const numbered = (from: number, to: number, prefix = "msg") => Array.from({ length: to - from + 1 }, (_, i) => `${prefix} ${from + i}`);

test("scrolling up loads older pages over HTTP and keeps the view where it was", async ({ browser, baseURL }) => {
  const room = unique("scroll");
  await createRoomOverHttp(baseURL!, room);
  await postMessages(baseURL!, room, numbered(1, 120));
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);
  const log = messageLog(lin.page);
  await expect(log.getByText("msg 120", { exact: true })).toBeVisible();
  expect(await atBottom(lin.page)).toBe(true);
  // The newest page (100) is loaded; only the rows near the view are in the page.
  expect(await log.getByRole("listitem").count()).toBeLessThan(60);

  // Up to the top: the page before the oldest shown comes over HTTP with before=.
  const top = log.getByText("msg 21", { exact: true });
  const older = lin.page.waitForRequest((r) => /\/api\/rooms\/[^/]+\/events\?.*before=21/.test(r.url()));
  await log.evaluate((el) => el.scrollTo({ top: 0 }));
  await older;
  await expect(log.getByText("msg 20", { exact: true })).toBeAttached();
  // What was at the top is still in view, where it was: the new page went in above it.
  await expect(top).toBeInViewport();
  expect(await log.evaluate((el) => el.scrollTop)).toBeGreaterThan(200);

  // And on to the beginning.
  await log.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(log.getByText("msg 1", { exact: true })).toBeAttached();
  await log.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(log.getByText(`This is the beginning of #${room}.`)).toBeVisible();
  expect(await log.getByRole("listitem").count()).toBeLessThan(60);
  await lin.context.close();
});

test("pinned to the newest message, unless the reader scrolled up: then a pill counts new ones and jumps down", async ({ browser, baseURL }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("pill");
  await createRoom(ada.page, room);
  await postMessages(baseURL!, room, numbered(1, 60));
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);
  await expectConnected(lin.page);
  const log = messageLog(lin.page);

  await sendMessage(ada.page, "followed at the bottom");
  await expect(log.getByText("followed at the bottom")).toBeInViewport();
  expect(await atBottom(lin.page)).toBe(true);
  await expect(newMessagesPill(lin.page)).toHaveCount(0);

  await log.evaluate((el) => el.scrollBy({ top: -400 }));
  await sendMessage(ada.page, "while Lin reads back 1");
  await sendMessage(ada.page, "while Lin reads back 2");
  await expect(newMessagesPill(lin.page)).toHaveText("Jump to latest, 2 new messages");
  expect(await atBottom(lin.page)).toBe(false);

  await newMessagesPill(lin.page).click();
  await expect(log.getByText("while Lin reads back 2")).toBeInViewport();
  await expect(newMessagesPill(lin.page)).toHaveCount(0);
  expect(await atBottom(lin.page)).toBe(true);
  await ada.context.close();
  await lin.context.close();
});

test("a reset reloads the newest page, and the pill counts none of it as new", async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  const room = unique("reset");
  await createRoomOverHttp(baseURL!, room);
  await postMessages(baseURL!, room, numbered(1, 80));
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);
  await expectConnected(lin.page);
  const log = messageLog(lin.page);
  // Lin reads from the very beginning, and new messages come in meanwhile.
  await log.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(log.getByText(`This is the beginning of #${room}.`)).toBeVisible();
  await log.evaluate((el) => el.scrollTo({ top: 0 }));
  await postMessages(baseURL!, room, ["new 1", "new 2"]);
  await expect(newMessagesPill(lin.page)).toHaveText("Jump to latest, 2 new messages");

  // Away while more than the server replays (1000) is written: coming back is a reset.
  await lin.context.setOffline(true);
  await expect(lin.page.getByRole("status")).toHaveText("Offline");
  await postMessages(baseURL!, room, numbered(1, 1010, "while away"), { ordered: false });
  await lin.context.setOffline(false);
  await expect(lin.page.getByRole("status")).toHaveText("WebSocket · connected");
  await expect(log.getByText("msg 80", { exact: true })).toHaveCount(0);
  await expect(log.getByText(/^while away/).first()).toBeVisible();
  // The reloaded page is the room as it is now: nothing in it is counted as new.
  await lin.page.waitForTimeout(500);
  await expect(newMessagesPill(lin.page)).toHaveCount(0);

  // Messages after it count again for a reader scrolled up.
  await log.evaluate((el) => el.scrollTo({ top: 0 }));
  await postMessages(baseURL!, room, ["after the reset"]);
  await expect(newMessagesPill(lin.page)).toHaveText("Jump to latest, 1 new message");
  await lin.context.close();
});

test("typing lines, the Send button, long words wrapping, and times relative with the exact one on hover", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("panel");
  await createRoom(ada.page, room);
  const lin = await signedInPerson(browser, "Lin");
  const mo = await signedInPerson(browser, "Mo");
  await openRoom(lin.page, room);
  await openRoom(mo.page, room);
  await expectConnected(mo.page);

  // Three guests here: each one's "G" is drawn over the avatar that overlaps it, not under it.
  const marks = mo.page.getByRole("list", { name: "People here" }).getByText("G", { exact: true });
  await expect(marks).toHaveCount(3);
  for (const mark of await marks.all()) {
    const onTop = await mark.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
    });
    expect(onTop).toBe(true);
  }

  await ada.page.getByLabel("Message", { exact: true }).pressSequentially("Hel");
  await expect(mo.page.getByText("Ada is typing…")).toBeVisible();
  await lin.page.getByLabel("Message", { exact: true }).pressSequentially("Hi");
  await expect(mo.page.getByText(/^(Ada and Lin|Lin and Ada) are typing…$/)).toBeVisible();

  // The button sends as Enter does.
  await ada.page.getByLabel("Message", { exact: true }).fill("sent with the button");
  await ada.page.getByRole("button", { name: "Send" }).click();
  await expect(messageLog(mo.page).getByText("sent with the button")).toBeVisible();
  await expect(ada.page.getByLabel("Message", { exact: true })).toHaveValue("");
  await expect(mo.page.getByText("Lin is typing…")).toBeVisible();

  // One very long word wraps inside the panel instead of widening it.
  const word = "Pneumonoultramicroscopicsilicovolcanoconiosis".repeat(8);
  await sendMessage(lin.page, word);
  const log = messageLog(mo.page);
  await expect(log.getByText(word)).toBeVisible();
  expect(await log.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  const box = (await log.getByText(word).boundingBox())!;
  const logBox = (await log.boundingBox())!;
  expect(box.x + box.width).toBeLessThanOrEqual(logBox.x + logBox.width);

  // Relative time, exact on hover.
  const time = log.getByRole("listitem").filter({ hasText: "sent with the button" }).locator("time");
  await expect(time).toHaveText("just now");
  await expect(time).toHaveAttribute("title", new RegExp(`\\b${new Date().getFullYear()}\\b.*\\d:\\d\\d:\\d\\d`));
  await ada.context.close();
  await lin.context.close();
  await mo.context.close();
});

test("the reaction picker of the topmost message opens where it can be seen, and the keyboard's focus comes back from it", async ({ browser, baseURL }) => {
  const room = unique("picker");
  await createRoomOverHttp(baseURL!, room);
  await postMessages(baseURL!, room, numbered(1, 30));
  const ada = await signedInPerson(browser, "Ada");
  await openRoom(ada.page, room);
  const log = messageLog(ada.page);
  // The first message at the very top of the conversation.
  await log.evaluate((el) => (el.scrollTop = 0));
  const first = log.getByRole("listitem").filter({ has: ada.page.getByText("msg 1", { exact: true }) });
  await first.hover();
  const reactButton = first.getByRole("toolbar").getByRole("button", { name: "React", exact: true });
  await reactButton.click();
  const picker = ada.page.getByRole("dialog", { name: "Add a reaction" });
  await expect(picker.getByRole("button", { name: "React with 👍" })).toBeFocused();
  // Wholly inside the conversation, not cut off under the room's header.
  const [pickerBox, logBox] = [await picker.boundingBox(), await log.boundingBox()];
  expect(pickerBox!.y).toBeGreaterThanOrEqual(logBox!.y);
  expect(pickerBox!.y + pickerBox!.height).toBeLessThanOrEqual(logBox!.y + logBox!.height);
  await expect(picker.getByRole("button", { name: "React with 👍" })).toBeInViewport({ ratio: 1 });

  // Escape: closed, and the keyboard is back on "React", not dropped to the page.
  await ada.page.keyboard.press("Escape");
  await expect(picker).toHaveCount(0);
  await expect(reactButton).toBeFocused();
  // Chosen from the keyboard: the same.
  await ada.page.keyboard.press("Enter");
  await expect(picker.getByRole("button", { name: "React with 👍" })).toBeFocused();
  await ada.page.keyboard.press("Enter");
  await expect(first.getByRole("button", { name: /reacted with 👍/ })).toHaveText("👍1");
  await expect(reactButton).toBeFocused();

  // Tabbed out of, it closes.
  await ada.page.keyboard.press("Enter");
  await picker.getByLabel("Another emoji").focus();
  await ada.page.keyboard.press("Tab");
  await ada.page.keyboard.press("Tab");
  await expect(picker).toHaveCount(0);

  // A message at the top of the view, just under the day's sticky label: its toolbar still
  // shows beside the label and takes the click.
  const middle = log.getByRole("listitem").filter({ has: ada.page.getByText("msg 4", { exact: true }) });
  await middle.evaluate((item) => {
    const scroller = item.closest('[role="log"]')!;
    scroller.scrollTop += item.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 16;
  });
  await middle.hover();
  const topReact = middle.getByRole("toolbar").getByRole("button", { name: "React", exact: true });
  const at = (await topReact.boundingBox())!;

  // What a click there meets: the button, not a label drawn over it.
  expect(await ada.page.evaluate(([x, y]) => document.elementFromPoint(x!, y!)?.textContent, [at.x + at.width / 2, at.y + at.height / 2])).toBe("React");
  await topReact.click();
  await expect(picker).toBeVisible();
  await ada.context.close();
});

test("the keyboard alone reaches a message's actions: ↑ and ↓ move between messages, Tab enters the toolbar", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("keys");
  await createRoom(ada.page, room);
  for (const text of ["first of three", "second of three", "third of three"]) await sendMessage(ada.page, text);
  const log = messageLog(ada.page);
  const item = (text: string) => log.getByRole("listitem").filter({ has: ada.page.getByText(text, { exact: true }) });
  // Sent, not pending: a pending message is not one of the list's messages yet.
  await expect(item("third of three").locator("[data-message]")).toBeVisible();

  // From the conversation: ↑ is the newest message in view, ↑ again the one before.
  await log.focus();
  await ada.page.keyboard.press("ArrowUp");
  await expect(item("third of three").locator("[data-message]")).toBeFocused();
  await ada.page.keyboard.press("ArrowUp");
  await expect(item("second of three").locator("[data-message]")).toBeFocused();
  // Its toolbar shows, and Tab goes into it.
  const toolbar = item("second of three").getByRole("toolbar");
  await expect(toolbar).toBeVisible();
  await ada.page.keyboard.press("Tab");
  await expect(toolbar.getByRole("button", { name: "React", exact: true })).toBeFocused();
  // Edit, from the keyboard: Tab to it, Enter, a new text, Enter.
  await ada.page.keyboard.press("Tab");
  await ada.page.keyboard.press("Tab");
  await expect(toolbar.getByRole("button", { name: "Edit", exact: true })).toBeFocused();
  await ada.page.keyboard.press("Enter");
  await ada.page.getByLabel("Edit message").fill("second of three, edited by keyboard");
  await ada.page.getByLabel("Edit message").press("Enter");
  await expect(log.getByText("second of three, edited by keyboard")).toBeVisible();
  await ada.context.close();
});
