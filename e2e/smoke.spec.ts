// One person, start to finish: a name, a room, a message that survives a reload.
import { expect, test } from "@playwright/test";
import { createRoom, messageLog, sendMessage, signIn, signOutGuest, unique } from "./helpers";

test("a person sets a name, creates a room, posts, reloads, and sees the message", async ({ page }) => {
  await page.goto("/");
  await signIn(page, "Sam");
  await expect(page.getByRole("list", { name: "Rooms" }).getByRole("link", { name: /^#general/ })).toBeVisible();

  const room = unique("smoke");
  await createRoom(page, room);
  // Text only: markup in a message is shown, never interpreted.
  const text = "Hello <b>world</b> from Sam";
  await sendMessage(page, text);
  await expect(messageLog(page).getByText(text)).toBeVisible();
  await expect(messageLog(page).locator("b")).toHaveCount(0);
  await expect(messageLog(page).getByText("Pending")).toHaveCount(0);

  await page.reload();
  await expect(messageLog(page).getByText(text)).toBeVisible();
  await expect(messageLog(page).getByText(text)).toHaveCount(1);

  // The session is remembered: the landing skips the name; the same room name is refused.
  await page.goto("/");
  await expect(page.getByLabel("Display name")).toHaveCount(0);
  await page.getByLabel("Room name").fill(room);
  await page.getByRole("button", { name: "Create room" }).click();
  await expect(page.getByLabel("Room name")).toHaveAccessibleDescription(/already exists/);

  await signOutGuest(page);
  await expect(page.getByLabel("Display name")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Display name")).toBeVisible();
});
