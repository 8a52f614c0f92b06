// Accounts in the browser: create one, sign in on a second device as the same person (present
// once however many devices), a wrong password refused, a guest marked and kept off an
// account's name, and two guests of one name told apart.
import { expect, test, type Page } from "@playwright/test";
import { createRoom, messageLog, openRoom, peopleHere, sendMessage, signedInPerson, signIn, unique, type Person } from "./helpers";

test("an account signs in on a second device as the same person; guests are marked and cannot take its name", async ({ browser }) => {
  test.setTimeout(90_000); // three browsers, two sign-ins hashing a password each
  const username = unique("grace").toLowerCase().replace(/[^a-z0-9_.-]/g, "").slice(0, 32);
  const name = `Grace ${username.slice(-6)}`;
  const laptop = await browser.newContext();
  const page = await laptop.newPage();
  await page.goto("/");
  await page.getByRole("tab", { name: "Create account" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("hopper1906");
  await page.getByLabel(/Display name/).fill(name);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Account and settings" }).click();
  await expect(page.getByRole("region", { name: "Account and settings" })).toContainText(`Signed in as ${name}`);
  await expect(page.getByRole("region", { name: "Account and settings" })).not.toContainText("guest");
  await page.getByRole("button", { name: "Account and settings" }).click();
  const room = unique("devices");
  await createRoom(page, room);
  // A room I am in is one of my rooms in the sidebar, however many rooms the workspace has.
  await expect(page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `#${room}` })).toBeVisible();

  const phone = await browser.newContext();
  const second = await phone.newPage();
  await second.goto("/");
  await second.getByRole("tab", { name: "Sign in" }).click();
  await second.getByLabel("Username").fill(username);
  await second.getByLabel("Password").fill("wrong password");
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByRole("alert").filter({ hasText: "Wrong username or password" })).toBeVisible();
  await second.getByLabel("Password").fill("hopper1906");
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByRole("button", { name: "Account and settings" })).toBeVisible();
  await openRoom(second, room);
  // Two devices, one person.
  await expect(peopleHere(page)).toHaveCount(1);
  await sendMessage(second, "sent from my phone");
  await expect(messageLog(page).getByText("sent from my phone")).toBeVisible();
  // Written on the phone, it is mine on the laptop too: mine to edit.
  const mine = messageLog(page).getByRole("listitem").filter({ hasText: "sent from my phone" });
  await mine.hover();
  await expect(mine.getByRole("toolbar").getByRole("button", { name: "Edit" })).toHaveCount(1);

  // A guest cannot take the account's name, even with a lookalike letter; with another name they are marked.
  const visitor = await browser.newContext();
  const guest = await visitor.newPage();
  await guest.goto(`/rooms/${room}`);
  await guest.getByLabel("Display name").fill(name.replace("G", "\uFF27"));
  await guest.getByRole("button", { name: "Continue" }).click();
  await expect(guest.getByRole("alert").filter({ hasText: "belongs to an account" })).toBeVisible();
  await guest.getByLabel("Display name").fill("");
  await signIn(guest, "Walk-in");
  await expect(peopleHere(page)).toHaveCount(2);
  await expect(peopleHere(page).filter({ hasText: "guest" })).toHaveCount(1);

  // The laptop signs the phone out: the phone is back at the sign-in page at once.
  await page.getByRole("button", { name: /account and settings/i }).click();
  const devices = page.getByRole("region", { name: "Signed-in devices" });
  await expect(devices.getByRole("listitem")).toHaveCount(2);
  // One browser twice, under one name: told apart by which is this one and when the other was
  // last active (newest first: the phone).
  const [phoneEntry, laptopEntry] = [devices.getByRole("listitem").first(), devices.getByRole("listitem").last()];
  const browserName = (entry: typeof phoneEntry) => entry.locator("span > span").first().textContent();
  expect(await browserName(phoneEntry)).toBe(await browserName(laptopEntry));
  await expect(laptopEntry).toContainText(/This device · signed in /);
  await expect(phoneEntry).toContainText(/Active just now · signed in /);
  await devices.getByRole("button", { name: /^Sign out .+ \(Active just now · signed in .+\)$/ }).click();
  await expect(devices.getByRole("listitem")).toHaveCount(1);
  await expect(second.getByRole("tab", { name: "Sign in" })).toBeVisible();
  for (const c of [laptop, phone, visitor]) await c.close();
});

