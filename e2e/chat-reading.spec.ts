// Chat that reads well: links, bold and code in a message (and a `javascript:` link that stays
// text), a long message behind "Show more", days and times, the composer counting down to the
// limit, and a feed that groups a burst of messages into one item with mentions of me first.
import { expect, test } from "@playwright/test";
import { activityFeed, createRoom, messageLog, notificationsButton, openRoom, sendMessage, signedInPerson, unique } from "./helpers";

test("emoji names written out whole, as the API or another app sends them, show as emoji, in the message and its preview", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("emoji");
  await createRoom(ada.page, room);
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);

  const text = "shipped :tada::tada: :rocket: — run `echo :tada:` at 12:30:45, :not_a_name: stays";
  const res = await ada.page.request.post(`/api/rooms/${room}/messages`, { data: { text, clientId: unique("c") } });
  expect(res.status()).toBe(201);
  const message = messageLog(lin.page).getByRole("listitem").filter({ hasText: "shipped" });
  await expect(message).toContainText("shipped 🎉🎉 🚀 — run");
  // Code is as written, and so are times and names no emoji has.
  await expect(message.locator("code")).toHaveText("echo :tada:");
  await expect(message).toContainText("at 12:30:45, :not_a_name: stays");
  await expect(activityFeed(lin.page)).toContainText("shipped 🎉🎉 🚀");
  await ada.context.close();
  await lin.context.close();
});

test("a message shows its link, bold and code; markup and javascript: links stay text", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("read");
  await createRoom(ada.page, room);
  const lin = await signedInPerson(browser, "Lin");
  await openRoom(lin.page, room);
  let dialogs = 0;
  lin.page.on("dialog", (d) => {
    dialogs++;
    void d.dismiss();
  });

  await sendMessage(ada.page, "**ship it** on https://example.com/release, run `npm run build` — [docs](javascript:alert(1)) javascript:alert(2)");
  await sendMessage(ada.page, `<img src=x onerror="alert(3)"> and _nothing_ **unclosed`);

  const log = messageLog(lin.page);
  const message = log.getByRole("listitem").filter({ hasText: "ship it" });
  await expect(message.locator("strong")).toHaveText("ship it");
  await expect(message.locator("code")).toHaveText("npm run build");
  const link = message.getByRole("link");
  await expect(link).toHaveCount(1);
  await expect(link).toHaveText("https://example.com/release");
  await expect(link).toHaveAttribute("href", "https://example.com/release");
  await expect(link).toHaveAttribute("rel", "noopener noreferrer");
  await expect(link).toHaveAttribute("target", "_blank");
  await expect(message).toContainText("[docs](javascript:alert(1)) javascript:alert(2)");

  const markup = log.getByRole("listitem").filter({ hasText: "onerror" });
  await expect(markup).toContainText(`<img src=x onerror="alert(3)"> and nothing **unclosed`);
  await expect(markup.locator("em")).toHaveText("nothing");
  await expect(log.locator("img")).toHaveCount(0);
  expect(dialogs).toBe(0);

  // Today's messages sit under "Today", with the exact time on hover.
  await expect(log.getByRole("heading", { name: "Today" })).toBeVisible();
  await expect(message.locator("time")).toHaveAttribute("title", /\d:\d\d:\d\d/);
  await ada.context.close();
  await lin.context.close();
});

test("yesterday's messages sit under Yesterday with their time of day", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("days");
  await createRoom(ada.page, room);
  await sendMessage(ada.page, "see you tomorrow");
  await expect(messageLog(ada.page).getByText("see you tomorrow")).toBeVisible();

  // Lin reads it a day later (by her page's clock).
  const lin = await signedInPerson(browser, "Lin");
  await lin.page.clock.setFixedTime(Date.now() + 24 * 3600_000);
  await openRoom(lin.page, room);
  const log = messageLog(lin.page);
  await expect(log.getByRole("heading", { name: "Yesterday" })).toBeVisible();
  await expect(log.getByRole("heading", { name: "Today" })).toHaveCount(0);
  const time = log.getByRole("listitem").filter({ hasText: "see you tomorrow" }).locator("time");
  await expect(time).toHaveText(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2}:\d\d\s[AP]M$/);
  await ada.context.close();
  await lin.context.close();
});

