// `?transport=longpoll` forces the fallback: chat still works, and the badge says so.
import { expect, test } from "@playwright/test";
import { connectionBadge, createRoom, messageLog, openRoom, sendMessage, signedInPerson, unique } from "./helpers";

test("two people chat over long polling", async ({ browser }) => {
  const tia = await signedInPerson(browser, "Tia", "/?transport=longpoll");
  const uri = await signedInPerson(browser, "Uri", "/?transport=longpoll");
  const room = unique("polling");
  await createRoom(tia.page, room);
  await openRoom(uri.page, room);

  for (const p of [tia, uri]) await expect(connectionBadge(p.page)).toHaveText("Long polling · connected");
  await sendMessage(tia.page, "polled hello");
  await expect(messageLog(uri.page).getByText("polled hello")).toBeVisible();
  await sendMessage(uri.page, "polled reply");
  await expect(messageLog(tia.page).getByText("polled reply")).toBeVisible();
  await expect(uri.page.getByRole("list", { name: "People here" }).getByRole("listitem")).toHaveCount(2);
  await tia.context.close();
  await uri.context.close();
});
