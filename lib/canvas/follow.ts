// Follows one room's canvas on a realtime client and keeps a CanvasDoc up to date with it: the
// snapshot, every committed change, acknowledgements, and refusals (a change refused for good
// is dropped — the server's board wins — and taken out of the outbox). My changes still in the
// outbox from before (a reload while offline) are shown again until they commit. The page's
// store (lib/store/bindings.ts) and the convergence test use this same wiring.
import { CanvasDoc } from "./doc";
import { canvasStream, type LiveDragMap, type LiveSelectionMap } from "../protocol";
import type { RealtimeApi } from "../realtime/types";

export interface CanvasFollower {
  /** The board changed (a snapshot, a commit, an ack, a refusal). */
  changed(): void;
  /** A change of mine was refused for good, and why. */
  refused?(message: string): void;
  live?(drags: LiveDragMap, selections: LiveSelectionMap, full: boolean): void;
}

/**
 * What a person is told of a change of theirs the server refused, in their words: an object
 * someone else deleted first is named as such, not by its id.
 */
export function refusalNotice(error: { code: string; message: string } | undefined): string {
  if (error?.code === "unknown_object") return "Someone deleted it before your change arrived: your change was not made";
  return error?.message ?? "A change could not be made";
}

export function followCanvas(client: RealtimeApi, roomId: string, newClientId: () => string, on: CanvasFollower): { doc: CanvasDoc; stop(): void } {
  const stream = canvasStream(roomId);
  const doc = new CanvasDoc({
    send: (clientId, ops) => client.enqueue({ type: "canvas.ops", room: roomId, ops, clientId }) !== null,
    newClientId,
  });
  for (const e of client.getOutbox()) {
    if (e.room === roomId && e.frame?.type === "canvas.ops" && e.status !== "failed") doc.restore(e.clientId, e.frame.ops);
  }
  const offs = [
    client.on("canvasSnapshot", (snap) => {
      if (snap.room !== roomId) return;
      doc.snapshot(snap.seq, snap.objects);
      on.changed();
    }),
    client.on("canvasJoined", (j) => {
      if (j.room !== roomId) return;
      doc.loaded = true;
      on.changed();
    }),
    client.on("event", (event) => {
      if (event.stream !== stream || event.type !== "canvas.ops") return;
      doc.committed(event);
      on.changed();
    }),
    client.on("ack", (ack) => {
      if (ack.room !== roomId || !doc.board.has(ack.clientId)) return;
      doc.acked(ack.clientId, ack.seq);
      on.changed();
    }),
    client.on("outbox", (entries) => {
      for (const e of entries) {
        if (e.room !== roomId || e.frame?.type !== "canvas.ops" || e.status !== "failed") continue;
        // Refused for good (someone deleted the object first, the board is full).
        doc.refused(e.clientId);
        client.discard(e.clientId);
        on.refused?.(refusalNotice(e.error));
        on.changed();
      }
    }),
    client.on("canvasLive", (live) => {
      if (live.room === roomId) on.live?.(live.drags, live.selections, live.full);
    }),
  ];
  client.openCanvas(roomId);
  return {
    doc,
    stop() {
      offs.forEach((off) => off());
      client.closeCanvas(roomId);
    },
  };
}