test("a long message starts collapsed and opens with Show more", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("long");
  await createRoom(ada.page, room);
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1} of the release notes`);
  await sendMessage(ada.page, `${lines.join("\n")}\n**the end**`);

  const message = messageLog(ada.page).getByRole("listitem").filter({ hasText: "line 1 of the release notes" });
  // Sent (it has its actions): the row of the pending copy, with a toggle of its own, is gone.
  await expect(message.locator('[role="toolbar"]')).toBeAttached();
  const toggle = message.getByRole("button", { name: "Show more" });
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  const end = message.locator("strong", { hasText: "the end" });
  await expect(end).not.toBeInViewport();

  await toggle.click();
  const less = message.getByRole("button", { name: "Show less" });
  await expect(less).toHaveAttribute("aria-expanded", "true");
  await end.scrollIntoViewIfNeeded();
  await expect(end).toBeInViewport();

  await less.click();
  await expect(message.getByRole("button", { name: "Show more" })).toHaveAttribute("aria-expanded", "false");
  await expect(end).not.toBeInViewport();
  // A short message has no toggle.
  await sendMessage(ada.page, "short one");
  await expect(messageLog(ada.page).getByRole("listitem").filter({ hasText: "short one" }).getByRole("button", { name: /^Show (more|less)$/ })).toHaveCount(0);
  await ada.context.close();
});

test("a burst of messages is one feed item with its count; a mention of me is first, under For you", async ({ browser }) => {
  const lin = await signedInPerson(browser, "Lin");
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("burst");
  await createRoom(ada.page, room);
  for (const text of ["first of the burst", "second of the burst", "third of the burst", "@Lin the last of the burst"]) await sendMessage(ada.page, text);
  await expect(messageLog(ada.page).getByText("the last of the burst")).toBeVisible();

  const items = activityFeed(lin.page).getByRole("listitem").filter({ hasText: `#${room}` });
  const burst = items.filter({ hasText: "new messages" });
  await expect(burst).toHaveCount(1);
  await expect(burst).toContainText(`4 new messages in #${room} from Ada`);
  await expect(burst.getByRole("link", { name: "@Lin the last of the burst" })).toHaveAttribute("href", new RegExp(`/rooms/${room}\\?seq=\\d+$`));
  // None of the burst's messages has an item of its own.
  await expect(items.filter({ hasText: "first of the burst" })).toHaveCount(0);

  const forYou = lin.page.getByRole("list", { name: "For you" });
  await expect(forYou.getByRole("listitem").first()).toContainText(`Unread: Ada mentioned you in #${room}`);
  await expect(forYou.getByRole("listitem").first()).toContainText("the last of the burst");
  // Read in the bell: no longer marked unread here.
  await notificationsButton(lin.page).click();
  await expect(notificationsButton(lin.page)).toHaveAccessibleName("Notifications");
  await expect(forYou.getByRole("listitem").first()).not.toContainText("Unread");
  await ada.context.close();
  await lin.context.close();
});

test("the composer counts the characters left near the limit and refuses a message past it", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("limit");
  await createRoom(ada.page, room);
  const box = ada.page.getByLabel("Message", { exact: true });
  const send = ada.page.getByRole("button", { name: "Send" });

  await box.fill("x".repeat(3700));
  await expect(box).toHaveAccessibleDescription("");
  await box.fill("x".repeat(3850));
  await expect(box).toHaveAccessibleDescription("150 characters left");
  await expect(ada.page.getByText("150 characters left")).toHaveAttribute("aria-live", "polite");

  await box.fill(`${"y".repeat(4010)}`);
  await expect(box).toHaveAccessibleDescription("10 characters over the limit");
  await expect(box).toHaveAttribute("aria-invalid", "true");
  await expect(send).toBeDisabled();
  await box.press("Enter");
  await expect(box).toHaveValue("y".repeat(4010));
  await expect(messageLog(ada.page).getByRole("listitem")).toHaveCount(0);

  // Spaces around the text do not count, as on the server.
  await box.fill(`  ${"z".repeat(4000)}  `);
  await expect(box).toHaveAccessibleDescription("0 characters left");
  await box.press("Enter");
  await expect(box).toHaveValue("");
  await expect(messageLog(ada.page).getByRole("listitem")).toHaveCount(1);
  await ada.context.close();
});

test("a grouped message names its author to screen readers; a link to a message that does not exist says so", async ({ browser }) => {
  const room = unique("gone");
  const ada = await signedInPerson(browser, "Ada");
  await createRoom(ada.page, room);
  await sendMessage(ada.page, "the first message");
  await sendMessage(ada.page, "the second message");
  // The second sits under the first one's header, yet still says whose it is to a screen reader.
  const second = messageLog(ada.page).getByRole("listitem").filter({ hasText: "the second message" });
  await expect(second).toBeVisible();
  await expect(second).toContainText("Ada: the second message");
  // A grouped one-line message is one line tall: its time, shown in the gutter on hover, stays
  // on one line too rather than wrapping and making every grouped row taller than its text.
  const row = (await second.boundingBox())!;
  const text = (await second.getByText("the second message", { exact: true }).boundingBox())!;
  expect(row.height).toBeLessThanOrEqual(text.height + 8);

  await ada.page.goto(`/rooms/${room}?seq=999999`);
  await expect(messageLog(ada.page).getByText("the second message")).toBeVisible();
  await expect(ada.page.getByText("That message no longer exists.")).toBeVisible();
  await ada.page.getByRole("button", { name: "Dismiss" }).click();
  await expect(ada.page.getByText("That message no longer exists.")).toHaveCount(0);
  await ada.context.close();
});
