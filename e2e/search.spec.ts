// Message search from the header: Enter shows the messages with every word, newest first, the
// words marked; a result opens its message in its room; a private room's messages are found by
// its members alone.
import { expect, test, type Locator, type Page } from "@playwright/test";
import { createRoom, createRoomOverHttp, messageLog, openRoom, peopleHere, postMessages, sendMessage, sentMessage, signedInPerson, unique } from "./helpers";

/** What the results page says it found. */
const found = (page: Page) => page.getByRole("main").getByRole("status");

/**
 * Searches from `box` until the page says `summary`: a message's words are indexed a moment
 * after it is sent, so a search right after may not find it yet.
 */
async function searchUntil(page: Page, box: Locator, q: string, summary: string): Promise<void> {
  await box.fill(q);
  await expect(async () => {
    await box.press("Enter");
    await expect(found(page)).toHaveText(summary, { timeout: 1_000 });
  }).toPass();
}

test("the header's search finds messages in the rooms a person may read, and a result opens the message", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const word = unique("kiwi").replace(/[^a-z0-9]/gi, "");
  const open = unique("fruit");
  await createRoom(ada.page, open);
  await sendMessage(ada.page, `the ${word} shipment lands on **Tuesday**`);
  await sendMessage(ada.page, "nothing to find here");
  await sendMessage(ada.page, `second ${word} note`);
  // Taken by the server before Ada leaves the room (a room's messages go in order: all three).
  await expect(sentMessage(ada.page, `second ${word} note`)).toBeVisible();

  // A private room of Ada's: its words stay Ada's.
  await ada.page.goto("/");
  const secret = unique("secret");
  await ada.page.getByLabel("Room name").fill(secret);
  await ada.page.getByLabel(/Private/).check();
  await ada.page.getByRole("button", { name: "Create room" }).click();
  await expect(ada.page).toHaveURL(new RegExp(`/rooms/${secret}$`));
  await sendMessage(ada.page, `${word} in private`);
  await expect(sentMessage(ada.page, `${word} in private`)).toBeVisible();

  const box = lin.page.getByRole("search", { name: "Messages" }).getByLabel("Search messages");
  await searchUntil(lin.page, box, `${word} TUES`, `One message matches “${word} TUES”, newest first.`);
  await expect(lin.page).toHaveURL(/\/search\?q=/);
  const results = lin.page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(results).toHaveCount(1);
  await expect(results.first()).toContainText(`the ${word} shipment lands on Tuesday`);
  await expect(results.first().locator("mark")).toHaveText([word, "Tues"]);

  await searchUntil(lin.page, box, word, `2 messages match “${word}”, newest first.`);
  // Searched again from the results page's own field: the header's shows that query too.
  const pageBox = lin.page.getByRole("search", { name: "Search" }).getByLabel("Search messages");
  await pageBox.fill(`${word} second`);
  await pageBox.press("Enter");
  await expect(found(lin.page)).toHaveText(`One message matches “${word} second”, newest first.`);
  await expect(box).toHaveValue(`${word} second`);
  await searchUntil(lin.page, box, word, `2 messages match “${word}”, newest first.`);
  await expect(pageBox).toHaveValue(word);
  await expect(results).toHaveText([new RegExp(`second ${word} note`), new RegExp(`the ${word} shipment`)]);
  await results.nth(1).click();
  await expect(lin.page).toHaveURL(new RegExp(`/rooms/${open}\\?seq=\\d+$`));
  await expect(messageLog(lin.page).getByRole("listitem").filter({ hasText: `the ${word} shipment` })).toBeInViewport();

  // Ada, a member of the private room, finds it there too.
  const adasBox = ada.page.getByRole("search", { name: "Messages" }).getByLabel("Search messages");
  await searchUntil(ada.page, adasBox, word, `3 messages match “${word}”, newest first.`);
  await expect(ada.page.getByRole("list", { name: "Search results" }).getByRole("link").first()).toContainText(`${word} in private`);

  // Words that match nothing say so.
  await adasBox.fill(`${word} zebra`);
  await adasBox.press("Enter");
  await expect(found(ada.page)).toHaveText(`No messages match “${word} zebra”.`);
  await ada.context.close();
  await lin.context.close();
});

