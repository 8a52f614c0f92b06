// Chat that changes after it is sent, between two people in two browsers: edits (one made while
// the other is offline, seen when they return), deletes, reactions, replies and mentions picked
// from the autocomplete (two people of one name told apart) — over a WebSocket, and over long
// polling.
import { expect, test, type Page } from "@playwright/test";
import { activityFeed, createRoom, expectConnected, messageLog, notificationsButton, openRoom, sendMessage, signedInPerson, unique } from "./helpers";

/** A message in the list, found by its text (not a reply that quotes that text). */
const messageWith = (page: Page, text: string) =>
  messageLog(page)
    .getByRole("listitem")
    .filter({ hasText: text })
    .filter({ hasNot: page.getByRole("button", { name: /^Reply to / }) });
/** A reply in the list, found by its own text. */
const replyWith = (page: Page, text: string) =>
  messageLog(page)
    .getByRole("listitem")
    .filter({ hasText: text })
    .filter({ has: page.getByRole("button", { name: /^Reply to / }) });

/** Hovers a message and clicks one of its actions (React, Reply, Edit, Delete). */
async function act(page: Page, text: string, action: string) {
  const item = messageWith(page, text);
  await item.hover();
  await item.getByRole("toolbar").getByRole("button", { name: action, exact: true }).click();
}

