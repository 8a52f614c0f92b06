// The board: the fold of a canvas stream's operations, in commit order (PROTOCOL.md, "Version
// 1.3"). The server folds with it to check operations and to write snapshots; every client folds
// the committed operations it receives with it and then re-applies its own pending ones. One
// pure function for all of them, so no two can disagree about what a sequence of operations
// makes: that is what lets every client end with the server's board.
import { MAX_CANVAS_OBJECTS, PROP_NAMES, type CanvasObject, type CanvasOp, type ErrorCode, type ObjectProps } from "../protocol";

/** Objects by id. Treated as immutable: `applyOps` returns a new map when anything changed. */
export type Board = ReadonlyMap<string, CanvasObject>;

export const emptyBoard = (): Board => new Map();

/**
 * The board after `ops`, in order. Per object, per property, the later write wins; a create
 * puts the object whole (an undone delete brings it back with its id); an update or delete of
 * an object the board does not have changes nothing — someone deleted it first.
 */
export function applyOps(board: Board, ops: readonly CanvasOp[]): Board {
  // Copied only when an op changes something: a batch of no-ops keeps the board as it was.
  if (!ops.some((op) => op.op === "create" || board.has(op.id))) return board;
  const next = new Map(board);
  applyInto(next, ops);
  return next;
}

/**
 * The board after many batches in order, copied once: a server folding thousands of operations
 * (a snapshot, a late join) must not copy the board per operation.
 */
export function foldBatches(board: Board, batches: Iterable<readonly CanvasOp[]>): Board {
  const next = new Map(board);
  for (const ops of batches) applyInto(next, ops);
  return next;
}

/** The fold's one step, in place. */
function applyInto(board: Map<string, CanvasObject>, ops: readonly CanvasOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case "create":
        board.set(op.id, { ...op.object, id: op.id });
        break;
      case "update": {
        const current = board.get(op.id);
        if (current) board.set(op.id, withProps(current, op.set));
        break;
      }
      case "delete":
        board.delete(op.id);
        break;
      default: {
        const unknown: never = op;
        void unknown;
      }
    }
  }
}

function withProps(obj: CanvasObject, set: Partial<ObjectProps>): CanvasObject {
  const out: CanvasObject = { ...obj };
  for (const name of PROP_NAMES) {
    const value = set[name];
    if (value !== undefined) (out as Record<string, unknown>)[name] = value;
  }
  return out;
}

/** The board as the wire and snapshots carry it: objects in a stable order (by id). */
export function boardObjects(board: Board): CanvasObject[] {
  return [...board.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function boardFrom(objects: readonly CanvasObject[]): Board {
  return new Map(objects.map((o) => [o.id, o]));
}

/** Objects in drawing order: back to front by `z`, ties by id. */
export function paintOrder(board: Board): CanvasObject[] {
  return [...board.values()].sort((a, b) => a.z - b.z || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The `z` that puts an object in front of everything on the board. */
export function frontZ(board: Board): number {
  let top = 0;
  for (const o of board.values()) if (o.z > top) top = o.z;
  return Math.floor(top) + 1;
}

/** Whether two boards hold the same objects with the same properties. */
export function sameBoard(a: Board, b: Board): boolean {
  return JSON.stringify(boardObjects(a).map(canonical)) === JSON.stringify(boardObjects(b).map(canonical));
}

function canonical(o: CanvasObject): [string, unknown][] {
  return Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1));
}

/**
 * Why the server refuses `ops` against `board` as it stands, or null: an update or delete of an
 * object it does not have, an arrow joining one, a create of an id it has, a board past its
 * bound. Checked in order against the board the ops themselves make, so a create followed by a
 * move of the same object in one change is fine.
 */
export function refusal(board: Board, ops: readonly CanvasOp[]): { code: ErrorCode; message: string } | null {
  // Which ids exist as the ops go: a set of the changes over the board, not a copy of it.
  const added = new Set<string>();
  const removed = new Set<string>();
  const has = (id: string) => added.has(id) || (board.has(id) && !removed.has(id));
  let size = board.size;
  for (const op of ops) {
    const exists = has(op.id);
    if (op.op === "create" && exists) return { code: "object_exists", message: `The board already has an object "${op.id}"` };
    if (op.op !== "create" && !exists) return { code: "unknown_object", message: `The board has no object "${op.id}"` };
    const ends = op.op === "create" ? op.object : op.op === "update" ? op.set : {};
    for (const end of [ends.from, ends.to]) {
      if (end !== undefined && !has(end)) return { code: "unknown_object", message: `The arrow joins "${end}", which the board does not have` };
    }
    if (op.op === "create") {
      added.add(op.id);
      removed.delete(op.id);
      if (++size > MAX_CANVAS_OBJECTS) return { code: "board_full", message: `A board holds at most ${MAX_CANVAS_OBJECTS} objects; delete some first` };
    } else if (op.op === "delete") {
      added.delete(op.id);
      removed.add(op.id);
      size--;
    }
  }
  return null;
}
