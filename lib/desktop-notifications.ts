// Desktop notifications (the Notification API), asked for only when the person turns them on,
// and shown only when the page is not in front of them: a mention or a direct message that
// arrives while they look at something else. One per message however many tabs hear of it
// (the `tag`), never for the room being read.
import { loadEmoji, mayNameEmoji, showEmojiNames } from "./emoji";

const KEY = "rt-desktop-notifications";

export type DesktopNotifications = "on" | "off" | "blocked" | "unsupported";

function supported(): boolean {
  return typeof window !== "undefined" && "Notification" in window;
}

/** Whether they are on for this device: chosen here, and allowed by the browser. */
export function desktopNotifications(): DesktopNotifications {
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "blocked";
  return Notification.permission === "granted" && localStorage.getItem(KEY) === "on" ? "on" : "off";
}

/** Turns them on, asking the browser's permission (from a click: browsers ask only then). */
export async function enableDesktopNotifications(): Promise<DesktopNotifications> {
  if (!supported()) return "unsupported";
  const permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
  if (permission !== "granted") return permission === "denied" ? "blocked" : "off";
  localStorage.setItem(KEY, "on");
  return "on";
}

export function disableDesktopNotifications(): void {
  if (supported()) localStorage.setItem(KEY, "off");
}

/** Shows one, if they are on and the page is not in front of the person; a click opens `href`. */
export function notifyDesktop(title: string, body: string, href: string, tag: string): void {
  if (desktopNotifications() !== "on") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  // Emoji names written out whole (`:tada:`) show as emoji, as the message does.
  if (!mayNameEmoji(body)) return show(title, body, href, tag);
  loadEmoji().then(
    ({ byName }) => show(title, showEmojiNames(body, byName), href, tag),
    () => show(title, body, href, tag),
  );
}

function show(title: string, body: string, href: string, tag: string): void {
  const notification = new Notification(title, { body, tag });
  notification.onclick = () => {
    window.focus();
    window.location.assign(href);
    notification.close();
  };
}
