// The one place the realtime client's events reach the stores. Components call `bindWorkspace`
// (while someone is signed in) and `bindRoom` (while a room is open) and unbind on unmount;
// none wires `client.on(...)` to a store by hand.
import { isChange, type ChangeEvent } from "../chat/changes";
import { notifyDesktop } from "../desktop-notifications";
import { messageHref } from "../message-links";
import { followCanvas } from "../canvas/follow";
import { previewOf } from "../mentions";
import { roomOfStream, roomStream, type CursorMap, type RealtimeEvent, type User } from "../protocol";
import { randomId } from "../realtime/client";
import type { RealtimeApi } from "../realtime/types";
import { useCanvas } from "./canvas";
import { useConnection } from "./connection";
import type { EventOf } from "./events";
import { createFrameBatch, runsOf } from "./frame-batch";
import { cursorStore } from "./cursors";
import { useFeed } from "./feed";
import { useNotifications } from "./notifications";
import { useRoom, type RoomItem } from "./room";
import { transportHeard } from "./realtime";
import { isDirectMessage, useRooms } from "./rooms";

/**
 * Connection status, the activity feed, rooms announced by the feed, unread rooms, mentions and
 * sign-out.
 */
export function bindWorkspace(client: RealtimeApi, me: User, onSignedOut: () => void): () => void {
  useConnection.setState({ status: client.getStatus(), mode: client.transportMode });
  let feedConnected = false;
  const events = createFrameBatch<RealtimeEvent>(
    (batch) => {
      for (const event of batch) applyWorkspaceEvent(event, me);
    },
    { paced: true },
  );
  const offs = [
    client.on("status", (status) => {
      useConnection.getState().setStatus(status);
      // The browser's tabs share one connection: a transport chosen in another tab is this one's
      // too, kept should this tab lead next.
      if (useConnection.getState().mode !== client.transportMode) {
        useConnection.getState().setMode(client.transportMode);
        transportHeard(client.transportMode);
      }
      // The first SSE connect is live-only from the head, and a reconnect without a position
      // is too: fill whatever happened in between from history (merged by seq).
      const connected = status.feed.state === "connected";
      if (connected && !feedConnected) {
        void useFeed.getState().loadLatest();
        void useNotifications.getState().refresh().catch(() => undefined);
        // Messages and reads of the time apart: the counts are the server's.
        void useRooms.getState().loadSidebar();
      }
      feedConnected = connected;
    }),
    // Events of the workspace (feed, unread rooms, notifications) go in once a frame, in order,
    // paced like the room's messages while a burst lasts.
    client.on("event", (event) => events.push(event)),
    // Read on another device (or tab): the unread count is the server's, the same everywhere.
    client.on("read", ({ readSeq }) => useNotifications.getState().readUpTo(readSeq)),
    // A room read on another device (or tab, or this one): its unread count clears everywhere.
    client.on("roomRead", ({ room, readSeq, unread }) => (unread ? useRooms.getState().markedUnread(room, readSeq) : useRooms.getState().readUpTo(room, readSeq))),
    // A room muted or unmuted on another device (or this one): the same everywhere.
    client.on("roomMuted", ({ room, muted }) => useRooms.getState().setMuted(room, muted)),
    client.on("removed", ({ room }) => {
      useRooms.getState().forget(room);
      useNotifications.getState().forgetRoom(room);
    }),
    client.on("signedOut", () => onSignedOut()),
  ];
  return () => {
    offs.forEach((off) => off());
    events.cancel();
  };
}