for (const transport of ["websocket", "longpoll"] as const) {
  const path = transport === "longpoll" ? "/?transport=longpoll" : "/";

  test(`over ${transport}: an edit and a delete reach the other person, an edit made while they were offline included`, async ({ browser }) => {
    const ada = await signedInPerson(browser, "Ada", path);
    const lin = await signedInPerson(browser, "Lin", path);
    const room = unique("edits");
    await createRoom(ada.page, room);
    await openRoom(lin.page, room);
    await sendMessage(ada.page, "meet at 10");
    await expect(messageWith(lin.page, "meet at 10")).toBeVisible();

    // Only my own messages can be edited or deleted.
    await messageWith(lin.page, "meet at 10").hover();
    await expect(messageWith(lin.page, "meet at 10").getByRole("button", { name: "Edit" })).toHaveCount(0);

    await act(ada.page, "meet at 10", "Edit");
    const editor = ada.page.getByLabel("Edit message");
    await editor.fill("meet at 11");
    await editor.press("Enter");
    await expect(messageWith(lin.page, "meet at 11")).toContainText("(edited)");
    // The feed's line for it follows the edit at once, as it does after a reload.
    await expect(activityFeed(lin.page).getByText("meet at 11")).toBeVisible();
    await expect(activityFeed(lin.page).getByText("meet at 10")).toHaveCount(0);

    await expectConnected(lin.page, transport === "longpoll" ? "Long polling" : "WebSocket");
    await lin.context.setOffline(true);
    await act(ada.page, "meet at 11", "Edit");
    await ada.page.getByLabel("Edit message").fill("meet at noon");
    await ada.page.getByLabel("Edit message").press("Enter");
    await expect(messageWith(ada.page, "meet at noon")).toBeVisible();
    await lin.page.waitForTimeout(500);
    await expect(messageWith(lin.page, "meet at 11")).toBeVisible();
    await lin.context.setOffline(false);
    await expect(messageWith(lin.page, "meet at noon")).toBeVisible();
    await expect(messageLog(lin.page).getByText("meet at 11")).toHaveCount(0);

    await act(ada.page, "meet at noon", "Delete");
    await ada.page.getByRole("alertdialog", { name: "Delete message" }).getByRole("button", { name: "Delete" }).click();
    for (const p of [ada.page, lin.page]) {
      await expect(messageLog(p).getByText("This message was deleted")).toBeVisible();
      await expect(messageLog(p).getByText("meet at noon")).toHaveCount(0);
    }
    // Gone from the feed on the open page too, not only after a reload; its link still says where it leads.
    const toIt = lin.page.locator(`a[href^="/rooms/${room.toLowerCase()}?seq="]`);
    await expect(activityFeed(lin.page).getByRole("link", { name: "Message deleted" }).and(toIt)).toBeVisible();
    await expect(activityFeed(lin.page).getByText("meet at noon")).toHaveCount(0);
    // After a reload the history says the same: the text is gone from the server.
    await lin.page.reload();
    await expect(messageLog(lin.page).getByText("This message was deleted")).toBeVisible();
    await expect(messageLog(lin.page).getByText("meet at noon")).toHaveCount(0);
    await expect(activityFeed(lin.page).getByRole("link", { name: "Message deleted" }).and(toIt)).toBeVisible();
    await expect(activityFeed(lin.page).getByText("meet at noon")).toHaveCount(0);
    // The room list counts no messages from its edits and deletes (its seq counts those too).
    await lin.page.goto("/");
    await expect(lin.page.getByRole("list", { name: "Rooms" }).getByRole("link", { name: new RegExp(`^#${room}`, "i") })).toHaveText(`#${room}`);
    await ada.context.close();
    await lin.context.close();
  });

  test(`over ${transport}: reactions count each person once, and a reply quotes its message`, async ({ browser }) => {
    const ada = await signedInPerson(browser, "Ada", path);
    const lin = await signedInPerson(browser, "Lin", path);
    const room = unique("reacts");
    await createRoom(ada.page, room);
    await openRoom(lin.page, room);
    await sendMessage(ada.page, "shipping today");
    await expect(messageWith(lin.page, "shipping today")).toBeVisible();

    await act(lin.page, "shipping today", "React");
    await lin.page.getByRole("dialog", { name: "Add a reaction" }).getByRole("button", { name: "React with 🎉" }).click();
    const adasTada = messageWith(ada.page, "shipping today").getByRole("button", { name: /reacted with 🎉/ });
    await expect(adasTada).toHaveAttribute("aria-pressed", "false");
    await expect(adasTada).toHaveText("🎉1");
    await adasTada.click();
    const linsTada = messageWith(lin.page, "shipping today").getByRole("button", { name: /reacted with 🎉/ });
    await expect(linsTada).toHaveText("🎉2");
    await expect(linsTada).toHaveAttribute("title", "You and Ada reacted with 🎉");
    await linsTada.click(); // taken back
    await expect(adasTada).toHaveText("🎉1");
    await expect(adasTada).toHaveAttribute("aria-pressed", "true");

    await act(lin.page, "shipping today", "Reply");
    await lin.page.getByLabel("Reply to Ada").fill("which branch?");
    await lin.page.getByLabel("Reply to Ada").press("Enter");
    const reply = replyWith(ada.page, "which branch?");
    await expect(reply.getByRole("button", { name: /^Reply to Ada: shipping today/ })).toBeVisible();
    await expect(notificationsButton(ada.page)).toHaveAccessibleName(/1 unread/);
    await notificationsButton(ada.page).click();
    await expect(ada.page.getByRole("region", { name: "Mentions" })).toContainText("Lin replied to you");
    await notificationsButton(ada.page).click();

    // Edited, the quote says what the message now says, on the open page of the one who replied.
    await act(ada.page, "shipping today", "Edit");
    await ada.page.getByLabel("Edit message").fill("shipping tomorrow");
    await ada.page.getByLabel("Edit message").press("Enter");
    await expect(replyWith(lin.page, "which branch?").getByRole("button", { name: /^Reply to Ada: shipping tomorrow/ })).toBeVisible();

    await act(ada.page, "shipping tomorrow", "Delete");
    await ada.page.getByRole("alertdialog", { name: "Delete message" }).getByRole("button", { name: "Delete" }).click();
    await expect(replyWith(lin.page, "which branch?").getByRole("button", { name: "Reply to a deleted message" })).toBeVisible();
    await ada.context.close();
    await lin.context.close();
  });
}

