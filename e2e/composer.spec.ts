// Writing before the room is ready: a message sent while the room's history is still loading is
// not dropped — it goes, once, as soon as the room is ready.
import { expect, test, type Page } from "@playwright/test";
import { createRoom, messageLog, openRoom, sendMessage, signedInPerson, signOutGuest, unique } from "./helpers";

test("Enter pressed while the room is still loading sends the message once it has loaded", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("early");
  await createRoom(ada.page, room);

  const lin = await signedInPerson(browser, "Lin");
  // Lin's network is slow: the room's history answers only when the test says so.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await lin.page.route(`**/api/rooms/${room}/events**`, async (route) => {
    await released;
    await route.continue();
  });
  await lin.page.goto(`/rooms/${room}`);
  await expect(messageLog(lin.page)).toHaveAttribute("aria-busy", "true");

  const box = lin.page.getByLabel("Message", { exact: true });
  await box.fill("written before the room loaded");
  await box.press("Enter");
  await expect(lin.page.getByRole("status").filter({ hasText: "Sends as soon as the room has loaded." })).toBeVisible();

  release();
  await expect(messageLog(ada.page).getByText("written before the room loaded")).toHaveCount(1);
  await expect(messageLog(lin.page).getByText("written before the room loaded")).toHaveCount(1);
  await expect(box).toHaveValue("");
  await expect(lin.page.getByText("Sends as soon as the room has loaded.")).toHaveCount(0);
  await ada.context.close();
  await lin.context.close();
});

// Drafts: what is typed and not sent stays with its room on this device, as in Slack.
const sidebarLink = (page: Page, name: string | RegExp) =>
  page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", typeof name === "string" ? { name, exact: true } : { name });
/** `general`, whatever others wrote there meanwhile ("#general, 2 unread"). */
const GENERAL = /^#general(, \d+ unread)?$/;

test("a draft outlives a room switch and a reload, is marked in the sidebar, and goes once sent", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("draft");
  await createRoom(ada.page, room);
  const box = ada.page.getByLabel("Message", { exact: true });
  await box.fill("half a thought");

  // Another room, through the sidebar (no reload): its box is its own, and the pencil says
  // where the words wait.
  await sidebarLink(ada.page, GENERAL).click();
  await expect(ada.page.getByRole("heading", { level: 1, name: "#general" })).toBeVisible();
  await expect(box).toHaveValue("");
  await sidebarLink(ada.page, `#${room}, draft`).click();
  await expect(box).toHaveValue("half a thought");

  // A reload: still there, the caret after it.
  await ada.page.reload();
  await expect(box).toHaveValue("half a thought");
  await expect(box).toBeFocused();
  await box.press("End");
  await box.pressSequentially(", finished");
  await box.press("Enter");
  await expect(messageLog(ada.page).getByText("half a thought, finished")).toBeVisible();
  await expect(box).toHaveValue("");

  // Sent: no draft anywhere, after a reload either.
  await ada.page.reload();
  await expect(messageLog(ada.page).getByText("half a thought, finished")).toBeVisible();
  await expect(box).toHaveValue("");
  await sidebarLink(ada.page, GENERAL).click();
  await expect(sidebarLink(ada.page, `#${room}`)).toBeVisible();
  await ada.context.close();
});

test("a reply in progress is part of its draft: after a room switch and a reload it still answers its message", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("draft-reply");
  await createRoom(ada.page, room);
  await sendMessage(ada.page, "shall we ship friday");
  const original = messageLog(ada.page).getByRole("listitem").filter({ hasText: "shall we ship friday" });
  await original.hover();
  await original.getByRole("button", { name: "Reply" }).click();
  const replyBox = ada.page.getByLabel("Reply to Ada", { exact: true });
  await expect(replyBox).toBeFocused();
  await replyBox.fill("yes, after the");

  await sidebarLink(ada.page, GENERAL).click();
  await expect(ada.page.getByLabel("Message", { exact: true })).toHaveValue("");
  await expect(ada.page.getByText("Replying to")).toHaveCount(0);
  await sidebarLink(ada.page, `#${room}, draft`).click();
  await expect(replyBox).toHaveValue("yes, after the");
  await ada.page.reload();
  await expect(ada.page.getByText("Replying to Ada: shall we ship friday")).toBeVisible();
  await expect(replyBox).toHaveValue("yes, after the");

  await replyBox.press("End");
  await replyBox.pressSequentially(" review");
  await replyBox.press("Enter");
  const reply = messageLog(ada.page).getByRole("listitem").filter({ hasText: "yes, after the review" });
  await expect(reply.getByRole("button", { name: "Reply to Ada: shall we ship friday. Show it" })).toBeVisible();
  // Sent: the box answers nothing any more, after a reload either.
  await expect(ada.page.getByLabel("Message", { exact: true })).toHaveValue("");
  await ada.page.reload();
  await expect(reply).toBeVisible();
  await expect(ada.page.getByText("Replying to")).toHaveCount(0);
  await ada.context.close();
});