/** One workspace event into its store: the feed, the sidebar's unread rooms, notifications. */
function applyWorkspaceEvent(event: RealtimeEvent, me: User): void {
  switch (event.type) {
    case "room.created":
      useRooms.getState().announce({ id: event.data.roomId, name: event.data.name, createdAt: event.at });
      return useFeed.getState().receive(event);
    case "message.posted": {
      // In my own stream: a message in one of my private rooms.
      useRooms.getState().posted(event.data.roomId, event.data.seq, event.actor.id, me.id, event.stream !== "feed");
      // A direct message is news, unless I am reading it or muted it (a mention still is: notifications.ts).
      const rooms = useRooms.getState();
      if (isDirectMessage(event.data.roomId) && event.actor.id !== me.id && rooms.viewing !== event.data.roomId && !rooms.muted[event.data.roomId]) {
        notifyDesktop(`${event.actor.name} wrote to you`, event.data.preview, messageHref(event.data.roomId, event.data.seq), `${event.data.roomId}:${event.data.seq}`);
      }
      // A private room's messages come in my own stream: counted as unread, never in the
      // public feed (whose positions are another stream's).
      return event.stream === "feed" ? useFeed.getState().receive(event) : undefined;
    }
    case "member.joined":
      return useFeed.getState().receive(event);
    case "member.added":
      // Someone added me to a private room (in my own stream): it belongs in my sidebar now. A
      // direct message I left comes back with a message (1.16), which tells me itself.
      if (!isDirectMessage(event.data.roomId)) {
        notifyDesktop(`${event.actor.name} added you to ${event.data.name}`, "A private room", `/rooms/${event.data.roomId}`, `added:${event.data.roomId}`);
      }
      useRooms.getState().regain(event.data.roomId);
      // Back in a room I was removed from: what it said of me there is mine to read again.
      void useNotifications.getState().refresh().catch(() => undefined);
      return void useRooms.getState().loadSidebar();
    case "member.removed":
      // Out of a private room (removed, or left on another device): gone from the lists, its
      // mentions of me with it.
      useNotifications.getState().forgetRoom(event.data.roomId);
      return useRooms.getState().forget(event.data.roomId);
    case "mention":
      return useNotifications.getState().receive(event);
    case "message.edited":
    case "message.deleted": {
      // The open room's binding takes these; what points at the message elsewhere on the page
      // (the feed, mentions, replies) shows what the server now stores for it.
      const roomId = roomOfStream(event.stream);
      const preview = event.type === "message.edited" ? previewOf(event.data.text) : "";
      if (roomId === null) return;
      if (event.type === "message.deleted") useRooms.getState().deleted(roomId, event.data.seq, event.actor.id, me.id);
      useFeed.getState().messageChanged(roomId, event.data.seq, preview);
      return useNotifications.getState().messageChanged(roomId, event.data.seq, preview);
    }
    case "message":
    case "reaction":
    case "membership":
      return; // the open room's binding takes these
    case "reply":
      return useNotifications.getState().receive(event);
    case "message.changed":
      // A message edited or deleted in a room this page may not follow (1.18): what points at
      // it in the feed and in notifications reads what it now says. Deleted (by its author, the
      // notice's actor), it is no longer unread.
      if (event.data.preview === "") useRooms.getState().deleted(event.data.roomId, event.data.seq, event.actor.id, me.id);
      useFeed.getState().messageChanged(event.data.roomId, event.data.seq, event.data.preview);
      return useNotifications.getState().messageChanged(event.data.roomId, event.data.seq, event.data.preview);
    case "canvas.ops":
      return; // the open canvas's binding takes these
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/**
 * One open room: its messages, presence, typing, cursors, resets, my outbox and acks. Messages
 * and their changes reach the store in the order they came, once per animation frame and at most
 * every BURST_PACE_MS while a burst lasts; cursor frames once per frame (see frame-batch.ts).
 */
export function bindRoom(client: RealtimeApi, roomId: string, me: User): () => void {
  const stream = roomStream(roomId);
  const room = () => useRoom.getState();
  room().setOutbox(client.getOutbox());
  const batch = createFrameBatch<FrameWork>(
    (items) => {
      for (const run of runsOf(items, (w) => w.kind)) {
        if (run.kind === "message") room().receive(run.items.flatMap((w) => (w.kind === "message" ? [w.event] : [])));
        else room().change(run.items.flatMap((w) => (w.kind === "change" ? [w.event] : [])));
      }
    },
    { paced: true },
  );
  const cursors = createFrameBatch<{ cursors: CursorMap; snapshot: boolean }>((frames) => {
    for (const frame of frames) cursorStore.getState().apply(frame.cursors, frame.snapshot, me.id);
  });
  const offs = [
    client.on("event", (event) => {
      if (event.stream !== stream) return;
      if (event.type === "message" || event.type === "membership") batch.push({ kind: "message", event });
      else if (isChange(event)) batch.push({ kind: "change", event });
    }),
    client.on("presence", (p) => p.room === roomId && room().setMembers(p.members)),
    client.on("typing", (t) => t.room === roomId && room().setTyping(t.users.filter((u) => u.id !== me.id))),
    client.on("cursors", (c) => {
      if (c.room === roomId) cursors.push(c);
    }),
    // A reload replaces the window: what was queued for the old one goes in first.
    client.on("reset", (r) => {
      if (r.stream !== stream) return;
      batch.flushNow();
      void room().reload();
    }),
    // Removed from this private room: it is gone, as for anyone who was never in it.
    client.on("removed", (r) => r.room === roomId && room().gone()),
    client.on("outbox", (entries) => room().setOutbox(entries)),
    client.on("ack", (ack) => ack.room === roomId && room().confirm(ack, me)),
  ];
  return () => {
    offs.forEach((off) => off());
    batch.cancel();
    cursors.cancel();
  };
}

/**
 * The open room's shared canvas (protocol 1.3): follows it, folds the snapshot and every
 * committed change into the board, re-applies my changes not yet committed (kept in the outbox
 * across reloads and offline spells), drops a change the server refused for good, and shows
 * others' drags and selections.
 */
export function bindCanvas(client: RealtimeApi, roomId: string, me: User): () => void {
  const canvas = () => useCanvas.getState();
  const followed = followCanvas(client, roomId, () => randomId("c"), {
    changed: () => canvas().refresh(),
    refused: (message) => canvas().setNotice(message),
    live: (drags, selections, full) => canvas().live(drags, selections, full, me.id),
  });
  canvas().open(roomId, followed.doc);
  return () => {
    followed.stop();
    canvas().close(roomId);
  };
}

/** What waits for the next paced frame in an open room, in arrival order. */
type FrameWork = { kind: "message"; event: RoomItem } | { kind: "change"; event: ChangeEvent };

