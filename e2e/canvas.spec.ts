// The shared canvas with two people in their own browsers: notes one makes appear for the other;
// both dragging the same note at once end with it in the same place on both screens; an edit
// made offline meets the other's delete and both end with the server's board, and one made
// offline while the other edits the same note keeps both people's words; and undo takes
// back only one's own work, never the other's (also right after a delete by the Delete key); a note
// written full shrinks its text to stay readable; and the tools fit on one line beside the chat.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { createRoom, expectConnected, openRoom, sharedCanvas, signedInPerson, signIn, topSpread, unique, type Person } from "./helpers";

/** How far the board and what holds it were scrolled (all 0 when nothing moved it under the pointer). */
const scrolled = (page: Page) =>
  board(page).evaluate((el) => {
    let total = 0;
    for (let e: Element | null = el; e; e = e.parentElement) total += e.scrollTop + e.scrollLeft;
    return total;
  });

const board = (page: Page) => sharedCanvas(page).getByRole("group", { name: "Board" });
const notes = (page: Page) => board(page).getByRole("button", { name: /^Sticky note/ });
const note = (page: Page, text: string) => board(page).getByRole("button", { name: `Sticky note: ${text}` });

/** Makes a sticky note at (fx, fy) of the board with `text`, ending the typing with `done`. */
async function addNote(page: Page, fx: number, fy: number, text: string, done = "Control+Enter"): Promise<void> {
  await sharedCanvas(page).getByRole("toolbar", { name: "Canvas tools" }).getByRole("button", { name: "Sticky note" }).click();
  const area = (await board(page).boundingBox())!;
  await page.mouse.click(area.x + area.width * fx, area.y + area.height * fy);
  const editor = sharedCanvas(page).getByRole("textbox", { name: "Text" });
  await expect(editor).toBeFocused();
  await editor.fill(text);
  await editor.press(done);
  await expect(editor).toBeHidden();
  await expect(note(page, text)).toBeVisible();
}

/** Where a note is, relative to the board's corner (both people see the board at 100 %, unpanned). */
async function placeOf(page: Page, text: string): Promise<{ x: number; y: number } | null> {
  const box = await note(page, text).boundingBox();
  const area = await board(page).boundingBox();
  return box && area ? { x: Math.round(box.x - area.x), y: Math.round(box.y - area.y) } : null;
}

/** Ada and Lin, each in their own browser, both in a new room with its canvas, both connected. */
async function twoInARoom(browser: Browser): Promise<{ ada: Person; lin: Person }> {
  const ada = await signedInPerson(browser, "Ada");
  const lin = await signedInPerson(browser, "Lin");
  const room = unique("canvas");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  await expectConnected(ada.page);
  await expectConnected(lin.page);
  return { ada, lin };
}

