// Shared steps for the e2e tests: people (each in their own browser context), rooms, and the
// parts of the page the tests look at, found by role and label as a person would.
import { expect, request, type Browser, type BrowserContext, type Locator, type Page } from "@playwright/test";
import { metricValue, parseMetrics } from "../test/helpers/metrics";

export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** A new person in a fresh browser context, signed in with `name`, on `path` (default "/"). */
export async function signedInPerson(browser: Browser, name: string, path = "/"): Promise<Person> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(path);
  await signIn(page, name);
  return { name, context, page };
}

export async function signIn(page: Page, name: string): Promise<void> {
  await page.getByLabel("Display name").fill(name);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("button", { name: "Account and settings" })).toBeVisible();
}

/**
 * Signs a guest out from the account menu: they are told first that a guest signed out is gone
 * for good, and confirm.
 */
export async function signOutGuest(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Account and settings" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Sign out" }).click();
}

/**
 * Creates a room from the landing page; the app then opens it. Resolves once the room is
 * showing, its history loaded: the URL changes first, and a message typed in that moment would
 * go to the box of the page being replaced.
 */
export async function createRoom(page: Page, name: string): Promise<void> {
  await page.getByLabel("Room name").fill(name);
  await page.getByRole("button", { name: "Create room" }).click();
  await expect(page).toHaveURL(new RegExp(`/rooms/${name.toLowerCase()}$`));
  await roomShowing(page, name);
}

/** Creates a private room from the home page's form, as `createRoom` does a public one. */
export async function createPrivateRoom(page: Page, name: string): Promise<void> {
  await page.getByLabel("Room name").fill(name);
  await page.getByLabel(/Private/).check();
  await page.getByRole("button", { name: "Create room" }).click();
  await expect(page).toHaveURL(new RegExp(`/rooms/${name.toLowerCase()}$`));
  await roomShowing(page, name);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Private room");
}

/** Opens a room and waits until its history has loaded. */
export async function openRoom(page: Page, roomId: string): Promise<void> {
  await page.goto(`/rooms/${roomId}`);
  await roomShowing(page, roomId);
}

/** The room is on the page, its history loaded. */
async function roomShowing(page: Page, roomId: string): Promise<void> {
  // "#general"; a private room is named without the `#`, after its lock.
  await expect(page.getByRole("heading", { level: 1, name: new RegExp(`${roomId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "i") })).toBeVisible();
  await expect(messageLog(page)).toHaveAttribute("aria-busy", "false");
}

export async function sendMessage(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

export const messageLog = (page: Page) => page.getByRole("log", { name: "Conversation" });

/**
 * The message holding `text` once the server has it. A message shows the moment it is written,
 * marked "Pending" or "Sending…" until its ack, and a room's messages go one at a time: a test
 * that looks for it elsewhere (a search, another person) or goes offline after sending waits for
 * this, not for the text to show.
 */
export const sentMessage = (page: Page, text: string) =>
  messageLog(page).getByRole("listitem").filter({ hasText: text }).locator("[data-message]");

export const connectionBadge = (page: Page) => page.getByRole("status");
export const peopleHere = (page: Page) => page.getByRole("list", { name: "People here" }).getByRole("listitem");
export const activityFeed = (page: Page) => page.getByRole("list", { name: "Activity" });
export const notificationsButton = (page: Page) => page.getByRole("button", { name: /^Notifications/ });
export const sharedCanvas = (page: Page) => page.getByRole("region", { name: "Shared canvas" });

/** How far apart the tops of the highest and the lowest button shown in `scope` are: about 0 when they sit on one line. */
export async function topSpread(scope: Locator): Promise<number> {
  const tops = await Promise.all((await scope.getByRole("button").all()).map(async (b) => (await b.boundingBox())!.y));
  return Math.max(...tops) - Math.min(...tops);
}

/**
 * The value of the fact named `name` in a <dl> (the inspector's rows, the ops dashboard's
 * numbers): the <dd> beside the <dt> that reads exactly `name`.
 */
export function fact(scope: Page | Locator, name: string): Locator {
  const page = "page" in scope ? scope.page() : scope;
  return scope
    .locator("dl > div")
    .filter({ has: page.getByRole("term").getByText(name, { exact: true }) })
    .getByRole("definition");
}

/** Waits for the rooms transport to be up, e.g. "WebSocket · connected". */
export async function expectConnected(page: Page, transport = "WebSocket"): Promise<void> {
  await expect(connectionBadge(page)).toHaveText(`${transport} · connected`);
}

/** A name no earlier run of the suite used (the server keeps rooms). */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** The server takes 20 messages at once from one person (then 10 a second). */
const BURST = 20;

/**
 * Posts `texts` to `room` over HTTP as a few writers ("Writer 1", …), 20 each so no one is
 * rate limited. `ordered`: one after another (seq order = `texts` order); otherwise all at once.
 */
export async function postMessages(baseURL: string, room: string, texts: string[], { ordered = true } = {}): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < texts.length; i += BURST) chunks.push(texts.slice(i, i + BURST));
  const writers = await Promise.all(
    chunks.map(async (_, i) => {
      const ctx = await request.newContext({ baseURL });
      const res = await ctx.post("/api/session", { data: { name: `Writer ${i + 1}` } });
      expect(res.status()).toBe(200);
      return ctx;
    }),
  );
  const write = async (i: number) => {
    for (const [j, text] of chunks[i]!.entries()) {
      const res = await writers[i]!.post(`/api/rooms/${room}/messages`, { data: { text, clientId: `seed-${i}-${j}` } });
      expect(res.status()).toBe(201);
    }
  };
  if (ordered) for (let i = 0; i < chunks.length; i++) await write(i);
  else await Promise.all(chunks.map((_, i) => write(i)));
  await Promise.all(writers.map((w) => w.dispose()));
}

/** Creates a room over HTTP (as its own writer), for tests that fill it before anyone opens it. */
export async function createRoomOverHttp(baseURL: string, room: string): Promise<void> {
  const ctx = await request.newContext({ baseURL });
  await ctx.post("/api/session", { data: { name: "Writer 0" } });
  expect((await ctx.post("/api/rooms", { data: { name: room } })).status()).toBe(201);
  await ctx.dispose();
}

/** Whether the conversation is scrolled to its end (within a few pixels). */
export async function atBottom(page: Page): Promise<boolean> {
  return messageLog(page).evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 4);
}

export const newMessagesPill = (page: Page) => page.getByRole("button", { name: /new messages?$/ });

/**
 * The server's open realtime connections by transport, from its `/metrics` (`rt_connections`):
 * WebSockets, event streams and held long polls.
 */
export async function openConnections(baseURL: string): Promise<{ ws: number; sse: number; longpoll: number }> {
  const res = await fetch(`${baseURL}/metrics`);
  expect(res.status).toBe(200);
  const samples = parseMetrics(await res.text());
  const count = (transport: string) => metricValue(samples, "rt_connections", { transport });
  return { ws: count("ws"), sse: count("sse"), longpoll: count("longpoll") };
}
