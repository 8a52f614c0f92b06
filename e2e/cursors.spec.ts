// Live cursors on the shared canvas: where one person points, the other sees their label.
import { expect, test } from "@playwright/test";
import { createRoom, openRoom, sharedCanvas, signedInPerson, unique } from "./helpers";

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

/** To the nearest 0.05 — the tip is a pixel or two off the exact point. */
function round(n: number): number {
  return Math.round(n * 20) / 20;
}