test("a guest is warned before signing out for good, and can keep their name by making it an account", async ({ browser }) => {
  test.setTimeout(90_000);
  const laptop = await browser.newContext();
  const page = await laptop.newPage();
  await page.goto("/");
  const name = unique("Noor");
  await signIn(page, name);
  const room = unique("kept");
  await createRoom(page, room);
  await sendMessage(page, "written as a guest");
  await expect(messageLog(page).getByText("written as a guest")).toBeVisible();
  // Someone else in the room sees a guest.
  const other = await browser.newContext();
  const ada = await other.newPage();
  await ada.goto("/");
  await signIn(ada, "Ada");
  await openRoom(ada, room);
  await expect(peopleHere(ada)).toHaveCount(2);
  const noorHere = peopleHere(ada).filter({ has: ada.getByRole("img", { name }) });
  await expect(noorHere).toContainText("guest");

  // Signing out: told first, and staying is the default.
  const menu = page.getByRole("region", { name: "Account and settings" });
  await page.getByRole("button", { name: "Account and settings" }).click();
  await menu.getByRole("button", { name: "Sign out" }).click();
  await expect(menu.getByRole("alertdialog")).toContainText(`signing in again as ${name} makes someone new`);
  await menu.getByRole("button", { name: "Stay" }).click();
  await expect(menu.getByRole("alertdialog")).toHaveCount(0);

  // Another tab of the same browser, open meanwhile.
  const tab = await laptop.newPage();
  await tab.goto("/");
  const tabMenu = tab.getByRole("region", { name: "Account and settings" });
  await tab.getByRole("button", { name: "Account and settings" }).click();
  await expect(tabMenu.getByRole("button", { name: "Keep this name: create an account" })).toBeVisible();

  // Kept: the same person, an account now.
  const username = name.toLowerCase().replace(/[^a-z0-9_.-]/g, "").slice(0, 32);
  await menu.getByRole("button", { name: "Keep this name: create an account" }).click();
  await menu.getByLabel("Username").fill(username);
  await menu.getByLabel("Password").fill("kept-for-good");
  await menu.getByRole("button", { name: "Create account" }).click();
  await expect(menu).toContainText(`Signed in as ${name}`);
  await expect(menu).not.toContainText("guest");
  await expect(menu.getByRole("button", { name: "Keep this name: create an account" })).toHaveCount(0);
  // The other tab knows without a reload.
  await expect(tabMenu.getByRole("button", { name: "Keep this name: create an account" })).toHaveCount(0);
  await expect(tabMenu).not.toContainText("guest");
  await tab.close();
  // The others see them as an account at once, still here: not a guest.
  await expect(noorHere).not.toContainText("guest");
  await expect(peopleHere(ada)).toHaveCount(2);
  // Signing out asks nothing now: an account can come back.
  await menu.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByLabel("Display name")).toBeVisible();

  // Back from another device with the password: the guest's message is this person's own.
  const phone = await browser.newContext();
  const second = await phone.newPage();
  await second.goto("/");
  await second.getByRole("tab", { name: "Sign in" }).click();
  await second.getByLabel("Username").fill(username);
  await second.getByLabel("Password").fill("kept-for-good");
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByRole("button", { name: "Account and settings" })).toBeVisible();
  await openRoom(second, room);
  const mine = messageLog(second).getByRole("listitem").filter({ hasText: "written as a guest" });
  await mine.hover();
  await expect(mine.getByRole("button", { name: "Edit" })).toBeVisible();
  await laptop.close();
  await phone.close();
  await other.close();
});

