// A room whose history cannot load is still a live room: it is joined, shows and sends live
// messages, offers "Try again", and loads the history once the server answers again.
import { expect, test } from "@playwright/test";
import { createRoom, messageLog, peopleHere, sendMessage, signedInPerson, unique } from "./helpers";

test("when the history fails to load, the room still chats live and loads it later", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const room = unique("history");
  await createRoom(ada.page, room);
  await sendMessage(ada.page, "said before Lin came");
  await expect(messageLog(ada.page).getByText("said before Lin came")).toBeVisible();

  const lin = await signedInPerson(browser, "Lin");
  let failures = 0;
  const history = `**/api/rooms/${room}/events**`;
  await lin.page.route(history, (route) => {
    failures++;
    return route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "Try again soon" } }) });
  });
  await lin.page.goto(`/rooms/${room}`);
  const log = messageLog(lin.page);
  await expect(log.getByRole("alert")).toContainText("Could not load this room’s earlier messages.");

  // Joined all the same: present, receiving and sending live.
  await expect(peopleHere(ada.page)).toHaveCount(2);
  await sendMessage(ada.page, "live while the history is down");
  await expect(log.getByText("live while the history is down")).toBeVisible();
  await sendMessage(lin.page, "Lin writes anyway");
  await expect(messageLog(ada.page).getByText("Lin writes anyway")).toBeVisible();
  await expect(log.getByText("Lin writes anyway")).toBeVisible();

  // "Try again" asks at once.
  const before = failures;
  await log.getByRole("button", { name: "Try again" }).click();
  await expect.poll(() => failures).toBeGreaterThan(before);

  // The server answers again: the history arrives (by the next retry or a click), above the live ones.
  await lin.page.unroute(history);
  await lin.page.evaluate(() => document.querySelector<HTMLButtonElement>("[role=log] [role=alert] button")?.click());
  await expect(log.getByText("said before Lin came")).toBeVisible();
  await expect(log.getByRole("alert")).toHaveCount(0);
  await expect(log.getByRole("listitem")).toHaveText([/said before Lin came/, /live while the history is down/, /Lin writes anyway/]);
  await ada.context.close();
  await lin.context.close();
});
