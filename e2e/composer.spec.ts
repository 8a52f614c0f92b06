// Writing before the room is ready: a message sent while the room's history is still loading is
// not dropped — it goes, once, as soon as the room is ready.
import { expect, test } from "@playwright/test";
import { createRoom, messageLog, signedInPerson, unique } from "./helpers";

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