test("signing out forgets the drafts kept on the device", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("draft-out");
  await createRoom(ada.page, room);
  await ada.page.getByLabel("Message", { exact: true }).fill("not for the next person");
  await sidebarLink(ada.page, GENERAL).click();
  await expect(sidebarLink(ada.page, `#${room}, draft`)).toBeVisible();
  const stored = () =>
    ada.page.evaluate(() => [localStorage, sessionStorage].flatMap((s) => Object.keys(s).filter((k) => /not for the next person|left unsent/.test(s.getItem(k) ?? ""))));
  await expect.poll(stored).toHaveLength(1);
  // And a message a closed tab left unsent, which the tab still open takes to send when it can.
  const other = await ada.context.newPage();
  await other.goto("/");
  await createRoom(other, unique("unsent-out"));
  await ada.context.setOffline(true);
  await sendMessage(other, "left unsent");
  await expect(messageLog(other).getByRole("listitem").filter({ hasText: "left unsent" })).toContainText("Pending");
  await other.close();
  await expect.poll(stored).toHaveLength(2);

  // Signed out before it could go: it goes with the session, as the draft does.
  await signOutGuest(ada.page);
  await expect(ada.page.getByLabel("Display name")).toBeVisible();
  expect(await stored()).toEqual([]);
  await ada.context.close();
});

test("signing out in one tab leaves nothing another tab was typing a moment before", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("draft-tabs");
  await createRoom(ada.page, room);
  const other = await ada.context.newPage();
  await other.goto("/");
  await expect(other.getByRole("button", { name: "Account and settings" })).toBeVisible();
  const secret = `half-written secret ${unique("s")}`;
  const stored = () => ada.page.evaluate((text) => Object.keys(localStorage).filter((k) => localStorage.getItem(k)?.includes(text)), secret);

  // Typed in the room's tab, and at once signed out in the other, before the draft is written.
  await ada.page.getByLabel("Message", { exact: true }).fill(secret);
  await signOutGuest(other);
  await expect(ada.page.getByLabel("Display name")).toBeVisible();
  // Past the moment a pending write would have landed.
  await ada.page.waitForTimeout(1_000);
  expect(await stored()).toEqual([]);
  await ada.context.close();
});

// Unsent: a tab's outbox lives in its sessionStorage, which closing the tab loses.
test("a message written offline outlives its tab: the next tab sends it, once, whichever room it shows", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("unsent");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);

  await ada.context.setOffline(true);
  await expect(ada.page.getByRole("status")).toHaveText("Offline");
  await sendMessage(ada.page, "written on the train");
  await sendMessage(ada.page, "and a second thought");
  await expect(messageLog(ada.page).getByRole("listitem").filter({ hasText: "and a second thought" })).toContainText("Pending");
  await ada.page.close();

  // Back online, another tab, on #general: both go to their room, in order, once.
  await ada.context.setOffline(false);
  const again = await ada.context.newPage();
  await openRoom(again, "general");
  await expect(messageLog(lin.page).getByText("written on the train", { exact: true })).toHaveCount(1);
  await expect(messageLog(lin.page).getByText("and a second thought", { exact: true })).toHaveCount(1);
  await expect(messageLog(lin.page).getByRole("listitem").last()).toContainText("and a second thought");
  await expect(messageLog(again).getByText("and a second thought")).toHaveCount(0);
  await openRoom(again, room);
  await expect(messageLog(again).getByText("and a second thought", { exact: true })).toHaveCount(1);
  await expect(messageLog(again).getByText("Pending")).toHaveCount(0);

  // Sent: nothing is left to go again from a tab opened later.
  await again.close();
  const third = await ada.context.newPage();
  await openRoom(third, room);
  await expect(messageLog(third).getByText("and a second thought", { exact: true })).toHaveCount(1);
  await third.waitForTimeout(1_000);
  await expect(messageLog(lin.page).getByText("written on the train", { exact: true })).toHaveCount(1);
  expect(await third.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("rt-unsent:")))).toEqual([]);
  await ada.context.close();
  await lin.context.close();
});

