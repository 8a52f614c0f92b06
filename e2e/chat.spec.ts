// Two people in one room: messages both ways, typing, presence — and the offline outbox.
import { expect, test } from "@playwright/test";
import { connectionBadge, createRoom, expectConnected, messageLog, openRoom, peopleHere, sendMessage, signedInPerson, unique } from "./helpers";

test("two people chat both ways, see each other typing and present", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("chat");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);

  await expect(peopleHere(ada.page)).toHaveCount(2);
  await expect(peopleHere(lin.page)).toHaveCount(2);

  await ada.page.getByLabel("Message", { exact: true }).pressSequentially("Hi Li");
  await expect(lin.page.getByText("Ada is typing…")).toBeVisible();
  await ada.page.getByLabel("Message", { exact: true }).press("Enter");
  await expect(messageLog(lin.page).getByText("Hi Li")).toBeVisible();
  await expect(lin.page.getByText("Ada is typing…")).toBeHidden();

  await sendMessage(lin.page, "Hello Ada, line one\nline two");
  await expect(messageLog(ada.page)).toContainText("Hello Ada, line one\nline two");
  // Shift+Enter is a new line, not a send.
  await ada.page.getByLabel("Message", { exact: true }).press("Shift+Enter");
  await expect(ada.page.getByLabel("Message", { exact: true })).toHaveValue("\n");

  await lin.context.close();
  // Lin's departure shows after the server's grace period (≤ 3 s).
  await expect(peopleHere(ada.page)).toHaveCount(1, { timeout: 8_000 });
  await ada.context.close();
});

test("a message written offline waits as pending and arrives exactly once", async ({ browser }) => {
  const olga = await signedInPerson(browser, "Olga");
  const piet = await signedInPerson(browser, "Piet");
  const room = unique("offline");
  await createRoom(olga.page, room);
  await openRoom(piet.page, room);
  await expectConnected(olga.page);

  await olga.context.setOffline(true);
  await expect(connectionBadge(olga.page)).toHaveText("Offline");
  await sendMessage(olga.page, "written on the train");
  const mine = messageLog(olga.page).getByRole("listitem").filter({ hasText: "written on the train" });
  await expect(mine).toContainText("Pending");
  await piet.page.waitForTimeout(500);
  await expect(messageLog(piet.page).getByText("written on the train")).toHaveCount(0);

  await olga.context.setOffline(false);
  await expect(messageLog(piet.page).getByText("written on the train")).toHaveCount(1);
  await expect(mine).not.toContainText("Pending");
  await expect(mine).toHaveCount(1);
  // Still one copy each after things settle (the resend on reconnect is deduplicated).
  await piet.page.waitForTimeout(1_000);
  await expect(messageLog(piet.page).getByText("written on the train")).toHaveCount(1);
  await expect(messageLog(olga.page).getByText("written on the train")).toHaveCount(1);
  await olga.context.close();
  await piet.context.close();
});

test("messages sent just before switching rooms still reach the room", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("hurry");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  // A slow link from here on: everything the server tells Ada comes 2.5 s late, so a room's next
  // message, which waits until the one before it is confirmed, is still on the page when she
  // moves on.
  let late = 0;
  await ada.page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (typeof m === "string" && m.includes('"type":"ack"')) late++;
      setTimeout(() => ws.send(m), 2_500);
    });
  });
  await openRoom(ada.page, room);

  for (const text of ["one", "two", "three"]) await sendMessage(ada.page, `${text} in a hurry`);
  await ada.page.getByRole("navigation", { name: "Your rooms" }).getByRole("link", { name: /^#general(,|$)/ }).click();
  await expect(ada.page.getByRole("heading", { level: 1, name: /general$/i })).toBeVisible();

  for (const text of ["one", "two", "three"]) await expect(messageLog(lin.page).getByText(`${text} in a hurry`)).toBeVisible();
  expect(late, "acknowledgements held back").toBeGreaterThanOrEqual(3);
  await ada.context.close();
  await lin.context.close();
});

test("a message still on its way when the page reloads into another room reaches its room", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("reloaded");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  // A link that loses what Ada sends until she reloads: her message is still in the outbox
  // (kept in the tab's sessionStorage) when the page goes.
  let losing = true;
  let lost = 0;
  await ada.page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (losing && typeof m === "string" && m.includes('"type":"send"')) return void lost++;
      server.send(m);
    });
  });
  await openRoom(ada.page, room);
  await sendMessage(ada.page, "kept through a reload");
  await expect.poll(() => lost).toBeGreaterThan(0);

  // Reloaded into #general: the message goes to its own room without her opening it.
  losing = false;
  await openRoom(ada.page, "general");
  await expect(messageLog(lin.page).getByText("kept through a reload", { exact: true })).toHaveCount(1);
  await expect(messageLog(ada.page).getByText("kept through a reload")).toHaveCount(0);
  await openRoom(ada.page, room);
  await expect(messageLog(ada.page).getByText("kept through a reload", { exact: true })).toHaveCount(1);
  await expect(messageLog(ada.page).getByText(/Pending|Sending/)).toHaveCount(0);
  await ada.context.close();
  await lin.context.close();
});