test("an edit and a delete in a room someone is not in reach their activity feed at once (1.18)", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada", "/");
  const lin = await signedInPerson(browser, "Lin", "/");
  const room = unique("elsewhere");
  await createRoom(ada.page, room);
  await sendMessage(ada.page, "standup moved to 9");
  // Lin is on the home page, in no room: the feed is all she hears of this one.
  await expect(activityFeed(lin.page).getByText("standup moved to 9")).toBeVisible();
  await act(ada.page, "standup moved to 9", "Edit");
  await ada.page.getByLabel("Edit message").fill("standup moved to 9:30");
  await ada.page.getByLabel("Edit message").press("Enter");
  await expect(activityFeed(lin.page).getByText("standup moved to 9:30")).toBeVisible();
  await expect(activityFeed(lin.page).getByText("standup moved to 9", { exact: true })).toHaveCount(0);
  await act(ada.page, "standup moved to 9:30", "Delete");
  await ada.page.getByRole("alertdialog", { name: "Delete message" }).getByRole("button", { name: "Delete" }).click();
  const toIt = lin.page.locator(`a[href^="/rooms/${room.toLowerCase()}?seq="]`);
  await expect(activityFeed(lin.page).getByRole("link", { name: "Message deleted" }).and(toIt)).toBeVisible();
  await expect(activityFeed(lin.page).getByText("standup moved to 9:30")).toHaveCount(0);
  await ada.context.close();
  await lin.context.close();
});

test("a deleted message leaves the room's unread count and its burst in the activity feed, at once", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada", "/");
  const lin = await signedInPerson(browser, "Lin", "/");
  const room = unique("0gone");
  await createRoom(ada.page, room);
  // Lin reads the room, then goes back to the home page: new messages there are unread for her.
  await openRoom(lin.page, room);
  await sendMessage(ada.page, "first");
  await expect(messageWith(lin.page, "first")).toBeVisible();
  const readSeq = async () => {
    const { rooms } = (await (await lin.page.request.get(`/api/rooms?q=${room}`)).json()) as { rooms: { id: string; readSeq?: number }[] };
    return rooms.find((r) => r.id === room.toLowerCase())?.readSeq ?? 0;
  };
  await expect.poll(readSeq).toBeGreaterThan(0);
  await lin.page.goto("/");
  for (const text of ["one", "two", "three"]) await sendMessage(ada.page, text);
  const link = lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: new RegExp(`^#${room}(,|$)`, "i") });
  const burst = activityFeed(lin.page).getByRole("listitem").filter({ hasText: `new messages in #${room.toLowerCase()}` });
  await expect(link).toHaveAccessibleName(new RegExp(`, 3 unread$`));
  await expect(burst).toContainText("4 new messages");
  await expect(burst).toContainText(": three");

  await act(ada.page, "three", "Delete");
  await ada.page.getByRole("alertdialog", { name: "Delete message" }).getByRole("button", { name: "Delete" }).click();
  await expect(link).toHaveAccessibleName(new RegExp(`, 2 unread$`));
  await expect(burst).toContainText("3 new messages");
  await expect(burst).toContainText(": two");
  // The server says the same after a reload.
  await lin.page.reload();
  await expect(link).toHaveAccessibleName(new RegExp(`, 2 unread$`));
  await expect(burst).toContainText("3 new messages");
  await ada.context.close();
  await lin.context.close();
});

test("an emoji typed into the reaction picker: a bare heart is taken as the emoji, what is not one is said and not sent", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("hearts");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  await sendMessage(ada.page, "ship it?");
  await expect(messageWith(lin.page, "ship it?")).toBeVisible();

  // A heart as many keyboards type it: without the emoji selector the server asks for.
  await act(lin.page, "ship it?", "React");
  const picker = lin.page.getByRole("dialog", { name: "Add a reaction" });
  await picker.getByLabel("Another emoji").fill("\u2764");
  await picker.getByRole("button", { name: "Add" }).click();
  await expect(messageWith(ada.page, "ship it?").getByRole("button", { name: /reacted with ❤️/ })).toHaveText("❤️1");

  // Not an emoji, nor an emoji's name: said in the picker, nothing sent.
  await act(lin.page, "ship it?", "React");
  await picker.getByLabel("Another emoji").fill("no such thing!");
  await picker.getByRole("button", { name: "Add" }).click();
  await expect(picker.getByRole("alert")).toHaveText("Not an emoji: type one, or its name.");
  await picker.getByLabel("Another emoji").press("Escape");
  // Nothing waits behind it: Lin's next message goes.
  await sendMessage(lin.page, "shipped");
  await expect(messageWith(ada.page, "shipped")).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});

