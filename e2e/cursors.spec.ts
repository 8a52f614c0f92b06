// Live cursors on the shared canvas: where one person points, the other sees their label.
import { expect, test, type Page } from "@playwright/test";
import { connectionBadge, createRoom, expectConnected, openRoom, sharedCanvas, signedInPerson, unique } from "./helpers";

test("another person's cursor follows the mouse to the same place on the canvas", async ({ browser }) => {
  const cleo = await signedInPerson(browser, "Cleo");
  const dev = await signedInPerson(browser, "Dev");
  const room = unique("canvas");
  await createRoom(cleo.page, room);
  await openRoom(dev.page, room);

  const area = await sharedCanvas(cleo.page).boundingBox();
  if (!area) throw new Error("no canvas");
  const target = { x: 0.7, y: 0.6 };
  await cleo.page.mouse.move(area.x + area.width * 0.1, area.y + area.height * 0.2);
  await cleo.page.mouse.move(area.x + area.width * target.x, area.y + area.height * target.y, { steps: 25 });

  const cursor = dev.page.getByRole("img", { name: "Cleo's cursor" });
  await expect(cursor).toBeVisible();
  await expect(cursor).toContainText("Cleo");
  const devArea = await sharedCanvas(dev.page).boundingBox();
  if (!devArea) throw new Error("no canvas");
  await expect
    .poll(async () => {
      const box = await cursor.boundingBox();
      if (!box) return null;
      return { x: round((box.x - devArea.x) / devArea.width), y: round((box.y - devArea.y) / devArea.height) };
    })
    .toEqual({ x: target.x, y: target.y });

  // My own cursor is never drawn for me.
  await expect(cleo.page.getByRole("img", { name: /cursor$/ })).toHaveCount(0);

  // Leaving the canvas takes the cursor away.
  await cleo.page.mouse.move(area.x + area.width / 2, area.y - 40);
  await expect(cursor).toHaveCount(0);
  await cleo.context.close();
  await dev.context.close();
});

test("a cursor points at the same object for people whose windows and zoom differ", async ({ browser }) => {
  const uma = await signedInPerson(browser, "Uma");
  const vic = await signedInPerson(browser, "Vic");
  await uma.page.setViewportSize({ width: 1280, height: 800 });
  await vic.page.setViewportSize({ width: 1600, height: 900 });
  const room = unique("point");
  await createRoom(uma.page, room);
  await openRoom(vic.page, room);
  const board = (page: Page) => sharedCanvas(page).getByRole("group", { name: "Board" });
  const note = (page: Page) => board(page).getByRole("button", { name: "Sticky note: target" });

  // Uma puts a note on the board.
  await sharedCanvas(uma.page).getByRole("toolbar", { name: "Canvas tools" }).getByRole("button", { name: "Sticky note" }).click();
  const area = (await board(uma.page).boundingBox())!;
  await uma.page.mouse.click(area.x + area.width * 0.3, area.y + area.height * 0.4);
  await sharedCanvas(uma.page).getByRole("textbox", { name: "Text" }).fill("target");
  await sharedCanvas(uma.page).getByRole("textbox", { name: "Text" }).press("Control+Enter");
  await expect(note(vic.page)).toBeVisible();

  // Vic zooms in about a point near its corner: the note is bigger and elsewhere on his screen.
  const before = (await note(vic.page).boundingBox())!;
  await vic.page.mouse.move(before.x + 10, before.y + 10);
  await vic.page.keyboard.down("Control");
  await vic.page.mouse.wheel(0, -200);
  await vic.page.keyboard.up("Control");
  await expect.poll(async () => (await note(vic.page).boundingBox())!.width).toBeGreaterThan(before.width * 1.5);

  // Uma points at the middle of the note; Vic sees her cursor's tip there, on his screen.
  const target = (await note(uma.page).boundingBox())!;
  await uma.page.mouse.move(target.x + 5, target.y + 5);
  await uma.page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 5 });
  const cursor = vic.page.getByRole("img", { name: "Uma's cursor" });
  await expect
    .poll(async () => {
      const tip = await cursor.boundingBox();
      const shown = await note(vic.page).boundingBox();
      if (!tip || !shown) return null;
      return { x: round((tip.x - shown.x) / shown.width), y: round((tip.y - shown.y) / shown.height) };
    })
    .toEqual({ x: 0.5, y: 0.5 });

  // Uma scrolls the board under her still pointer: it points further right on the board now.
  await uma.page.mouse.wheel(40, 0);
  await expect
    .poll(async () => {
      const tip = await cursor.boundingBox();
      const shown = await note(vic.page).boundingBox();
      return tip && shown ? round((tip.x - shown.x) / shown.width) : null;
    })
    .toBeGreaterThan(0.6);
  await uma.context.close();
  await vic.context.close();
});

test("a cursor whose person left while I was offline is gone once I am back", async ({ browser }) => {
  const cleo = await signedInPerson(browser, "Cleo");
  const dev = await signedInPerson(browser, "Dev");
  const eve = await signedInPerson(browser, "Eve");
  const room = unique("ghost");
  await createRoom(cleo.page, room);
  await openRoom(dev.page, room);
  await expectConnected(dev.page);

  const area = await sharedCanvas(cleo.page).boundingBox();
  if (!area) throw new Error("no canvas");
  await cleo.page.mouse.move(area.x + area.width * 0.3, area.y + area.height * 0.3);
  await cleo.page.mouse.move(area.x + area.width * 0.5, area.y + area.height * 0.5, { steps: 5 });
  const cursor = dev.page.getByRole("img", { name: "Cleo's cursor" });
  await expect(cursor).toBeVisible();

  await dev.context.setOffline(true);
  await expect(connectionBadge(dev.page)).toHaveText("Offline");
  await cleo.context.close();
  // The server has seen Cleo go (its answer to anyone else shows no cursor) before Dev is back.
  await expect
    .poll(async () => {
      const res = await eve.page.request.get(`/api/poll?streams=room:${room}&wait=0`);
      const body = (await res.json()) as { rooms: Record<string, { cursors: Record<string, unknown> }> };
      return Object.keys(body.rooms[room]?.cursors ?? { pending: true }).length;
    })
    .toBe(0);
  await expect(cursor).toBeVisible(); // what Dev's page last knew

  await dev.context.setOffline(false);
  await expectConnected(dev.page);
  await expect(cursor).toHaveCount(0);
  await dev.context.close();
  await eve.context.close();
});

/** To the nearest 0.05 — the tip is a pixel or two off the exact point. */
function round(n: number): number {
  return Math.round(n * 20) / 20;
}
