// Every screen a person meets, checked by axe (WCAG 2.2 A/AA and best practice) in light and in
// dark mode: no serious or critical violation anywhere. And the theme: a choice in the account
// menu that outlives a reload, or the system's setting followed live.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { createRoom, expectConnected, messageLog, notificationsButton, openRoom, sendMessage, signIn, unique, type Person } from "./helpers";

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

/** Fails, listing each rule with its help, the elements and why, when axe finds anything serious or critical. */
async function expectAccessible(page: Page, screen: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const serious = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => {
      const nodes = v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.any[0]?.message ?? n.failureSummary ?? ""}`);
      return `${v.id} (${v.impact}) ${v.help}\n${nodes.join("\n")}`;
    });
  expect.soft(serious, `axe on ${screen}:\n${serious.join("\n")}`).toEqual([]);
}

/** A person in their own browser whose system asks for `scheme`. */
async function personIn(browser: Browser, scheme: "light" | "dark", name: string): Promise<Person> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.emulateMedia({ colorScheme: scheme });
  await page.goto("/");
  await signIn(page, name);
  return { name, context, page };
}

/** A message in the list, found by its text (not a reply that quotes it). */
const messageWith = (page: Page, text: string) =>
  messageLog(page)
    .getByRole("listitem")
    .filter({ hasText: text })
    .filter({ hasNot: page.getByRole("button", { name: /^Reply to / }) });

async function act(page: Page, text: string, action: string) {
  const item = messageWith(page, text);
  await item.hover();
  await item.getByRole("toolbar").getByRole("button", { name: action, exact: true }).click();
}

for (const scheme of ["light", "dark"] as const) {
  test(`in ${scheme} mode, axe finds nothing serious on any screen`, async ({ browser }) => {
    test.setTimeout(300_000);
    const visitorContext = await browser.newContext();
    const visitor = await visitorContext.newPage();
    await visitor.emulateMedia({ colorScheme: scheme });
    await visitor.goto("/");
    await expect(visitor.getByLabel("Display name")).toBeVisible();
    // The check is only worth something if the page really is in that mode.
    await expect(visitor.locator("html")).toHaveAttribute("data-theme", scheme);
    await expectAccessible(visitor, "the landing page, signed out");
    await visitorContext.close();

    const ada = await personIn(browser, scheme, "Ada Lovelace");
    const lin = await personIn(browser, scheme, "Lin");
    try {
      await expectAccessible(ada.page, "the home page");

      // A conversation between two people with every kind of message 1.2 has.
      const room = unique("a11y");
      await createRoom(ada.page, room);
      await openRoom(lin.page, room);
      await sendMessage(ada.page, "shipping today");
      await sendMessage(ada.page, "meet at 10");
      await sendMessage(ada.page, "a typo I regret");
      await expect(messageWith(lin.page, "a typo I regret")).toBeVisible();
      await act(lin.page, "shipping today", "React");
      await lin.page.getByRole("dialog", { name: "Add a reaction" }).getByRole("button", { name: "React with 🎉" }).click();
      await act(lin.page, "shipping today", "Reply");
      await lin.page.getByLabel("Reply to Ada Lovelace").fill("which branch?");
      await lin.page.getByLabel("Reply to Ada Lovelace").press("Enter");
      await act(ada.page, "meet at 10", "Edit");
      await ada.page.getByLabel("Edit message").fill("meet at 11");
      await ada.page.getByLabel("Edit message").press("Enter");
      await act(ada.page, "a typo I regret", "Delete");
      await ada.page.getByRole("alertdialog", { name: "Delete message" }).getByRole("button", { name: "Delete" }).click();
      for (const p of [ada.page, lin.page]) {
        await expect(messageLog(p).getByText("This message was deleted")).toBeVisible();
        await expect(messageLog(p).getByText("(edited)")).toBeVisible();
        await expect(messageLog(p).getByRole("button", { name: /reacted with 🎉/ })).toBeVisible();
        await expect(messageLog(p).getByText("which branch?")).toBeVisible();
      }
      await expectConnected(ada.page);
      await expectAccessible(ada.page, "a room with messages from two people");
      await expectAccessible(lin.page, "the same room, for the other person");

      // The canvas's tools that open a row of more.
      const tools = ada.page.getByRole("toolbar", { name: "Canvas tools" });
      await tools.getByRole("button", { name: "More" }).click();
      await expect(tools.getByRole("group", { name: "More tools" })).toBeVisible();
      await expectAccessible(ada.page, "the canvas with More open");
      await tools.getByRole("button", { name: /^Colour:/ }).click();
      await expect(tools.getByRole("group", { name: "Colours" })).toBeVisible();
      await expectAccessible(ada.page, "the canvas with its colours open");
      await ada.page.keyboard.press("Escape");
      await expect(tools.getByRole("group", { name: "Colours" })).toHaveCount(0);

      await ada.page.getByRole("button", { name: "Inspector", exact: true }).click();
      await expect(ada.page.getByRole("complementary", { name: "Inspector" })).toBeVisible();
      await expectAccessible(ada.page, "the room with the inspector open");
      await ada.page.getByRole("button", { name: "Close inspector" }).click();

      // Lin's reply came while Ada had the room in view: it is read with the room.
      await expect(notificationsButton(ada.page)).toHaveAccessibleName("Notifications");
      await notificationsButton(ada.page).click();
      await expect(ada.page.getByRole("region", { name: "Mentions" })).toContainText("Lin replied to you");
      await expectAccessible(ada.page, "the notifications panel");
      await notificationsButton(ada.page).click();

      await ada.page.getByRole("button", { name: "Account and settings" }).click();
      await expect(ada.page.getByRole("region", { name: "Account and settings" })).toBeVisible();
      await expectAccessible(ada.page, "the account menu");
      await ada.page.getByRole("button", { name: "Account and settings" }).click();

      await ada.page.getByLabel("Message", { exact: true }).focus();
      await ada.page.keyboard.press("Control+k");
      await expect(ada.page.getByRole("dialog", { name: "Switch to a room" })).toBeVisible();
      await expectAccessible(ada.page, "the quick switcher");
      await ada.page.keyboard.press("Escape");

      const search = ada.page.getByRole("search", { name: "Messages" }).getByLabel("Search messages");
      await search.fill("shipping");
      // Words are indexed a moment after a message is sent: ask again until they are.
      await expect(async () => {
        await search.press("Enter");
        await expect(ada.page.getByRole("list", { name: "Search results" }).getByRole("link").first()).toBeVisible({ timeout: 1_000 });
      }).toPass();
      await expectAccessible(ada.page, "search results");

      // Home again, with news in the room since: its row shows as unread.
      await ada.page.goto("/");
      await sendMessage(lin.page, "pushed to main");
      await expect(ada.page.getByRole("link", { name: `#${room}, 1 unread` })).toBeVisible();
      await expectAccessible(ada.page, "the home page with an unread room");

      await ada.page.goto("/ops");
      await expect(ada.page.getByRole("heading", { level: 1 })).toBeVisible();
      await expectAccessible(ada.page, "/ops");

      await ada.page.setViewportSize({ width: 390, height: 844 });
      await openRoom(ada.page, room);
      await expectAccessible(ada.page, "a room on a 390×844 phone");
    } finally {
      await ada.context.close();
      await lin.context.close();
    }
  });
}

