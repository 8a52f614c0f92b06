// Undo and redo for one person: only their own changes, never anyone else's. A change is
// remembered as what it did to each object (created it, deleted it, or moved some properties
// from one value to another); undoing computes the inverse against the board as it is *now*:
// - an object I created is deleted, if it is still there;
// - an object I deleted is created again (same id and properties), if nobody has since;
// - a property I set goes back, only while it still holds the value I gave it — if someone else
//   has changed it since, their later work stands and that property is skipped.
// An undo of objects that are gone is skipped, and the next one down is tried. An undo of
// objects still there whose every property I set someone else has set since changes nothing,
// and goes no deeper: the person is told, and the next undo goes on below it. (Going deeper
// would take back something older than what they meant, text typed minutes before a move.)
import { type Board } from "./board";
import { PROP_NAMES, type CanvasObject, type CanvasOp, type ObjectProps, type PropName } from "../protocol";

type Effect =
  | { kind: "created"; id: string }
  | { kind: "deleted"; before: CanvasObject }
  | { kind: "updated"; id: string; before: Partial<ObjectProps>; after: Partial<ObjectProps> };

/** What one change did, object by object. */
export type Change = Effect[];

/** Most changes remembered each way; the oldest is forgotten past it. */
export const UNDO_DEPTH = 100;

/** What `ops` do when applied to `board` (the board just before them). */
export function describe(ops: readonly CanvasOp[], board: Board): Change {
  const effects: Change = [];
  const b = new Map(board);
  for (const op of ops) {
    const current = b.get(op.id);
    if (op.op === "create") {
      effects.push(current ? { kind: "updated", id: op.id, before: propsOf(current), after: propsOf({ ...op.object, id: op.id }) } : { kind: "created", id: op.id });
      b.set(op.id, { ...op.object, id: op.id });
    } else if (op.op === "delete") {
      if (current) effects.push({ kind: "deleted", before: current });
      b.delete(op.id);
    } else if (current) {
      const before: Partial<ObjectProps> = {};
      const after: Partial<ObjectProps> = {};
      for (const name of PROP_NAMES) {
        if (op.set[name] === undefined) continue;
        setProp(before, name, current[name]);
        setProp(after, name, op.set[name]);
      }
      effects.push({ kind: "updated", id: op.id, before, after });
      b.set(op.id, { ...current, ...op.set });
    }
  }
  return effects;
}

/** The ops that take `change` back on `board` as it is now; empty when nothing is left to undo. */
export function inverse(change: Change, board: Board): CanvasOp[] {
  const ops: CanvasOp[] = [];
  // Backwards: the last thing done is the first undone.
  for (const effect of [...change].reverse()) {
    if (effect.kind === "created") {
      if (board.has(effect.id)) ops.push({ op: "delete", id: effect.id });
    } else if (effect.kind === "deleted") {
      const { id, ...object } = effect.before;
      if (!board.has(id)) ops.push({ op: "create", id, object });
    } else {
      const current = board.get(effect.id);
      if (!current) continue;
      const set: Partial<ObjectProps> = {};
      for (const name of Object.keys(effect.after) as PropName[]) {
        const back = effect.before[name];
        // Someone else wrote it since: their value stands.
        if (back === undefined || !same(current[name], effect.after[name])) continue;
        setProp(set, name, back);
      }
      if (Object.keys(set).length > 0) ops.push({ op: "update", id: effect.id, set });
    }
  }
  return ops;
}

/** One person's two stacks. */
export class UndoHistory {
  private readonly undos: Change[] = [];
  private readonly redos: Change[] = [];

  /** A new change of mine, about to be applied to `board`: remembered, and the redo stack cleared. */
  record(ops: readonly CanvasOp[], board: Board): void {
    push(this.undos, describe(ops, board));
    this.redos.length = 0;
  }

  /**
   * The ops that undo my latest change still undoable on `board`; "overridden" when it is
   * another's work now (nothing is undone); null when nothing is left to undo.
   */
  undo(board: Board): CanvasOp[] | "overridden" | null {
    return step(this.undos, this.redos, board);
  }

  redo(board: Board): CanvasOp[] | "overridden" | null {
    return step(this.redos, this.undos, board);
  }

  get canUndo(): boolean {
    return this.undos.length > 0;
  }

  get canRedo(): boolean {
    return this.redos.length > 0;
  }
}

function step(from: Change[], to: Change[], board: Board): CanvasOp[] | "overridden" | null {
  while (from.length > 0) {
    const change = from.pop()!;
    const ops = inverse(change, board);
    if (ops.length > 0) {
      push(to, describe(ops, board));
      return ops;
    }
    // Nothing to take back. Objects still there that others changed since: their work, and
    // this step ends here; objects gone: the next one down.
    if (change.some((e) => e.kind === "updated" && board.has(e.id))) return "overridden";
  }
  return null;
}

function push(stack: Change[], change: Change): void {
  if (change.length === 0) return;
  stack.push(change);
  if (stack.length > UNDO_DEPTH) stack.shift();
}

function propsOf(o: CanvasObject): Partial<ObjectProps> {
  const out: Partial<ObjectProps> = {};
  for (const name of PROP_NAMES) if (o[name] !== undefined) setProp(out, name, o[name]);
  return out;
}

function setProp(target: Partial<ObjectProps>, name: PropName, value: unknown): void {
  (target as Record<string, unknown>)[name] = value;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
