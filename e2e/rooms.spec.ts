// The room list a page at a time: search by name on the server, then "Load more rooms".
import { expect, request, test } from "@playwright/test";
import { signIn, unique } from "./helpers";

/** Creates `names` over HTTP, 10 per writer (a person may create 10 rooms at once). */
async function createRooms(baseURL: string, names: string[]): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += 10) batches.push(names.slice(i, i + 10));
  await Promise.all(
    batches.map(async (batch, i) => {
      const ctx = await request.newContext({ baseURL });
      expect((await ctx.post("/api/session", { data: { name: `Builder ${i}` } })).status()).toBe(200);
      for (const name of batch) expect((await ctx.post("/api/rooms", { data: { name } })).status()).toBe(201);
      await ctx.dispose();
    }),
  );
}

test("a person searches the rooms by name and loads more of them", async ({ page, baseURL }) => {
  test.slow(); // 55 rooms made over HTTP first
  const prefix = unique("lot");
  const names = Array.from({ length: 55 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
  await createRooms(baseURL!, names);

  await page.goto("/");
  await signIn(page, "Rhea");
  const list = page.getByRole("list", { name: "Rooms" });
  await expect(list.getByRole("link", { name: /^#general/ })).toBeVisible();

  await page.getByLabel("Search rooms").fill(prefix.toUpperCase());
  // The first page of matches (50), A–Z, and a way to the rest.
  await expect(list.getByRole("link")).toHaveCount(50);
  await expect(list.getByRole("link").first()).toHaveText(new RegExp(`^#${names[0]}`));
  await expect(list.getByRole("link", { name: /^#general/ })).toHaveCount(0);
  await page.getByRole("button", { name: "Load more rooms" }).click();
  await expect(list.getByRole("link")).toHaveCount(55);
  await expect(page.getByRole("button", { name: "Load more rooms" })).toHaveCount(0);

  await page.getByLabel("Search rooms").fill(`${prefix}-54`);
  await expect(list.getByRole("link")).toHaveCount(1);
  await list.getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/rooms/${prefix}-54$`));

  await page.goto("/");
  await page.getByLabel("Search rooms").fill("no-such-room-anywhere");
  await expect(page.getByText("No room names contain “no-such-room-anywhere”.")).toBeVisible();
});

test("a room's header shows its name as written, and a bad name's error reads without the field", async ({ page }) => {
  await page.goto("/");
  await signIn(page, unique("Wren"));

  await page.getByLabel("Room name").fill("no spaces allowed");
  await page.getByRole("button", { name: "Create room" }).click();
  // The server says "name: Room names are…" to API callers; the form already names the field.
  const error = page.getByRole("alert").filter({ hasText: "Room names" });
  await expect(error).toHaveText("Room names are 1–40 letters, digits, '-' or '_'");
  await expect(page.getByLabel("Room name")).toHaveAccessibleDescription("Room names are 1–40 letters, digits, '-' or '_'");

  const name = unique("Mobile_Team");
  await page.getByLabel("Room name").fill(name);
  await page.getByRole("button", { name: "Create room" }).click();
  await expect(page).toHaveURL(new RegExp(`/rooms/${name.toLowerCase()}$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`#${name}`);
  await expect(page.getByLabel("Message", { exact: true })).toHaveAttribute("placeholder", `Message #${name}`);

  // Opened afresh by its lower-cased address, it is still named as written.
  await page.goto(`/rooms/${name.toLowerCase()}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`#${name}`);
});