test("on a phone the header has a search button; the search page's own field searches", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("phone");
  await createRoom(ada.page, room);
  const word = unique("plum").replace(/[^a-z0-9]/gi, "");
  await sendMessage(ada.page, `a ${word} for later`);
  await expect(sentMessage(ada.page, `a ${word} for later`)).toBeVisible();

  await ada.page.setViewportSize({ width: 390, height: 844 });
  await expect(ada.page.getByRole("search", { name: "Messages" })).toBeHidden();
  await ada.page.getByRole("link", { name: "Search messages" }).click();
  const field = ada.page.getByRole("search", { name: "Search" }).getByLabel("Search messages");
  await expect(field).toBeFocused();
  await searchUntil(ada.page, field, word, `One message matches “${word}”, newest first.`);
  // The field keeps the query, to refine it.
  await expect(field).toHaveValue(word);
  await ada.context.close();
});

test("a result opened in a room the person follows is read there: the sidebar's count clears", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("unread");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  // Joined (Ada sees her here) before she leaves: the room is one of hers from then on.
  await expect(peopleHere(ada.page)).toHaveCount(2);
  await openRoom(lin.page, "general");
  const link = (name: string) => lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name, exact: true });
  // Listed as one of Lin's rooms (her join is recorded a moment after it), so it counts live.
  await expect(async () => {
    await lin.page.reload();
    await expect(link(`#${room}`)).toBeVisible({ timeout: 1_000 });
  }).toPass();
  const word = unique("fig").replace(/[^a-z0-9]/gi, "");
  await sendMessage(ada.page, `the ${word} crate is here`);
  await expect(link(`#${room}, 1 unread`)).toBeVisible();

  // The conversation fits its box, so opening the result scrolls nothing: the message is in
  // view all the same, and counts as read.
  const box = lin.page.getByRole("search", { name: "Messages" }).getByLabel("Search messages");
  await searchUntil(lin.page, box, word, `One message matches “${word}”, newest first.`);
  await lin.page.getByRole("list", { name: "Search results" }).getByRole("link").first().click();
  await expect(messageLog(lin.page).getByRole("listitem").filter({ hasText: `the ${word} crate` })).toBeInViewport();
  await expect(link(`#${room}`)).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});

test("search results read as the messages do: emoji names as emoji, two people of one name told apart by their tags", async ({ browser }) => {
  // Two guests who both go by one name (a name of their own: the suite signs many people in).
  const name = `Sam${Date.now().toString(36)}`;
  const first = await signedInPerson(browser, name);
  const second = await signedInPerson(browser, name);
  const room = unique("namesakes");
  await createRoom(first.page, room);
  const word = unique("lime").replace(/[^a-z0-9]/gi, "");
  await sendMessage(first.page, `the ${word} order is in`);
  await expect(sentMessage(first.page, `the ${word} order is in`)).toBeVisible();
  // Written through the API, with an emoji's name as text (as another app sends it).
  const res = await second.page.request.post(`/api/rooms/${room}/messages`, { data: { text: `${word} shipped :tada:`, clientId: unique("c") } });
  expect(res.status()).toBe(201);

  const box = first.page.getByRole("search", { name: "Messages" }).getByLabel("Search messages");
  await searchUntil(first.page, box, word, `2 messages match “${word}”, newest first.`);
  const results = first.page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(results.first()).toContainText(`${word} shipped 🎉`);
  const tagged = new RegExp(`${name} #\\d{4}`);
  await expect(results.nth(0)).toContainText(tagged);
  await expect(results.nth(1)).toContainText(tagged);
  const tags = await results.evaluateAll((links, n) => links.map((l) => new RegExp(`${n} (#\\d{4})`).exec(l.textContent ?? "")?.[1]), name);
  expect(new Set(tags).size).toBe(2);
  await first.context.close();
  await second.context.close();
});

test("a search that finds more than one answer holds shows the newest and says older ones may match too", async ({ browser, baseURL }) => {
  const room = unique("many");
  const word = unique("plum").replace(/[^a-z0-9]/gi, "");
  await createRoomOverHttp(baseURL!, room);
  await postMessages(baseURL!, room, Array.from({ length: 55 }, (_, i) => `${word} number x${i + 1}y`), { ordered: false });
  const ada = await signedInPerson(browser, "Ada");
  const box = ada.page.getByRole("search", { name: "Messages" }).getByLabel("Search messages");
  await searchUntil(ada.page, box, word, `The 50 newest messages that match “${word}”. Older ones may match too: add words to find them.`);
  await expect(ada.page.getByRole("list", { name: "Search results" }).getByRole("link")).toHaveCount(50);
  // A word more finds one of the older ones.
  await searchUntil(ada.page, box, `${word} x3y`, `One message matches “${word} x3y”, newest first.`);
  await ada.context.close();
});

