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
  let next: Map<string, CanvasObject> | null = null;
  const write = () => (next ??= new Map(board));
  for (const op of ops) {
    const current = (next ?? board).get(op.id);
    switch (op.op) {
      case "create":
        write().set(op.id, { ...op.object, id: op.id });
        break;
      case "update":
        if (current) write().set(op.id, withProps(current, op.set));
        break;
      case "delete":
        if (current) write().delete(op.id);
        break;
      default: {
        const unknown: never = op;
        void unknown;
      }
    }
  }
  return next ?? board;
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
  let b = board;
  for (const op of ops) {
    const has = b.has(op.id);
    if (op.op === "create" && has) return { code: "object_exists", message: `The board already has an object "${op.id}"` };
    if (op.op !== "create" && !has) return { code: "unknown_object", message: `The board has no object "${op.id}"` };
    const ends = op.op === "create" ? op.object : op.op === "update" ? op.set : {};
    for (const end of [ends.from, ends.to]) {
      if (end !== undefined && !b.has(end) && end !== op.id) return { code: "unknown_object", message: `The arrow joins "${end}", which the board does not have` };
    }
    b = applyOps(b, [op]);
    if (op.op === "create" && b.size > MAX_CANVAS_OBJECTS) {
      return { code: "board_full", message: `A board holds at most ${MAX_CANVAS_OBJECTS} objects; delete some first` };
    }
  }
  return null;
}
