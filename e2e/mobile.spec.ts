// On a phone: the rooms sidebar and the activity feed are modal drawers (a close button, Escape,
// a backdrop, focus kept inside and handed back), a room's chat and canvas take turns on the
// screen, nothing scrolls sideways at 320 px, the composer waits for a tap instead of raising the
// keyboard, and stays above the keyboard once up; on the canvas one finger pans the view or moves
// what it holds, and two fingers zoom.
import { expect, test, type Locator, type Page } from "@playwright/test";
import { createRoom, createRoomOverHttp, messageLog, openRoom, postMessages, sharedCanvas, signIn, topSpread, unique } from "./helpers";

interface Point {
  x: number;
  y: number;
}

/**
 * Fingers put on the screen at once, slid in a few steps each from its `from` to its `to`, and
 * lifted: real touches, through the browser's input (Playwright's touchscreen only taps).
 */
async function swipe(page: Page, fingers: { from: Point; to: Point }[]): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const at = (t: number) => fingers.map((f, id) => ({ id, x: f.from.x + (f.to.x - f.from.x) * t, y: f.from.y + (f.to.y - f.from.y) * t }));
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: at(0) });
  for (let step = 1; step <= 8; step++) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: at(step / 8) });
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

/** Presses Tab (or Shift+Tab) `times` times, checking focus never leaves `dialog`. */
async function tabAround(page: Page, dialogName: string, times: number, key = "Tab"): Promise<void> {
  const dialog = page.getByRole("dialog", { name: dialogName });
  for (let i = 0; i < times; i++) {
    await page.keyboard.press(key);
    await expect(dialog.locator(":focus")).toHaveCount(1);
  }
}

/** Enough new rooms for an activity feed to scroll: one more is then counted, not scrolled to. */
async function manyRooms(baseURL: string): Promise<void> {
  for (let i = 0; i < 14; i++) await createRoomOverHttp(baseURL, unique("scroll"));
}

/**
 * The activity feed in `scope` scrolled down, a room created, and the "1 new" button that then
 * shows pressed from the keyboard; resolves once the button is gone.
 */
async function pressNewInFeed(page: Page, baseURL: string, scope: Locator): Promise<void> {
  const feed = scope.getByRole("list", { name: "Activity" });
  await expect(feed.getByRole("listitem")).not.toHaveCount(0);
  await feed.evaluate((list) => {
    const scroller = list.parentElement!;
    scroller.scrollTop = scroller.scrollHeight;
    scroller.dispatchEvent(new Event("scroll"));
  });
  await createRoomOverHttp(baseURL, unique("newer"));
  const fresh = scope.getByRole("button", { name: /^\d+ new$/ });
  await fresh.focus();
  await page.keyboard.press("Enter");
  await expect(fresh).toHaveCount(0);
}

const drawers = [
  {
    opener: "Rooms",
    dialog: "Rooms",
    close: "Close rooms",
    landmark: { role: "navigation", name: "Your rooms" },
    backdropX: (width: number) => width - 10,
  },
  { opener: "Activity", dialog: "Activity feed", close: "Close activity", landmark: { role: "region", name: "Activity" }, backdropX: () => 3 },
] as const;

