// Presence as changes (protocol version 1.1, after Phoenix's `presence_diff`): the server
// compares the members it last announced with the members now; the client applies the change
// to the list it holds. Shared so both sides agree on what a diff means.
import type { User } from "./protocol";

export interface PresenceDiff {
  /** Arrived, or still here with a new name, colour or guest mark: added, or replaced by id. */
  joins: User[];
  /** Gone: removed by id. */
  leaves: User[];
}

/** The same person shown the same way: name, colour and guest mark. */
export function sameUser(a: User, b: User): boolean {
  return a === b || (a.id === b.id && a.name === b.name && a.color === b.color && a.guest === b.guest);
}

/**
 * What changed between the members announced before (by id) and the members now. Someone who
 * left and came back in between is no change at all — which is what makes churn cheap.
 */
export function diffPresence(before: ReadonlyMap<string, User>, now: readonly User[]): PresenceDiff {
  const joins: User[] = [];
  const present = new Set<string>();
  for (const u of now) {
    present.add(u.id);
    const was = before.get(u.id);
    if (!was || !sameUser(was, u)) joins.push(u);
  }
  const leaves: User[] = [];
  for (const [id, u] of before) if (!present.has(id)) leaves.push(u);
  return { joins, leaves };
}

export function isEmptyDiff(diff: PresenceDiff): boolean {
  return diff.joins.length === 0 && diff.leaves.length === 0;
}

/**
 * The members after `diff`: leaves removed, joins replaced in place or added at the end. A leave
 * of someone not shown, or a join of someone shown as they are, changes nothing.
 */
export function applyPresenceDiff(members: readonly User[], diff: PresenceDiff): User[] {
  const gone = new Set(diff.leaves.map((u) => u.id));
  const joins = new Map(diff.joins.map((u) => [u.id, u]));
  const out: User[] = [];
  for (const m of members) {
    const replaced = joins.get(m.id);
    if (replaced) {
      out.push(replaced);
      joins.delete(m.id);
    } else if (!gone.has(m.id)) {
      out.push(m);
    }
  }
  for (const u of joins.values()) out.push(u);
  return out;
}