test("a mention picked from the autocomplete reaches a person whatever their name holds", async ({ browser }) => {
  const name = `Bob (proxy) 🎉 ${unique("b").slice(-4)}`;
  const bob = await signedInPerson(browser, name);
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("mentions");
  await createRoom(bob.page, room);
  await openRoom(ada.page, room);
  await expect(ada.page.getByRole("list", { name: "People here" }).getByRole("listitem")).toHaveCount(2);
  await bob.page.goto("/"); // Bob reads elsewhere, so the mention is news to him

  const box = ada.page.getByLabel("Message", { exact: true });
  await box.pressSequentially("thanks @bob (pr");
  const options = ada.page.getByRole("listbox", { name: "People to mention" }).getByRole("option");
  await expect(options).toHaveCount(1);
  await expect(options.first()).toHaveAccessibleName(name);
  await box.press("Enter");
  await expect(box).toHaveValue(`thanks @${name} `);
  await box.pressSequentially("for the review");
  await box.press("Enter");

  const sent = messageWith(ada.page, "for the review");
  await expect(sent.getByText(`@${name}`)).toBeVisible();
  await expect(notificationsButton(bob.page)).toHaveAccessibleName(/1 unread/);
  await notificationsButton(bob.page).click();
  await expect(bob.page.getByRole("region", { name: "Mentions" })).toContainText("Ada mentioned you");
  await ada.context.close();
  await bob.context.close();
});

test("two people of one name are told apart in the autocomplete, and the one picked is the one told", async ({ browser, request }) => {
  const name = `Sam ${unique("s").slice(-5)}`;
  const sam = await signedInPerson(browser, name);
  // The other Sam signs up elsewhere and never comes to the room.
  const other = await request.post("/api/session", { data: { name } });
  expect(other.status()).toBe(200);
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("namesakes");
  await createRoom(sam.page, room);
  await openRoom(ada.page, room);
  await expect(ada.page.getByRole("list", { name: "People here" }).getByRole("listitem")).toHaveCount(2);

  const box = ada.page.getByLabel("Message", { exact: true });
  await box.pressSequentially(`ask @${name}`);
  const options = ada.page.getByRole("listbox", { name: "People to mention" }).getByRole("option");
  await expect(options).toHaveCount(2);
  await expect(options.filter({ hasText: "here now" })).toHaveAccessibleName(`${name}, here now`);
  await expect(options.filter({ hasText: "not in this room" })).toHaveAccessibleName(`${name}, not in this room`);
  // Picks the one here, wherever the list put them.
  const hereAt = (await options.allTextContents()).findIndex((text) => text.includes("here now"));
  for (let i = 0; i < hereAt; i++) await box.press("ArrowDown");
  await expect(options.nth(hereAt)).toHaveAttribute("aria-selected", "true");
  // Typing on at once, on a device whose frames come late: every key lands after the name,
  // also those typed before the next frame.
  await ada.page.evaluate(() => {
    const frame = window.requestAnimationFrame.bind(window);
    window.requestAnimationFrame = (cb) => window.setTimeout(() => frame(cb), 300);
  });
  await box.press("Enter");
  await box.pressSequentially("ab");
  await ada.page.waitForTimeout(500);
  await box.pressSequentially("out the draft");
  await expect(box).toHaveValue(`ask @${name} about the draft`);
  await box.press("Enter");
  await expect(messageWith(ada.page, "about the draft")).toBeVisible();

  await expect(notificationsButton(sam.page)).toHaveAccessibleName(/1 unread/);
  const elsewhere = await request.get("/api/notifications");
  expect(((await elsewhere.json()) as { events: unknown[] }).events).toEqual([]);
  await ada.context.close();
  await sam.context.close();
});

