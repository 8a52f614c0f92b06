// Private rooms and direct messages in the browser, two people: a private room is not there for
// someone not in it, appears once they are added, and disappears from their open page the
// moment they are removed, its history saying who came and went; only its creator removes
// others; a removed member loses its mentions of them too; a direct message opens from anyone's
// message, is named without a `#`, stays between its two people, and comes back to one who left
// it when the other writes.
import { expect, test } from "@playwright/test";
import { createPrivateRoom, messageLog, notificationsButton, openRoom, sendMessage, signedInPerson, unique } from "./helpers";

test("a private room is there only for its members, live; a direct message opens from a message", async ({ browser }) => {
  test.setTimeout(90_000);
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, `Lin ${unique("l").slice(-5)}`);
  const room = unique("secret");

  await createPrivateRoom(ada.page, room);
  await expect(ada.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${room}, private` })).toBeVisible();
  await sendMessage(ada.page, "for members only");

  // Lin: no such room.
  await lin.page.goto(`/rooms/${room}`);
  await expect(lin.page.getByRole("heading", { name: `There is no room #${room}` })).toBeVisible();

  // Ada adds Lin; Lin reads and answers.
  await ada.page.getByRole("button", { name: "Members" }).click();
  await ada.page.getByLabel("Add someone").fill(lin.name);
  await ada.page.getByRole("button", { name: `Add ${lin.name}` }).click();
  await expect(ada.page.getByRole("region", { name: "Members" }).getByRole("button", { name: `Remove ${lin.name}` })).toBeVisible();
  // Lin hears of it at once: the room is in her sidebar, no reload (1.7).
  await expect(lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${room}, private` })).toBeVisible();
  await openRoom(lin.page, room);
  await expect(lin.page.getByRole("heading", { level: 1 })).not.toContainText("#");
  await expect(messageLog(lin.page).getByText("for members only")).toBeVisible();
  // Who came is in the room's history, where it happened (1.13): "you" to whom it says it of.
  await expect(messageLog(ada.page).getByText(`You added ${lin.name}`)).toBeVisible();
  await expect(messageLog(lin.page).getByText("Ada added you")).toBeVisible();
  // Lin may leave, but only Ada, who made the room, may remove others.
  await lin.page.getByRole("button", { name: "Members" }).click();
  const linsMembers = lin.page.getByRole("region", { name: "Members" });
  await expect(linsMembers.getByRole("button", { name: "Leave this room" })).toBeVisible();
  await expect(linsMembers.getByText("Ada")).toBeVisible();
  await expect(linsMembers.getByRole("button", { name: /^Remove / })).toHaveCount(0);
  // Leaving is asked once more; Cancel keeps her in.
  await linsMembers.getByRole("button", { name: "Leave this room" }).click();
  const leaving = linsMembers.getByRole("alertdialog");
  await expect(leaving).toContainText("you can come back only if a member adds you");
  await expect(leaving.getByRole("button", { name: "Cancel" })).toBeFocused();
  await leaving.getByRole("button", { name: "Cancel" }).click();
  await expect(leaving).toHaveCount(0);
  await lin.page.getByRole("button", { name: "Members" }).click();
  await sendMessage(lin.page, "glad to be in");
  await expect(messageLog(ada.page).getByText("glad to be in")).toBeVisible();

  // Removed: gone from Lin's open page at once, and from the sidebar of her other tab, which
  // was not showing the room (1.7); refused after a reload.
  const linsOtherTab = await lin.context.newPage();
  await linsOtherTab.goto("/");
  const otherTabsLink = linsOtherTab.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${room}, private` });
  await expect(otherTabsLink).toBeVisible();
  await ada.page.getByRole("region", { name: "Members" }).getByRole("button", { name: `Remove ${lin.name}` }).click();
  const removing = ada.page.getByRole("region", { name: "Members" }).getByRole("alertdialog");
  await expect(removing).toContainText(`Remove ${lin.name}?`);
  await removing.getByRole("button", { name: "Remove" }).click();
  await expect(messageLog(ada.page).getByText(`You removed ${lin.name}`)).toBeVisible();
  // Told what happened, not that the room never was.
  await expect(lin.page.getByRole("heading", { name: "You are no longer in this room" })).toBeVisible();
  await expect(otherTabsLink).toHaveCount(0);
  await linsOtherTab.close();
  await lin.page.reload();
  await expect(lin.page.getByRole("heading", { name: `There is no room #${room}` })).toBeVisible();

  // Added back while her page shows the room as gone: it opens there, no reload.
  await ada.page.getByLabel("Add someone").fill(lin.name);
  await ada.page.getByRole("button", { name: `Add ${lin.name}` }).click();
  await expect(messageLog(lin.page).getByText("glad to be in")).toBeVisible();

  // A direct message from Ada's message in a public room.
  await openRoom(ada.page, "general");
  await sendMessage(ada.page, `ping ${room}`);
  await openRoom(lin.page, "general");
  const adas = messageLog(lin.page).getByRole("listitem").filter({ hasText: `ping ${room}` });
  await adas.hover();
  await adas.getByRole("button", { name: "Message Ada directly" }).click();
  await expect(lin.page.getByRole("heading", { name: /Private room/ })).toBeVisible();
  // Named after the other person (1.8), as the sidebar names it, without the `#` of a room anyone may join.
  await expect(lin.page.getByRole("heading", { level: 1 })).toHaveText(/^Private roomAda$/);
  await expect(lin.page.getByLabel("Message", { exact: true })).toHaveAttribute("placeholder", "Message Ada");
  await expect(lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: "Ada, direct message" })).toBeVisible();
  await sendMessage(lin.page, "just between us");
  await expect(messageLog(lin.page).getByText("just between us")).toBeVisible();
  // It stays between the two of them: no one to add, no one to remove, only leaving.
  await lin.page.getByRole("button", { name: "Members" }).click();
  const dmMembers = lin.page.getByRole("region", { name: "Members" });
  await expect(dmMembers.getByText("stays between the two of you")).toBeVisible();
  await expect(dmMembers.getByLabel("Add someone")).toHaveCount(0);
  await expect(dmMembers.getByRole("button", { name: "Leave this conversation" })).toBeVisible();
  await expect(dmMembers.getByRole("button", { name: /^Remove / })).toHaveCount(0);
  await lin.page.getByRole("button", { name: "Members" }).click();
  // Ada's sidebar lists the conversation as soon as Lin writes in it, unread.
  await expect(ada.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${lin.name}, direct message, 1 unread` })).toBeVisible();
  // From Ada's side, Lin's avatar among the people here opens the same conversation.
  await openRoom(lin.page, "general");
  await ada.page.getByRole("list", { name: "People here" }).getByRole("button", { name: `Message ${lin.name} directly` }).click();
  await expect(ada.page.getByRole("heading", { name: /Private room/ })).toBeVisible();
  await expect(messageLog(ada.page).getByText("just between us")).toBeVisible();
  // Its messages offer no "Message Lin directly": this is that conversation.
  const lins = messageLog(ada.page).getByRole("listitem").filter({ hasText: "just between us" });
  await lins.hover();
  await expect(lins.getByRole("button", { name: "Reply" })).toBeVisible();
  await expect(lins.getByRole("button", { name: `Message ${lin.name} directly` })).toHaveCount(0);
  await ada.context.close();
  await lin.context.close();
});

test("a member removed from a private room loses its mentions of them too, at once and after a reload, and has them again when added back", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, `Lin ${unique("l").slice(-5)}`);
  const room = unique("quiet");
  await createPrivateRoom(ada.page, room);
  await ada.page.getByRole("button", { name: "Members" }).click();
  await ada.page.getByLabel("Add someone").fill(lin.name);
  await ada.page.getByRole("button", { name: `Add ${lin.name}` }).click();
  await expect(lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${room}, private` })).toBeVisible();
  // Lin reads #general; Ada mentions her in the private room.
  await sendMessage(ada.page, `@${lin.name} the price is 42, keep it quiet`);
  await expect(notificationsButton(lin.page)).toHaveAccessibleName(/1 unread/);

  await ada.page.getByRole("region", { name: "Members" }).getByRole("button", { name: `Remove ${lin.name}` }).click();
  await ada.page.getByRole("region", { name: "Members" }).getByRole("alertdialog").getByRole("button", { name: "Remove" }).click();
  await expect(notificationsButton(lin.page)).toHaveAccessibleName("Notifications");
  await notificationsButton(lin.page).click();
  await expect(lin.page.getByText("the price is 42")).toHaveCount(0);
  await lin.page.reload();
  await expect(notificationsButton(lin.page)).toHaveAccessibleName("Notifications");
  await notificationsButton(lin.page).click();
  await expect(lin.page.getByText("the price is 42")).toHaveCount(0);
  // Added back, the room and what it said of her are hers again, without a reload.
  await notificationsButton(lin.page).click();
  await ada.page.getByLabel("Add someone").fill(lin.name);
  await ada.page.getByRole("button", { name: `Add ${lin.name}` }).click();
  await expect(notificationsButton(lin.page)).toHaveAccessibleName(/1 unread/);
  await ada.context.close();
  await lin.context.close();
});