test("a new name is the one the room sees at once, on what was written before it too, and after a reload", async ({ browser }) => {
  const [first, second] = [await browser.newContext(), await browser.newContext()];
  const [page, lin] = [await first.newPage(), await second.newPage()];
  const before = unique("Ada");
  const after = unique("Augusta");
  await page.goto("/");
  await signIn(page, before);
  const room = unique("renamed");
  await createRoom(page, room);
  await sendMessage(page, "written before the change");
  await lin.goto("/");
  await signIn(lin, unique("Lin"));
  await openRoom(lin, room);
  await expect(peopleHere(lin)).toHaveCount(2);
  await expect(peopleHere(lin).filter({ has: lin.getByRole("img", { name: before }) })).toHaveCount(1);

  await renameTo(page, after);
  await expect(page.getByRole("button", { name: `${after}: account and settings` })).toBeVisible();

  // Lin sees the new name, still two people here: Ada never left.
  await expect(peopleHere(lin).filter({ has: lin.getByRole("img", { name: after }) })).toHaveCount(1);
  await expect(peopleHere(lin)).toHaveCount(2);
  // What Ada wrote before is shown under her new name too, as she is now (protocol 1.10)…
  const earlier = messageLog(lin).getByRole("listitem").filter({ hasText: "written before the change" });
  await expect(earlier).toContainText(after);
  await expect(earlier).not.toContainText(before);
  // …and so it is read again from the server once she has gone: the log keeps the old name,
  // the page of history says the new one.
  await first.close();
  await expect(peopleHere(lin)).toHaveCount(1);
  await lin.reload();
  await expect(earlier).toContainText(after);
  await expect(messageLog(lin)).not.toContainText(before);
  await second.close();
});

/** Changes the name `page`'s person goes by, from the account menu. */
async function renameTo(page: Page, name: string): Promise<void> {
  const menu = page.getByRole("region", { name: "Account and settings" });
  await page.getByRole("button", { name: "Account and settings" }).click();
  await menu.getByRole("button", { name: "Change name" }).click();
  await menu.getByLabel("New display name").fill(name);
  await menu.getByRole("button", { name: "Save" }).click();
  await expect(menu).toContainText(`Signed in as ${name}`);
}

/** `author` writes in a new room; `reader` opens a direct message with them from that message. */
async function directMessageFrom(reader: Person, author: Person): Promise<void> {
  const room = unique("dmfrom");
  await createRoom(author.page, room);
  await sendMessage(author.page, "write to me");
  await openRoom(reader.page, room);
  const theirs = messageLog(reader.page).getByRole("listitem").filter({ hasText: "write to me" });
  await theirs.hover();
  await theirs.getByRole("button", { name: `Message ${author.name} directly` }).click();
  await expect(reader.page.getByRole("heading", { level: 1 })).toHaveText(`Private room${author.name}`);
}

test("a direct message goes by the other person's new name the moment it is heard: heading, sidebar and composer", async ({ browser }) => {
  const ada = await signedInPerson(browser, unique("Ada"));
  const lin = await signedInPerson(browser, unique("Lin"));
  await directMessageFrom(lin, ada);
  await sendMessage(lin.page, "hello there");
  await expect(messageLog(lin.page).getByText("hello there")).toBeVisible();
  // Ada opens the conversation too: both are in it.
  await ada.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: new RegExp(`^${lin.name}, direct message`) }).click();
  await expect(messageLog(ada.page).getByText("hello there")).toBeVisible();
  await expect(peopleHere(lin.page)).toHaveCount(2);

  const after = unique("Augusta");
  await renameTo(ada.page, after);

  // Heard in the conversation (Ada is in it under her new name): not at the next refresh of the
  // lists (30 s), but at once, everywhere the conversation is named.
  await expect(lin.page.getByRole("heading", { level: 1 })).toHaveText(`Private room${after}`, { timeout: 5_000 });
  await expect(lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: `${after}, direct message` })).toBeVisible({ timeout: 5_000 });
  await expect(lin.page.getByLabel("Message", { exact: true })).toHaveAttribute("placeholder", `Message ${after}`, { timeout: 5_000 });
  await ada.context.close();
  await lin.context.close();
});