test("an empty box is one line high, however long its placeholder", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("a-rather-long-room-name");
  await createRoom(ada.page, room);
  await ada.page.setViewportSize({ width: 390, height: 844 });
  const box = ada.page.getByLabel("Message", { exact: true });
  await expect(box).toHaveAttribute("placeholder", `Message #${room}`);
  const oneLine = async () => (await box.boundingBox())!.height;
  expect(await oneLine()).toBeLessThanOrEqual(41);
  // Text grows it; emptied, it is one line again.
  await box.fill("one\ntwo\nthree");
  expect(await oneLine()).toBeGreaterThan(41);
  await box.fill("");
  expect(await oneLine()).toBeLessThanOrEqual(41);
  await ada.context.close();
});

test("a name typed out whole before the emoji list has arrived becomes its emoji as the list comes in", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  await createRoom(ada.page, unique("emoji-slow"));
  const box = ada.page.getByLabel("Message", { exact: true });
  await expect(box).toBeEnabled();
  // A slow network from here on: every script the page fetches now (the list is one) takes a second.
  let delayed = 0;
  await ada.page.route("**/_next/static/chunks/**", async (route) => {
    delayed++;
    await new Promise((r) => setTimeout(r, 1_000));
    await route.continue();
  });
  await box.pressSequentially("done :tada:");
  await expect(box).toHaveValue("done 🎉");
  expect(delayed, "the list came over the slowed network").toBeGreaterThan(0);
  await ada.context.close();
});

test("`:` and a few letters offer emoji by name, picked with the keyboard; a name typed out whole becomes its emoji, in the edit box too; reactions are found by name", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  await createRoom(ada.page, unique("emoji"));
  const box = ada.page.getByLabel("Message", { exact: true });
  const emoji = ada.page.getByRole("listbox", { name: "Emoji" });

  // A time is not a name: no list.
  await box.pressSequentially("at 12:30 ");
  await expect(emoji).toHaveCount(0);
  await box.pressSequentially(":tad");
  await expect(emoji.getByRole("option").first()).toHaveAccessibleName("🎉 :tada:");
  await expect(box).toHaveAttribute("aria-activedescendant", /.+/);
  await box.press("Enter");
  await expect(emoji).toHaveCount(0);
  await expect(box).toHaveValue("at 12:30 🎉 ");

  // Escape closes the list and leaves what was typed; typed out whole, a name is its emoji at once.
  await box.pressSequentially("done :thu");
  await expect(emoji).toBeVisible();
  await box.press("Escape");
  await expect(emoji).toHaveCount(0);
  await box.pressSequentially("mbsup: :+1:");
  await expect(box).toHaveValue("at 12:30 🎉 done 👍 👍");
  await box.press("Enter");
  const sent = messageLog(ada.page).getByRole("listitem").filter({ hasText: "at 12:30 🎉 done 👍 👍" });
  await expect(sent).toBeVisible();

  // A reaction found by name too.
  await sent.hover();
  await sent.getByRole("toolbar").getByRole("button", { name: "React", exact: true }).click();
  const picker = ada.page.getByRole("dialog", { name: "Add a reaction" });
  await picker.getByLabel("Another emoji").fill("tada");
  await expect(picker.getByRole("group", { name: "Emoji found" }).getByRole("button").first()).toHaveAccessibleName("React with 🎉 :tada:");
  await picker.getByLabel("Another emoji").press("Enter");
  await expect(sent.getByRole("button", { name: /reacted with 🎉/ })).toHaveText("🎉1");

  // The edit box knows the names too.
  await box.focus();
  await box.press("ArrowUp");
  const editBox = ada.page.getByLabel("Edit message");
  await editBox.pressSequentially(" :rocket:");
  await expect(editBox).toHaveValue("at 12:30 🎉 done 👍 👍 🚀");
  await editBox.press("Enter");
  await expect(sent).toContainText("at 12:30 🎉 done 👍 👍 🚀");
  await expect(sent).toContainText("(edited)");
  await ada.context.close();
});