test("a direct message left by one of its two comes back to them, unread, when the other writes in it", async ({ browser }) => {
  const fay = await signedInPerson(browser, `Fay ${unique("f").slice(-5)}`);
  const gus = await signedInPerson(browser, `Gus ${unique("g").slice(-5)}`);
  const me = ((await (await gus.page.request.get("/api/session")).json()) as { user: { id: string } }).user.id;
  const dm = ((await (await fay.page.request.post("/api/dms", { data: { userId: me } })).json()) as { room: { id: string } }).room.id;
  await gus.page.goto(`/rooms/${dm}`);
  await gus.page.getByRole("button", { name: "Members" }).click();
  await gus.page.getByRole("region", { name: "Members" }).getByRole("button", { name: "Leave this conversation" }).click();
  const leaving = gus.page.getByRole("region", { name: "Members" }).getByRole("alertdialog");
  await expect(leaving).toContainText("until one of you writes in it again");
  await leaving.getByRole("button", { name: "Leave" }).click();
  await gus.page.goto("/");
  const link = gus.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: new RegExp(`^${fay.name}, direct message`) });
  await expect(link).toHaveCount(0);

  await fay.page.goto(`/rooms/${dm}`);
  await sendMessage(fay.page, "are you there?");
  // Back in Gus's list at once, the message waiting.
  await expect(link).toHaveAccessibleName(`${fay.name}, direct message, 1 unread`);
  await link.click();
  await expect(messageLog(gus.page).getByText("are you there?")).toBeVisible();
  await fay.context.close();
  await gus.context.close();
});