test("a direct message goes by the other person's new name once a list says it, though the page heard the old one", async ({ browser }) => {
  const ada = await signedInPerson(browser, unique("Ada"));
  const lin = await signedInPerson(browser, unique("Lin"));
  // Lin hears Ada's name from her message, and opens a conversation with her.
  await directMessageFrom(lin, ada);

  // Ada renames away from Lin (in no room Lin is in): Lin's page hears nothing of it.
  await openRoom(ada.page, "general");
  const after = unique("Augusta");
  await renameTo(ada.page, after);

  // The home page's list says the name as it is now; back in the conversation, so does the page.
  await lin.page.getByRole("link", { name: "All rooms" }).click();
  const link = lin.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: new RegExp(`direct message`) });
  await expect(link).toHaveAccessibleName(new RegExp(`^${after}, direct message`));
  await link.click();
  await expect(lin.page.getByRole("heading", { level: 1 })).toHaveText(`Private room${after}`);
  await ada.context.close();
  await lin.context.close();
});

test("two guests of one name in a room are told apart by a tag each, beside their messages too, while both are here or shown", async ({ browser }) => {
  test.setTimeout(60_000);
  const name = `Ada ${unique("a").slice(-5)}`;
  const first = await signedInPerson(browser, name);
  const second = await signedInPerson(browser, name);
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("namesakes");
  await createRoom(first.page, room);
  await openRoom(second.page, room);
  await openRoom(lin.page, room);
  await expect(peopleHere(lin.page)).toHaveCount(3);

  // Among the people here: one name twice, each with a tag of their own.
  const tagged = new RegExp(`^Message ${name} (#\\d{4}) directly$`);
  const adas = lin.page.getByRole("list", { name: "People here" }).getByRole("button", { name: tagged });
  await expect(adas).toHaveCount(2);
  const tags = (await adas.evaluateAll((els) => els.map((el) => el.getAttribute("aria-label") ?? ""))).map((label) => tagged.exec(label)![1]!);
  expect(new Set(tags).size).toBe(2);
  // Each sees themselves under their own tag.
  const own = async (page: typeof lin.page) => {
    const self = peopleHere(page).filter({ hasNot: page.getByRole("button") }).getByRole("img");
    return (await self.getAttribute("aria-label"))!.slice(name.length + 1);
  };
  const [firstTag, secondTag] = [await own(first.page), await own(second.page)];
  expect(new Set([firstTag, secondTag])).toEqual(new Set(tags));

  // Their messages and their typing carry the same tags.
  await sendMessage(first.page, "from the first");
  await sendMessage(second.page, "from the second");
  const log = messageLog(lin.page);
  await expect(log.getByRole("listitem").filter({ hasText: "from the first" })).toContainText(`${name} ${firstTag}`);
  await expect(log.getByRole("listitem").filter({ hasText: "from the second" })).toContainText(`${name} ${secondTag}`);
  await second.page.getByLabel("Message", { exact: true }).pressSequentially("and");
  await expect(lin.page.getByText(`${name} ${secondTag} is typing…`)).toBeVisible();

  // The second leaves. The messages shown are still two people's: the one here keeps the tag
  // that tells her from the one who wrote beside her, among the people here as in the messages.
  await second.context.close();
  await expect(peopleHere(lin.page)).toHaveCount(2);
  await expect(lin.page.getByRole("list", { name: "People here" }).getByRole("button", { name: `Message ${name} ${firstTag} directly`, exact: true })).toBeVisible();
  await expect(log.getByRole("listitem").filter({ hasText: "from the first" })).toContainText(`${name} ${firstTag}`);
  await expect(log.getByRole("listitem").filter({ hasText: "from the second" })).toContainText(`${name} ${secondTag}`);
  await first.context.close();
  await lin.context.close();
});