test("beside the rooms, the feed and the chat, the canvas's tools sit on one line, each named, the rest a keypress away", async ({ page }) => {
  await page.goto("/");
  await signIn(page, unique("Ada"));
  await createRoom(page, unique("tools"));
  const toolbar = sharedCanvas(page).getByRole("toolbar", { name: "Canvas tools" });
  for (const name of ["Select", "Pan", "Sticky note", "Rectangle", "Ellipse", "Arrow", "Pen"]) await expect(toolbar.getByRole("button", { name, exact: true })).toBeVisible();
  expect(await topSpread(toolbar)).toBeLessThanOrEqual(2);
  const [bar, area] = [(await toolbar.boundingBox())!, (await board(page).boundingBox())!];
  expect(bar.x + bar.width).toBeLessThanOrEqual(area.x + area.width);

  // What does not fit is behind More, from the keyboard too; Escape closes it and gives the focus back.
  const more = toolbar.getByRole("button", { name: "More" });
  await more.focus();
  await page.keyboard.press("Enter");
  await expect(more).toHaveAttribute("aria-expanded", "true");
  await toolbar.getByRole("button", { name: "Zoom in" }).focus();
  await page.keyboard.press("Enter");
  await expect(toolbar.getByRole("button", { name: "125%, reset zoom" })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(toolbar.getByRole("button", { name: "Zoom in" })).toBeHidden();
  await expect(more).toBeFocused();
});

test("two people drag the same note at once and both end with it in the same place", async ({ browser }) => {
  const { ada, lin } = await twoInARoom(browser);

  await addNote(ada.page, 0.3, 0.5, "shared");
  await expect(note(lin.page, "shared")).toBeVisible();

  // Both press on the note, both move it (interleaved), then both let go: two drops, one winner.
  const grab = async (page: Page) => {
    const b = (await note(page, "shared").boundingBox())!;
    await page.mouse.move(b.x + 20, b.y + 20);
    await page.mouse.down();
    return b;
  };
  const a0 = await grab(ada.page);
  const l0 = await grab(lin.page);
  for (let i = 1; i <= 5; i++) {
    await ada.page.mouse.move(a0.x + 20 + i * 20, a0.y + 20 + i * 4);
    await lin.page.mouse.move(l0.x + 20 - i * 10, l0.y + 20 + i * 12);
  }
  await ada.page.mouse.up();
  await lin.page.mouse.up();

  // The server's order decides which drop is last; both screens end with that one.
  const ada100 = { x: Math.round(a0.x - (await board(ada.page).boundingBox())!.x) + 100, y: Math.round(a0.y - (await board(ada.page).boundingBox())!.y) + 20 };
  const lin50 = { x: Math.round(l0.x - (await board(lin.page).boundingBox())!.x) - 50, y: Math.round(l0.y - (await board(lin.page).boundingBox())!.y) + 60 };
  await expect
    .poll(async () => {
      const [a, l] = [await placeOf(ada.page, "shared"), await placeOf(lin.page, "shared")];
      return JSON.stringify(a) === JSON.stringify(l) && [JSON.stringify(ada100), JSON.stringify(lin50)].includes(JSON.stringify(a));
    })
    .toBe(true);
  await ada.context.close();
  await lin.context.close();
});

test("Escape ends typing on a note and keeps the text, for everyone", async ({ browser }) => {
  const { ada, lin } = await twoInARoom(browser);
  await addNote(ada.page, 0.4, 0.5, "Important idea", "Escape");
  await expect(note(lin.page, "Important idea")).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});

test("two people typing on one note at once both keep their words", async ({ browser }) => {
  const { ada, lin } = await twoInARoom(browser);
  await addNote(ada.page, 0.4, 0.5, "Agenda:");
  await expect(note(lin.page, "Agenda:")).toBeVisible();

  // Both open the note, Lin adds a line and finishes first; Ada, still typing, finishes after.
  await note(ada.page, "Agenda:").dblclick();
  await note(lin.page, "Agenda:").dblclick();
  const adas = sharedCanvas(ada.page).getByRole("textbox", { name: "Text" });
  const lins = sharedCanvas(lin.page).getByRole("textbox", { name: "Text" });
  await adas.press("End");
  await adas.pressSequentially(" hiring");
  await lins.press("End");
  await lins.pressSequentially(" budget");
  await lins.press("Control+Enter");
  await expect(note(ada.page, "Agenda: budget")).toBeAttached();
  await adas.press("Control+Enter");

  for (const page of [ada.page, lin.page]) await expect(note(page, "Agenda: budget hiring")).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});

test("a note edited offline while the other edits it too: back online, both people's words are on it", async ({ browser }) => {
  const { ada, lin } = await twoInARoom(browser);
  await addNote(ada.page, 0.4, 0.5, "Agenda:");
  await expect(note(lin.page, "Agenda:")).toBeVisible();

  // Lin adds a line offline: it waits in the outbox, written from "Agenda:".
  await lin.context.setOffline(true);
  await note(lin.page, "Agenda:").dblclick();
  const lins = sharedCanvas(lin.page).getByRole("textbox", { name: "Text" });
  await lins.press("End");
  await lins.pressSequentially(" budget");
  await lins.press("Control+Enter");
  await expect(note(lin.page, "Agenda: budget")).toBeVisible();

  // Meanwhile Ada adds hers, which the server takes first.
  await note(ada.page, "Agenda:").dblclick();
  const adas = sharedCanvas(ada.page).getByRole("textbox", { name: "Text" });
  await adas.press("End");
  await adas.pressSequentially(" hiring");
  await adas.press("Control+Enter");
  await expect(note(ada.page, "Agenda: hiring")).toBeVisible();

  // Lin's change reaches the server after Ada's: it keeps hers and adds Lin's (protocol 1.16).
  await lin.context.setOffline(false);
  for (const page of [ada.page, lin.page]) await expect(note(page, "Agenda: hiring budget")).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});

test("an edit made offline meets the other's delete: both end with the note gone", async ({ browser }) => {
  const { ada, lin } = await twoInARoom(browser);

  await addNote(ada.page, 0.4, 0.5, "doomed");
  await expect(note(lin.page, "doomed")).toBeVisible();

  // Lin edits it offline: the change shows at once on Lin's screen and waits in the outbox.
  await lin.context.setOffline(true);
  await note(lin.page, "doomed").dblclick();
  const editor = sharedCanvas(lin.page).getByRole("textbox", { name: "Text" });
  await editor.fill("edited offline");
  await editor.press("Control+Enter");
  await expect(note(lin.page, "edited offline")).toBeVisible();

  // Meanwhile Ada deletes it.
  await note(ada.page, "doomed").click();
  await ada.page.keyboard.press("Delete");
  await expect(notes(ada.page)).toHaveCount(0);

  // Lin comes back: the server refuses the edit of a deleted note, and its board wins. Lin is
  // told why in words, not by the note's id.
  await lin.context.setOffline(false);
  await expect(notes(lin.page)).toHaveCount(0);
  await expect(notes(ada.page)).toHaveCount(0);
  await expect(sharedCanvas(lin.page)).toContainText("Someone deleted it before your change arrived");
  await expect(sharedCanvas(lin.page)).not.toContainText("has no object");
  await ada.context.close();
  await lin.context.close();
});

test("editing a note goes on after its text, and a note at the board's edge does not scroll the board", async ({ page }) => {
  await page.goto("/");
  await signIn(page, "Ada");
  await createRoom(page, unique("edge"));
  await addNote(page, 0.5, 0.97, "hello");
  expect(await scrolled(page)).toBe(0);
  await note(page, "hello").dblclick();
  const editor = sharedCanvas(page).getByRole("textbox", { name: "Text" });
  await editor.pressSequentially(" world");
  await editor.press("Control+Enter");
  await expect(note(page, "hello world")).toBeVisible();
  expect(await scrolled(page)).toBe(0);
  // A click after all that lands where it is made: a rectangle centred under the pointer.
  await sharedCanvas(page).getByRole("toolbar", { name: "Canvas tools" }).getByRole("button", { name: "Rectangle" }).click();
  const area = (await board(page).boundingBox())!;
  await page.mouse.click(area.x + area.width * 0.3, area.y + area.height * 0.4);
  const rect = (await board(page).getByRole("button", { name: /^Rectangle/ }).boundingBox())!;
  expect(Math.abs(rect.x + rect.width / 2 - (area.x + area.width * 0.3))).toBeLessThanOrEqual(2);
  expect(Math.abs(rect.y + rect.height / 2 - (area.y + area.height * 0.4))).toBeLessThanOrEqual(2);
});

test("from the keyboard alone: a tool's key and Enter place a note in the middle of the view, and Tab brings a note out of view back into it", async ({ page }) => {
  await page.goto("/");
  await signIn(page, "Ada");
  await createRoom(page, unique("keys"));
  await board(page).focus();
  await page.keyboard.press("n");
  await page.keyboard.press("Enter");
  const editor = sharedCanvas(page).getByRole("textbox", { name: "Text" });
  await expect(editor).toBeFocused();
  await editor.pressSequentially("typed, not clicked");
  await editor.press("Control+Enter");
  const placed = (await note(page, "typed, not clicked").boundingBox())!;
  const area = (await board(page).boundingBox())!;
  expect(Math.abs(placed.x + placed.width / 2 - (area.x + area.width / 2))).toBeLessThanOrEqual(2);
  expect(Math.abs(placed.y + placed.height / 2 - (area.y + area.height / 2))).toBeLessThanOrEqual(2);

  // The view moves away (a wheel pans it) until the note is out of it; Tab to it brings it back.
  await page.mouse.move(area.x + area.width - 30, area.y + area.height / 2);
  await page.mouse.wheel(0, 2000);
  await expect(note(page, "typed, not clicked")).not.toBeInViewport();
  await board(page).focus();
  await page.keyboard.press("Tab");
  await expect(note(page, "typed, not clicked")).toBeFocused();
  await expect(note(page, "typed, not clicked")).toBeInViewport();
  expect(await scrolled(page)).toBe(0);
});

test("in the dark theme, a drawing in the ink is drawn light", async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: "dark" });
  const page = await context.newPage();
  await page.goto("/");
  await signIn(page, "Ada");
  await createRoom(page, unique("dark"));
  await board(page).focus();
  await page.keyboard.press("p");
  const area = (await board(page).boundingBox())!;
  await page.mouse.move(area.x + 100, area.y + 100);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(area.x + 100 + i * 10, area.y + 100 + i * 5);
  await page.mouse.up();
  const drawing = board(page).locator("svg path[stroke='#334155']").last();
  await expect(drawing).toBeAttached();
  // Light on the dark board (slate 300, lightness about 85 of 100), not the slate 700 it is stored as (about 35).
  const stroke = await drawing.evaluate((el) => getComputedStyle(el).stroke);
  expect(stroke, stroke).toMatch(/^lab\((8\d|9\d)/);
  await context.close();
});