test.describe("on a phone (390 × 844)", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  for (const d of drawers) {
    test(`the ${d.opener} drawer opens by its button and closes by button, Escape and backdrop, focus moving in and back`, async ({ page }) => {
      await page.goto("/");
      await signIn(page, unique("Pia"));
      const opener = page.getByRole("button", { name: d.opener, exact: true });
      const dialog = page.getByRole("dialog", { name: d.dialog });
      await expect(dialog).toHaveCount(0);

      // Open: a modal dialog with focus on its close button; Tab and Shift+Tab stay inside.
      await opener.click();
      await expect(dialog).toBeVisible();
      await expect(dialog).toHaveAttribute("aria-modal", "true");
      await expect(opener).toHaveAttribute("aria-expanded", "true");
      await expect(dialog.getByRole("button", { name: d.close })).toBeFocused();
      await expect(dialog.getByRole(d.landmark.role, { name: d.landmark.name })).toBeVisible();
      await tabAround(page, d.dialog, 6);
      await tabAround(page, d.dialog, 6, "Shift+Tab");

      // Escape closes it and gives focus back to the button.
      await page.keyboard.press("Escape");
      await expect(dialog).toHaveCount(0);
      await expect(opener).toBeFocused();
      await expect(opener).toHaveAttribute("aria-expanded", "false");

      // So does its close button.
      await opener.click();
      await expect(dialog.getByRole("button", { name: d.close })).toBeFocused();
      await dialog.getByRole("button", { name: d.close }).click();
      await expect(dialog).toHaveCount(0);
      await expect(opener).toBeFocused();

      // And a click on the backdrop beside it.
      await opener.click();
      await expect(dialog).toBeVisible();
      await page.mouse.click(d.backdropX(390), 600);
      await expect(dialog).toHaveCount(0);
      await expect(opener).toBeFocused();
    });
  }

  test("pressing the Activity drawer's \"new\" button keeps focus in the drawer, though the button goes", async ({ page, baseURL }) => {
    await manyRooms(baseURL!);
    await page.goto("/");
    await signIn(page, unique("Pia"));
    await page.getByRole("button", { name: "Activity", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Activity feed" });
    await pressNewInFeed(page, baseURL!, dialog);
    // The drawer holds the focus, and Tab goes on inside it.
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    await tabAround(page, "Activity feed", 2);
  });

  test("the connection badge fits the header whole: a dot and a word, the full state in its name", async ({ page }) => {
    await page.goto("/");
    await signIn(page, unique("Bea"));
    const badge = page.getByRole("status", { name: /^Rooms: WebSocket · connected\. Activity feed: / });
    await expect(badge).toBeVisible();
    await expect(badge).toHaveAttribute("title", /^Rooms: WebSocket · connected\. Activity feed: /);
    const box = (await badge.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    // Nothing in it is cut: every part of its text is as wide as what it holds.
    const cut = await badge.evaluate((el) =>
      [el, ...el.querySelectorAll("*")].filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.outerHTML),
    );
    expect(cut).toEqual([]);
    await expect(badge).toHaveText(/connected$/);
    expect(await badge.evaluate((el) => (el as HTMLElement).innerText.trim())).toMatch(/^connected$/i);
    const header = page.getByRole("banner");
    expect(await header.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
  });

  test("following a room from the drawer opens the room and closes the drawer", async ({ page }) => {
    await page.goto("/");
    await signIn(page, unique("Ren"));
    await page.getByRole("button", { name: "Rooms", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Rooms" });
    await dialog.getByRole("link", { name: "#general" }).click();
    await expect(page).toHaveURL(/\/rooms\/general$/);
    await expect(dialog).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "#general" })).toBeVisible();
  });

  test("a private room's header leaves its name the width: Members and Inspector are icons", async ({ page }) => {
    await page.goto("/");
    await signIn(page, unique("Pia"));
    // A name of a usual length (the app's own tests add a long suffix to theirs).
    const room = `plans-${Date.now().toString(36).slice(-5)}`;
    await page.getByLabel("Room name").fill(room);
    await page.getByLabel(/Private/).check();
    await page.getByRole("button", { name: "Create room" }).click();
    await expect(page).toHaveURL(new RegExp(`/rooms/${room}$`));
    const heading = page.getByRole("heading", { level: 1 });
    await expect(heading).toContainText(room);
    // The whole name shows, nothing cut.
    const cut = await heading.evaluate((el) => {
      const name = document.createRange();
      name.selectNodeContents(el.lastChild!);
      return name.getBoundingClientRect().right - el.getBoundingClientRect().right;
    });
    expect(cut).toBeLessThanOrEqual(0);
    await expect(page.getByRole("button", { name: "Members" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Inspector" })).toBeVisible();
  });

  test("in a room the chat and the canvas take turns on the screen, the board getting the room's whole height", async ({ page, baseURL }) => {
    await page.goto("/");
    await signIn(page, unique("Uma"));
    const room = unique("phone");
    await createRoom(page, room);
    await openRoom(page, room);
    const show = page.getByRole("group", { name: "Show" });
    await expect(show.getByRole("button", { name: "Chat" })).toHaveAttribute("aria-pressed", "true");
    await expect(messageLog(page)).toBeVisible();
    await expect(sharedCanvas(page)).toBeHidden();

    await show.getByRole("button", { name: "Canvas" }).click();
    await expect(messageLog(page)).toBeHidden();
    const board = sharedCanvas(page).getByRole("group", { name: "Board" });
    await expect(board).toBeVisible();
    expect((await board.boundingBox())!.height).toBeGreaterThan(844 / 2);

    // A message that comes while the canvas is shown is not read: the chat is out of sight.
    const readSeq = async () =>
      ((await (await page.request.get(`/api/rooms?q=${room}`)).json()) as { rooms: { id: string; readSeq?: number }[] }).rooms.find((r) => r.id === room)?.readSeq ?? 0;
    const before = await readSeq();
    await postMessages(baseURL!, room, ["while you drew"]);
    await page.waitForTimeout(1_000);
    expect(await readSeq()).toBe(before);

    // The Chat button says it came; the Rooms button does not count the room on the page.
    await expect(show.getByRole("button", { name: /^Chat/ })).toHaveAccessibleName("Chat, 1 new message");
    await expect(page.getByRole("button", { name: /^Rooms/ })).toHaveAccessibleName("Rooms");
    await show.getByRole("button", { name: "Chat" }).click();
    await expect(show.getByRole("button", { name: /^Chat/ })).toHaveAccessibleName("Chat");
    await expect(messageLog(page).getByText("while you drew")).toBeVisible();
    // Under the divider, as in a room opened again.
    await expect(messageLog(page).getByRole("separator", { name: "New messages" })).toBeVisible();
    await expect(page.getByLabel("Message", { exact: true })).toBeInViewport();
    await expect.poll(readSeq).toBeGreaterThan(before);
  });

  test("a tapped message's actions are big enough for a finger", async ({ browser, baseURL }) => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    const room = unique("taps");
    await createRoomOverHttp(baseURL!, room);
    await postMessages(baseURL!, room, ["tap me"]);
    await page.goto(`/rooms/${room}`);
    await signIn(page, unique("Tao"));
    const message = messageLog(page).getByRole("listitem").filter({ hasText: "tap me" });
    await message.tap();
    const actions = message.getByRole("toolbar");
    await expect(actions.getByRole("button", { name: "Reply" })).toBeVisible();
    for (const name of ["React", "Reply", "Mark unread"]) {
      const box = (await actions.getByRole("button", { name }).boundingBox())!;
      expect(box.height, name).toBeGreaterThanOrEqual(40);
    }
    // On the narrowest phone each still reads on one line (the bar held open by its focus).
    await page.setViewportSize({ width: 320, height: 640 });
    await actions.getByRole("button", { name: "Reply" }).focus();
    await expect(actions.getByRole("button", { name: "Mark unread" })).toBeVisible();
    for (const name of ["React", "Reply", "Mark unread"]) expect((await actions.getByRole("button", { name }).boundingBox())!.height, name).toBeLessThan(44);
    await context.close();
  });

  test("a direct message that comes while another room is shown marks the Rooms button", async ({ page, playwright, baseURL }) => {
    await page.goto("/rooms/general");
    await signIn(page, unique("Hana"));
    await expect(messageLog(page)).toHaveAttribute("aria-busy", "false");
    const rooms = page.getByRole("button", { name: /^Rooms/ });
    await expect(rooms).toHaveAccessibleName("Rooms");
    const me = ((await (await page.request.get("/api/session")).json()) as { user: { id: string } }).user.id;
    // Kai writes to Hana directly, from elsewhere.
    const kai = await playwright.request.newContext({ baseURL });
    expect((await kai.post("/api/session", { data: { name: unique("Kai") } })).status()).toBe(200);
    const dm = ((await (await kai.post("/api/dms", { data: { userId: me } })).json()) as { room: { id: string } }).room.id;
    expect((await kai.post(`/api/rooms/${dm}/messages`, { data: { text: "urgent: are you free now?", clientId: unique("c") } })).status()).toBe(201);
    await expect(rooms).toHaveAccessibleName("Rooms, 1 with unread messages");
    await rooms.click();
    await expect(page.getByRole("dialog", { name: "Rooms" }).getByRole("link", { name: /direct message, 1 unread/ })).toBeVisible();
    await kai.dispose();
  });

  test("a room does not focus the composer on a touch screen (no keyboard pops up)", async ({ browser }) => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    await page.goto("/rooms/general");
    await signIn(page, unique("Tao"));
    await expect(messageLog(page)).toHaveAttribute("aria-busy", "false");
    expect(await page.evaluate(() => matchMedia("(pointer: fine)").matches)).toBe(false);
    await expect(page.getByLabel("Message", { exact: true })).not.toBeFocused();
    await context.close();
  });

  test("on the canvas one finger pans the empty board, moves a note it holds and resizes it by its corner, two fingers zoom, and the tools fit", async ({ browser }) => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    await page.goto("/");
    await signIn(page, unique("Ola"));
    const room = unique("touch");
    await createRoom(page, room);
    await openRoom(page, room);
    await page.getByRole("group", { name: "Show" }).getByRole("button", { name: "Canvas" }).tap();
    const toolbar = sharedCanvas(page).getByRole("toolbar", { name: "Canvas tools" });
    const board = sharedCanvas(page).getByRole("group", { name: "Board" });
    const note = board.getByRole("button", { name: "Sticky note: touched" });
    await expect(toolbar.getByRole("button", { name: "Select", exact: true })).toBeVisible();
    expect(await topSpread(toolbar)).toBeLessThanOrEqual(2);

    const area = (await board.boundingBox())!;
    await toolbar.getByRole("button", { name: "Sticky note" }).tap();
    await page.touchscreen.tap(area.x + 120, area.y + 160);
    await sharedCanvas(page).getByRole("textbox", { name: "Text" }).fill("touched");
    await page.keyboard.press("Control+Enter");
    const start = (await note.boundingBox())!;
    const placed = async () => {
      const b = (await note.boundingBox())!;
      return { x: Math.round(b.x - start.x), y: Math.round(b.y - start.y) };
    };

    // A finger on the note moves the note.
    await swipe(page, [{ from: { x: start.x + 40, y: start.y + 40 }, to: { x: start.x + 80, y: start.y + 100 } }]);
    await expect.poll(placed).toEqual({ x: 40, y: 60 });

    // A finger on the empty board moves the view: the note goes along, nothing is made.
    const empty = { x: area.x + 200, y: area.y + area.height - 150 };
    await swipe(page, [{ from: empty, to: { x: empty.x - 50, y: empty.y + 80 } }]);
    await expect.poll(placed).toEqual({ x: -10, y: 140 });
    await expect(board.getByRole("button")).toHaveCount(1);

    // Two fingers spreading apart zoom in.
    await swipe(page, [
      { from: { x: empty.x - 40, y: empty.y }, to: { x: empty.x - 80, y: empty.y } },
      { from: { x: empty.x + 40, y: empty.y }, to: { x: empty.x + 80, y: empty.y } },
    ]);
    await expect.poll(async () => Math.round((await note.boundingBox())!.width)).toBe(Math.round(start.width * 2));

    // Back to the whole board at 100 %: the note is where the finger on it left it, the pan moved none of it.
    await toolbar.getByRole("button", { name: "More" }).tap();
    await toolbar.getByRole("button", { name: /reset zoom$/ }).tap();
    await expect.poll(placed).toEqual({ x: 40, y: 60 });

    // Selected, the note's corner handle is big enough for a finger: one placed 10 px inside the
    // corner takes the handle, and resizes the note rather than moving it.
    await note.tap();
    await expect(note).toHaveAttribute("aria-pressed", "true");
    const box = (await note.boundingBox())!;
    const corner = { x: box.x + box.width - 10, y: box.y + box.height - 10 };
    await swipe(page, [{ from: corner, to: { x: corner.x + 40, y: corner.y + 30 } }]);
    await expect.poll(async () => Math.round((await note.boundingBox())!.width - box.width)).toBe(40);
    await expect.poll(placed).toEqual({ x: 40, y: 60 });
    await context.close();
  });

  test("with the on-screen keyboard up, the composer stays above it and the newest message in view", async ({ browser }) => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    await page.goto("/");
    await signIn(page, unique("Kai"));
    const room = unique("keys");
    await createRoom(page, room);
    await openRoom(page, room);
    for (let i = 1; i <= 12; i++) {
      await page.getByLabel("Message", { exact: true }).fill(`line ${i} before the keyboard`);
      await page.getByLabel("Message", { exact: true }).press("Enter");
    }
    await expect(messageLog(page).getByText("line 12 before the keyboard")).toBeInViewport();
    const composer = page.getByLabel("Message", { exact: true });
    await composer.tap();
    // A keyboard takes the bottom 330 px: the visual viewport shrinks, the window does not (as on
    // Safari and Chrome for Android), which is what the browser tells the page.
    const visible = 844 - 330;
    await page.evaluate((height) => {
      const viewport = window.visualViewport!;
      Object.defineProperty(viewport, "height", { configurable: true, get: () => height });
      viewport.dispatchEvent(new Event("resize"));
    }, visible);
    await expect.poll(async () => (await composer.boundingBox())!.y + (await composer.boundingBox())!.height).toBeLessThanOrEqual(visible);
    await expect(page.getByRole("button", { name: "Send" })).toBeInViewport();
    // The conversation above it still ends with the newest message.
    const last = messageLog(page).getByText("line 12 before the keyboard");
    await expect.poll(async () => (await last.boundingBox())!.y + (await last.boundingBox())!.height).toBeLessThanOrEqual(visible);

    // The keyboard goes down: the page has its full height again.
    await page.evaluate(() => {
      const viewport = window.visualViewport!;
      Object.defineProperty(viewport, "height", { configurable: true, get: () => window.innerHeight });
      viewport.dispatchEvent(new Event("resize"));
    });
    await expect.poll(async () => (await composer.boundingBox())!.y).toBeGreaterThan(visible);
    await context.close();
  });
});

