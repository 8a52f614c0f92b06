// What "nothing lost, nothing repeated" means for a room, checked against the log itself and
// against every reader.
import { expect } from "vitest";
import { waitFor } from "../helpers/server";
import type { Cluster } from "./cluster";
import { rawProblems, type Peer } from "./peers";
import type { RealtimeEvent } from "../../lib/protocol";

export interface Delivery {
  /** Messages in the room's log. */
  messages: number;
  acked: number;
  readers: number;
}

/** The room seqs a feed reader saw announced (`message.posted`), in arrival order. */
export function postedSeqs(peer: Peer, room: string): number[] {
  return peer.tc.events
    .filter((e): e is Extract<RealtimeEvent, { type: "message.posted" }> => e.type === "message.posted" && e.data.roomId === room)
    .map((e) => e.data.seq);
}

/**
 * Every queued clientId is in the room's log exactly once, every ack names the seq the log has,
 * seqs are 1..N without a gap, and every reader — room readers and feed readers — saw exactly
 * 1..N in order, with WebSocket connections never sending a seq twice.
 */
export async function verifyRoom(
  cluster: Cluster,
  room: string,
  peers: { writers: Peer[]; readers: Peer[]; feedReaders: Peer[] },
): Promise<Delivery> {
  const log = await cluster.logEvents(`room:${room}`);
  const n = log.length;
  const range = Array.from({ length: n }, (_, i) => i + 1);
  expect(log.map((e) => e.seq), "log seqs are gapless").toEqual(range);
  const ids = log.map((e) => e.clientId ?? "");
  const duplicated = ids.filter((id, i) => ids.indexOf(id) !== i);
  expect(duplicated, "clientIds appended twice").toEqual([]);

  const seqOf = new Map(log.map((e) => [e.clientId ?? "", e.seq]));
  const sent = peers.writers.flatMap((w) => w.sent);
  expect(sent.filter((id) => !seqOf.has(id)), "queued messages missing from the log").toEqual([]);
  expect(n, "the log holds exactly what was sent").toBe(sent.length);
  const acks = peers.writers.flatMap((w) => [...w.acked]);
  expect(acks.filter(([id, seq]) => seqOf.get(id) !== seq), "acks that disagree with the log").toEqual([]);

  const roomReaders = [...peers.writers, ...peers.readers];
  await waitFor(
    () => roomReaders.every((r) => r.roomEvents(room).length >= n) && peers.feedReaders.every((f) => postedSeqs(f, room).length >= n),
    30_000,
    `every reader at seq ${n}`,
  ).catch((err: Error) => {
    const where = [...roomReaders.map((r) => `${r.name}: ${r.roomEvents(room).length}`), ...peers.feedReaders.map((f) => `${f.name}: ${postedSeqs(f, room).length}`)];
    throw new Error(`${err.message} (${where.join(", ")})`);
  });
  for (const r of roomReaders) {
    expect(r.roomEvents(room).map((e) => e.seq), `${r.name}'s seqs`).toEqual(range);
    expect(r.roomEvents(room).map((e) => (e.data as { clientId?: string }).clientId), `${r.name}'s messages`).toEqual(ids);
  }
  for (const f of peers.feedReaders) expect(postedSeqs(f, room), `${f.name}'s feed`).toEqual(range);
  expect([...roomReaders, ...peers.feedReaders].flatMap(rawProblems), "raw WebSocket deliveries out of order or repeated").toEqual([]);
  return { messages: n, acked: acks.length, readers: roomReaders.length + peers.feedReaders.length };
}