test("undo by one person takes back only their own change, not the other's work", async ({ browser }) => {
  const { ada, lin } = await twoInARoom(browser);

  await addNote(ada.page, 0.25, 0.5, "ada's");
  await addNote(lin.page, 0.7, 0.5, "lin's");
  await expect(note(ada.page, "lin's")).toBeVisible();

  // Ada moves her note; Lin then recolours it.
  const before = await placeOf(ada.page, "ada's");
  await note(ada.page, "ada's").click();
  await ada.page.keyboard.press("ArrowRight");
  await expect.poll(() => placeOf(lin.page, "ada's")).toEqual({ x: before!.x + 10, y: before!.y });
  await note(lin.page, "ada's").click();
  const tools = sharedCanvas(lin.page).getByRole("toolbar", { name: "Canvas tools" });
  await tools.getByRole("button", { name: /^Colour:/ }).click();
  await tools.getByRole("button", { name: "Colour Green" }).click();
  await expect(note(ada.page, "ada's")).toHaveCSS("background-color", "rgb(187, 247, 208)");

  // Ada undoes: her move goes back; Lin's colour and Lin's note stay, on both screens.
  await note(ada.page, "ada's").focus();
  await ada.page.keyboard.press("Control+z");
  for (const page of [ada.page, lin.page]) {
    await expect.poll(() => placeOf(page, "ada's")).toEqual(before);
    await expect(note(page, "ada's")).toHaveCSS("background-color", "rgb(187, 247, 208)");
    await expect(note(page, "lin's")).toBeVisible();
  }
  // Undoing further takes back her text and then her note; Lin's note is never touched.
  await ada.page.keyboard.press("Control+z");
  await ada.page.keyboard.press("Control+z");
  for (const page of [ada.page, lin.page]) {
    await expect(notes(page)).toHaveCount(1);
    await expect(note(page, "lin's")).toBeVisible();
  }
  // Redo brings her note back.
  await board(ada.page).focus();
  await ada.page.keyboard.press("Control+Shift+z");
  await expect(notes(lin.page)).toHaveCount(2);
  await ada.context.close();
  await lin.context.close();
});