test("the theme chosen in the account menu outlives a reload, and System follows the system's setting", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.emulateMedia({ colorScheme: "light" });
    // What <html> says when the body starts: the theme must be set before anything is painted.
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (!document.body) return;
        document.documentElement.dataset.themeAtFirstPaint = document.documentElement.dataset.theme ?? "none";
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto("/");
    await signIn(page, "Theo");
    const html = page.locator("html");
    await expect(html).toHaveAttribute("data-theme", "light");

    await page.getByRole("button", { name: "Account and settings" }).click();
    const theme = page.getByRole("combobox", { name: "Theme" });
    await expect(theme).toHaveValue("system");
    const body = page.locator("body");
    const lightBackground = await body.evaluate((el) => getComputedStyle(el).backgroundColor);
    await theme.selectOption({ label: "Dark" });
    await expect(html).toHaveAttribute("data-theme", "dark");
    await expect(body).not.toHaveCSS("background-color", lightBackground);

    await page.reload();
    await expect(html).toHaveAttribute("data-theme-at-first-paint", "dark");
    await expect(html).toHaveAttribute("data-theme", "dark");
    // Chosen, not followed: the system turning light changes nothing.
    await page.emulateMedia({ colorScheme: "light" });
    await expect(html).toHaveAttribute("data-theme", "dark");
    await page.getByRole("button", { name: "Account and settings" }).click();
    await expect(theme).toHaveValue("dark");

    await theme.selectOption({ label: "Light" });
    await expect(html).toHaveAttribute("data-theme", "light");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.reload();
    await expect(html).toHaveAttribute("data-theme-at-first-paint", "light");
    await expect(html).toHaveAttribute("data-theme", "light");

    // System: whatever the system says, now and as it changes.
    await page.getByRole("button", { name: "Account and settings" }).click();
    await theme.selectOption({ label: "System" });
    await expect(html).toHaveAttribute("data-theme", "dark");
    await page.emulateMedia({ colorScheme: "light" });
    await expect(html).toHaveAttribute("data-theme", "light");
    await page.emulateMedia({ colorScheme: "dark" });
    await expect(html).toHaveAttribute("data-theme", "dark");
    await page.reload();
    await expect(html).toHaveAttribute("data-theme-at-first-paint", "dark");
    await page.emulateMedia({ colorScheme: "light" });
    await expect(html).toHaveAttribute("data-theme", "light");
  } finally {
    await context.close();
  }
});

test("signed in from the keyboard, the focus goes on in the page, not back to the top of it", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Display name").fill(unique("Kay"));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Account and settings" })).toBeVisible();
  await expect.poll(() => page.evaluate(() => document.activeElement?.closest("main") !== null)).toBe(true);
  // The next Tab reaches the page's own controls, not the header's first link.
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.closest("main") !== null)).toBe(true);
});

test("the first Tab offers to skip to the page's content, past the header and the sidebar", async ({ page }) => {
  await page.goto("/");
  await signIn(page, unique("Sky"));
  await page.reload();
  await expect(page.getByRole("button", { name: "Account and settings" })).toBeVisible();
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.closest("main") !== null)).toBe(true);
});