test("the message being answered is shown as it now reads, edited after Reply was pressed", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("answer");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  await sendMessage(ada.page, "first draft of the plan");
  await expect(messageWith(lin.page, "first draft of the plan")).toBeVisible();
  await act(lin.page, "first draft of the plan", "Reply");
  await expect(lin.page.getByText("Replying to")).toContainText("first draft of the plan");

  await act(ada.page, "first draft of the plan", "Edit");
  await ada.page.getByLabel("Edit message").fill("final version of the plan");
  await ada.page.getByLabel("Edit message").press("Enter");
  await expect(lin.page.getByText("Replying to")).toContainText("final version of the plan");
  await lin.page.getByLabel("Reply to Ada").fill("looks good");
  await lin.page.getByLabel("Reply to Ada").press("Enter");
  await expect(replyWith(ada.page, "looks good").getByRole("button", { name: /^Reply to Ada: final version of the plan/ })).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});

test("a reply to one of two people of one name quotes them as their messages name them, tag and all", async ({ browser }) => {
  const name = `Dana ${unique("d").slice(-5)}`;
  const first = await signedInPerson(browser, name);
  const second = await signedInPerson(browser, name);
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("danas");
  await createRoom(ada.page, room);
  await openRoom(first.page, room);
  await openRoom(second.page, room);
  await sendMessage(first.page, "first dana here");
  await sendMessage(second.page, "second dana here");
  await expect(messageWith(ada.page, "second dana here")).toBeVisible();
  // The name her message goes by on Ada's page: with its tag, two Danas being here.
  await messageWith(ada.page, "first dana here").hover();
  const label = (await messageWith(ada.page, "first dana here").getByRole("toolbar").getAttribute("aria-label"))!;
  const tagged = label.replace(/^Actions for /, "").replace(/'s message$/, "");
  expect(tagged).not.toBe(name);
  expect(tagged.startsWith(name)).toBe(true);

  await act(ada.page, "first dana here", "Reply");
  await ada.page.getByLabel(`Reply to ${tagged}`).fill("which one?");
  await ada.page.getByLabel(`Reply to ${tagged}`).press("Enter");
  await expect(replyWith(ada.page, "which one?").getByRole("button", { name: `Reply to ${tagged}: first dana here. Show it` })).toBeVisible();
  for (const p of [first, second, ada]) await p.context.close();
});

test("offline, an edit shows its new text at once, and ↑ with a message still on its way edits no older one", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("offline-edit");
  await createRoom(ada.page, room);
  await sendMessage(ada.page, "sent while online");
  await expect(messageWith(ada.page, "sent while online")).not.toContainText(/Pending|Sending/);
  await expectConnected(ada.page);

  await ada.context.setOffline(true);
  await expect(ada.page.getByRole("status")).toHaveText("Offline");
  await act(ada.page, "sent while online", "Edit");
  await ada.page.getByLabel("Edit message").fill("changed while offline");
  await ada.page.getByLabel("Edit message").press("Enter");
  // The new text at once, saving; not the old one.
  await expect(messageWith(ada.page, "changed while offline")).toContainText("Saving…");
  await expect(messageLog(ada.page).getByText("sent while online")).toHaveCount(0);

  await sendMessage(ada.page, "written offline");
  await expect(messageWith(ada.page, "written offline")).toContainText("Pending");
  const box = ada.page.getByLabel("Message", { exact: true });
  await box.press("ArrowUp");
  await expect(ada.page.getByLabel("Edit message")).toHaveCount(0);

  await ada.context.setOffline(false);
  await expect(messageWith(ada.page, "changed while offline")).toContainText("(edited)");
  await expect(messageWith(ada.page, "changed while offline")).not.toContainText("Saving…");
  await expect(messageWith(ada.page, "written offline")).not.toContainText(/Pending|Sending/);
  // Sent: ↑ now edits it.
  await box.press("ArrowUp");
  await expect(ada.page.getByLabel("Edit message")).toHaveValue("written offline");
  await ada.context.close();
});