test("over long polling: a note one person makes, moves and deletes reaches the other", async ({ browser }) => {
  const ada = await signedInPerson(browser, "Ada", "/?transport=longpoll");
  const lin = await signedInPerson(browser, "Lin", "/?transport=longpoll");
  const room = unique("canvas");
  await createRoom(ada.page, room);
  await openRoom(lin.page, room);
  await expectConnected(ada.page, "Long polling");
  await expectConnected(lin.page, "Long polling");

  await addNote(ada.page, 0.4, 0.5, "polled");
  await expect(note(lin.page, "polled")).toBeVisible();
  const before = await placeOf(lin.page, "polled");
  await note(ada.page, "polled").click();
  await ada.page.keyboard.press("ArrowDown");
  await expect.poll(() => placeOf(lin.page, "polled")).toEqual({ x: before!.x, y: before!.y + 10 });
  // A note written full shrinks its text: it reads from its first line to its last.
  const long = `first words ${"and more words ".repeat(16)}last words`;
  await addNote(ada.page, 0.2, 0.3, long);
  const written = note(lin.page, long);
  await expect(written).toBeVisible();
  const [outer, text] = [(await written.boundingBox())!, (await written.locator("span").first().boundingBox())!];
  expect(text.y).toBeGreaterThanOrEqual(outer.y);
  expect(text.y + text.height).toBeLessThanOrEqual(outer.y + outer.height);
  await note(lin.page, "polled").click();
  await lin.page.keyboard.press("Delete");
  await expect(notes(ada.page)).toHaveCount(1);
  // The keyboard stays on the board: Ctrl+Z right after brings the note back, for both.
  await expect(board(lin.page)).toBeFocused();
  await lin.page.keyboard.press("Control+z");
  await expect(note(ada.page, "polled")).toBeVisible();
  await expect(note(lin.page, "polled")).toBeVisible();
  await ada.context.close();
  await lin.context.close();
});