test.describe("on a narrow phone (320 × 640)", () => {
  test.use({ viewport: { width: 320, height: 640 } });

  test("nothing scrolls sideways, on the home page or in a room", async ({ page }) => {
    const noSidewaysScroll = () => page.evaluate(() => document.documentElement.scrollWidth);
    await page.goto("/");
    await signIn(page, unique("Noa"));
    await expect(page.getByRole("list", { name: "Rooms" }).getByRole("link", { name: /^#general/ })).toBeVisible();
    expect(await noSidewaysScroll()).toBeLessThanOrEqual(320);

    const room = unique("Narrow_Room");
    await createRoom(page, room);
    await openRoom(page, room.toLowerCase());
    await page.getByLabel("Message", { exact: true }).fill("A message long enough to wrap on a narrow screen, with a-very-long-unbroken-word-that-must-wrap-too");
    await page.getByLabel("Message", { exact: true }).press("Enter");
    await expect(messageLog(page).getByText("A message long enough")).toBeVisible();
    expect(await noSidewaysScroll()).toBeLessThanOrEqual(320);

    // Both drawers open fit too.
    await page.getByRole("button", { name: "Rooms", exact: true }).click();
    await expect(page.getByRole("dialog", { name: "Rooms" })).toBeVisible();
    expect(await noSidewaysScroll()).toBeLessThanOrEqual(320);
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Activity", exact: true }).click();
    await expect(page.getByRole("dialog", { name: "Activity feed" })).toBeVisible();
    expect(await noSidewaysScroll()).toBeLessThanOrEqual(320);
  });
});

test.describe("on a desktop", () => {
  test("pressing the activity feed's \"new\" button keeps focus in the feed, though the button goes", async ({ page, baseURL }) => {
    await manyRooms(baseURL!);
    await page.goto("/");
    await signIn(page, unique("Dee"));
    const panel = page.getByRole("region", { name: "Activity" });
    await pressNewInFeed(page, baseURL!, panel);
    await expect(panel).toBeFocused();
    // Tab goes on from there, into the feed.
    await page.keyboard.press("Tab");
    expect(await panel.evaluate((p) => p !== document.activeElement && p.contains(document.activeElement))).toBe(true);
  });

  test("opening a room focuses the composer, and Escape closes the inspector wherever focus is", async ({ page }) => {
    await page.goto("/");
    await signIn(page, unique("Dee"));
    await openRoom(page, "general");
    const composer = page.getByLabel("Message", { exact: true });
    await expect(composer).toBeFocused();

    await page.getByRole("button", { name: "Inspector" }).click();
    const inspector = page.getByRole("complementary", { name: "Inspector" });
    await expect(inspector).toBeVisible();
    // Back in the composer (outside the inspector), Escape still closes it, and focus stays put.
    await composer.click();
    await page.keyboard.press("Escape");
    await expect(inspector).toHaveCount(0);
    await expect(composer).toBeFocused();
  });

  test("the inspector stays inside the room, off the sidebar, at every desktop width", async ({ page }) => {
    await page.goto("/");
    await signIn(page, unique("Wes"));
    await openRoom(page, "general");
    await page.getByRole("button", { name: "Inspector" }).click();
    const inspector = page.getByRole("complementary", { name: "Inspector" });
    const sidebar = page.getByRole("navigation", { name: "Your rooms" });
    for (const width of [1024, 1100, 1280, 1600]) {
      await page.setViewportSize({ width, height: 800 });
      await expect(inspector).toBeVisible();
      const [panel, rooms] = [(await inspector.boundingBox())!, (await sidebar.boundingBox())!];
      expect(panel.x, `at ${width} px`).toBeGreaterThanOrEqual(rooms.x + rooms.width - 1);
      expect(panel.x + panel.width, `at ${width} px`).toBeLessThanOrEqual(width);
    }
  });

  test("with reduced motion, the connection dot does not pulse", async ({ page }) => {
    // Every WebSocket refused: the badge stays connecting, the state whose dot pulses.
    await page.routeWebSocket(/.*/, (ws) => void ws.close());
    await page.goto("/");
    await signIn(page, unique("Ivy"));
    const badge = page.getByRole("status");
    await expect(badge).toContainText(/connecting/);
    const animation = () => badge.locator("span").first().evaluate((el) => getComputedStyle(el).animationName);
    expect(await animation()).toBe("pulse");
    await page.emulateMedia({ reducedMotion: "reduce" });
    await expect(badge).toContainText(/connecting/);
    expect(await animation()).toBe("none");
  });
});
