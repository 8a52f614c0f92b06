"use client";
import { useState } from "react";
import { desktopNotifications, disableDesktopNotifications, enableDesktopNotifications } from "@/lib/desktop-notifications";

const NOTE = {
  on: "Mentions, replies and direct messages pop up while you look elsewhere.",
  off: "Off. Turn them on to hear of mentions and direct messages while you look elsewhere.",
  blocked: "Blocked by your browser: allow notifications for this site in its settings.",
  unsupported: "This browser cannot show notifications.",
} as const;

/** The opt-in for desktop notifications: the browser asks for permission only from this click. */
export function DesktopNotificationsToggle() {
  // Rendered only inside the open account menu, so never on the server.
  const [state, setState] = useState(desktopNotifications);
  const toggle = async () => {
    if (state === "on") {
      disableDesktopNotifications();
      setState("off");
    } else {
      setState(await enableDesktopNotifications());
    }
  };
  return (
    <div className="mt-3 border-t border-slate-100 pt-3 dark:border-slate-800">
      <label className="flex items-center justify-between gap-2 text-sm font-medium">
        Desktop notifications
        <input
          type="checkbox"
          role="switch"
          checked={state === "on"}
          disabled={state === "blocked" || state === "unsupported"}
          onChange={() => void toggle()}
          aria-describedby="desktop-notifications-note"
          className="size-4"
        />
      </label>
      <p id="desktop-notifications-note" className="mt-1 text-xs text-slate-600 dark:text-slate-400">
        {NOTE[state]}
      </p>
    </div>
  );
}