test("the last member leaving a private room is told no one can open it again, and leaves only when they say so", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("alone");
  await createPrivateRoom(ada.page, room);
  await sendMessage(ada.page, "notes to self");

  await ada.page.getByRole("button", { name: "Members" }).click();
  const members = ada.page.getByRole("region", { name: "Members" });
  await members.getByRole("button", { name: "Leave this room" }).click();
  const asked = members.getByRole("alertdialog");
  await expect(asked).toContainText("You are its last member: no one will be able to open it again.");
  // Still hers until she presses Leave.
  await expect(ada.page).toHaveURL(new RegExp(`/rooms/${room}$`));
  await asked.getByRole("button", { name: "Leave" }).click();
  await expect(ada.page).not.toHaveURL(new RegExp(`/rooms/${room}$`));
  await expect(ada.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${room}, private` })).toHaveCount(0);
  await ada.context.close();
});

test("anyone can be messaged from the sidebar, found by name, without meeting them in a room first", async ({ browser }) => {
  const tag = unique("pair");
  const ada = await signedInPerson(browser, `Ada ${tag}`);
  const lin = await signedInPerson(browser, `Lin ${tag}`);
  const rooms = ada.page.getByRole("navigation", { name: "Your rooms" });
  await rooms.getByRole("button", { name: "Message someone" }).click();
  // Both names hold the tag: only the other person is offered, never oneself.
  await rooms.getByLabel("Message someone").fill(tag);
  const people = rooms.getByRole("listbox", { name: "People" }).getByRole("option");
  await expect(people.filter({ hasText: lin.name })).toBeVisible();
  await expect(people).toHaveCount(1);
  // Found from the keyboard: ↓ is on the first, Enter opens the conversation.
  await rooms.getByLabel("Message someone").press("ArrowDown");
  await expect(people.first()).toHaveAttribute("aria-selected", "true");
  await rooms.getByLabel("Message someone").press("Enter");
  await expect(ada.page.getByRole("heading", { level: 1 })).toHaveText(`Private room${lin.name}`);
  await expect(messageLog(ada.page).getByText(`This is the beginning of your conversation with ${lin.name}.`)).toBeVisible();
  await sendMessage(ada.page, "found you by name");
  await expect(lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${ada.name}, direct message, 1 unread` })).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});
