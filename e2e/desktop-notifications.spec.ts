// Desktop notifications: off until the person turns them on; then a mention, and a direct
// message, arriving while the page is not in front of them pop up (an emoji's name in one as
// the emoji) — and nothing for the room being read. Headless Chromium shows no notification to
// look at, so the page's Notification is watched (each one constructed is recorded) while the
// real permission flow runs.
import { expect, test, type Page } from "@playwright/test";
import { createRoom, openRoom, sendMessage, signedInPerson, unique } from "./helpers";

const shown = (page: Page) => page.evaluate(() => (window as unknown as { shownNotifications: string[] }).shownNotifications);

test("a mention and a direct message pop up on the desktop once turned on, while the page is in the background", async ({ browser }) => {
  test.setTimeout(90_000);
  // A name of her own: "@Ada" names every Ada there is, and the suite signs many in.
  const name = `Ada${Date.now().toString(36)}`;
  const ada = await signedInPerson(browser, name);
  await ada.context.grantPermissions(["notifications"]);
  await ada.page.addInitScript(() => {
    const Real = window.Notification;
    const record: string[] = [];
    (window as unknown as { shownNotifications: string[] }).shownNotifications = record;
    class Watched extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        record.push(`${title}: ${options?.body ?? ""}`);
      }
    }
    Object.defineProperty(window, "Notification", { value: Watched });
  });
  await ada.page.reload();
  const lin = await signedInPerson(browser, "Lin");
  // Ada stays on #general throughout (a navigation would reset what the page recorded).
  await openRoom(ada.page, "general");
  await sendMessage(ada.page, `hello from Ada ${unique("h")}`);
  // Playwright makes every page think it has focus; this page must be able to lose it.
  const cdp = await ada.context.newCDPSession(ada.page);
  await cdp.send("Emulation.setFocusEmulationEnabled", { enabled: false });
  const room = unique("notify");
  await createRoom(lin.page, room);

  // Off by default: a mention while Ada looks elsewhere pops nothing up.
  const elsewhere = await ada.context.newPage();
  await elsewhere.goto("about:blank");
  await elsewhere.bringToFront();
  await sendMessage(lin.page, `@${name} first ping`);
  await ada.page.waitForTimeout(1_000);
  expect(await shown(ada.page)).toEqual([]);

  // On: from the account menu.
  await ada.page.bringToFront();
  await ada.page.getByRole("button", { name: /account and settings/i }).click();
  await ada.page.getByRole("switch", { name: "Desktop notifications" }).check();
  await expect(ada.page.getByText("Mentions, replies and direct messages pop up")).toBeVisible();
  await ada.page.getByRole("button", { name: /account and settings/i }).click();

  await elsewhere.bringToFront();
  await sendMessage(lin.page, `@${name} second ping`);
  await expect.poll(() => shown(ada.page)).toEqual([`Lin mentioned you: @${name} second ping`]);
  // An emoji's name written out whole, as the API or another app sends it, pops up as the emoji.
  const res = await lin.page.request.post(`/api/rooms/${room}/messages`, { data: { text: `@${name} third ping :tada:`, clientId: unique("c") } });
  expect(res.status()).toBe(201);
  await expect.poll(() => shown(ada.page)).toContain(`Lin mentioned you: @${name} third ping 🎉`);

  // A direct message from Lin, opened from Ada's message in #general.
  await openRoom(lin.page, "general");
  const adas = lin.page.getByRole("log", { name: "Conversation" }).getByRole("listitem").filter({ hasText: "hello from Ada" }).last();
  await adas.hover();
  await adas.getByRole("button", { name: `Message ${name} directly` }).click();
  await expect(lin.page.getByRole("heading", { name: /Private room/ })).toBeVisible();
  await sendMessage(lin.page, "just you and me");
  await expect.poll(() => shown(ada.page)).toContain("Lin wrote to you: just you and me");

  // In front of Ada, in the room she reads: nothing more pops up.
  await ada.page.bringToFront();
  await openRoom(lin.page, "general");
  const before = (await shown(ada.page)).length;
  await sendMessage(lin.page, `@${name} you are right here`);
  await ada.page.waitForTimeout(1_000);
  expect((await shown(ada.page)).length).toBe(before);
  await ada.context.close();
  await lin.context.close();
});
