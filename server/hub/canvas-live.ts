// Drags and selections on the rooms' canvases (protocol 1.3): ephemeral, like cursors. While
// someone drags, resizes or draws, the in-between boxes arrive up to 60 times a second; here
// only the latest per object is kept, and each room's changes go out once per cursor tick as one
// `canvas.live` frame. Only the drop is durable (a `canvas.ops` change in the log). Selections
// are presence: who has what selected, latest per person. A connection leaving the room takes
// its drags and selection with it.
import { MAX_LIVE_OBJECTS, type DragBox, type LiveDrag, type LiveDragMap, type LiveSelection, type LiveSelectionMap, type User } from "../../lib/protocol";

interface Held<T> {
  value: T;
  /** The connection it came from: its leaving takes it away. */
  source: string | undefined;
}

interface RoomLive {
  drags: Map<string, Held<LiveDrag>>;
  selections: Map<string, Held<LiveSelection>>;
  /** What changed since the last flush, here or on another instance; `null`: gone. */
  changedDrags: Map<string, LiveDrag | null>;
  changedSelections: Map<string, LiveSelection | null>;
  /** Of those, the changes made here: what the other instances are told. */
  ownDrags: Map<string, LiveDrag | null>;
  ownSelections: Map<string, LiveSelection | null>;
}

/** A room's tick: every change, and (when any) the ones made on this instance. */
export type LiveFlush = (room: string, drags: LiveDragMap, selections: LiveSelectionMap, own: { drags: LiveDragMap; selections: LiveSelectionMap } | null) => void;

export class CanvasLive {
  private readonly rooms = new Map<string, RoomLive>();
  /** Changes taken in and frames sent, for the benchmarks' coalescing ratio. */
  readonly stats = { inputs: 0, frames: 0 };

  /** Rooms with something held or still to send (the others are forgotten at the tick). */
  get activeRooms(): number {
    return this.rooms.size;
  }

  constructor(
    private readonly onFlush: LiveFlush,
    /** Off: every input goes out at once, as its own frame (the benchmark's baseline). */
    private readonly coalesce = true,
    /** Something came in that a tick must send (the tick runs only while there is). */
    private readonly onWork?: () => void,
  ) {}

  /**
   * `user`'s drags (`null`: released) and selection, from connection `source`. One person holds
   * at most MAX_LIVE_OBJECTS drags in a room; more are ignored until some are released.
   */
  update(room: string, user: User, source: string | undefined, drags: Record<string, DragBox | null> | undefined, selection: string[] | undefined): void {
    this.stats.inputs++;
    const r = this.room(room);
    if (drags) {
      let mine = 0;
      for (const held of r.drags.values()) if (held.value.by.id === user.id) mine++;
      for (const [id, box] of Object.entries(drags)) {
        const held = r.drags.get(id);
        if (box === null) {
          if (held && held.value.by.id === user.id) {
            mine--;
            r.drags.delete(id);
            r.changedDrags.set(id, null);
            r.ownDrags.set(id, null);
          }
          continue;
        }
        if (!held || held.value.by.id !== user.id) {
          if (mine >= MAX_LIVE_OBJECTS) continue;
          mine++;
        }
        const value: LiveDrag = { ...box, by: { id: user.id, name: user.name, color: user.color } };
        r.drags.set(id, { value, source });
        r.changedDrags.set(id, value);
        r.ownDrags.set(id, value);
      }
    }
    if (selection) {
      if (selection.length === 0) {
        if (r.selections.delete(user.id)) {
          r.changedSelections.set(user.id, null);
          r.ownSelections.set(user.id, null);
        }
      } else {
        const value: LiveSelection = { ids: selection, name: user.name, color: user.color };
        r.selections.set(user.id, { value, source });
        r.changedSelections.set(user.id, value);
        r.ownSelections.set(user.id, value);
      }
    }
    if (!this.coalesce) this.flushRoom(room, r);
    this.onWork?.();
  }

  /** The connection `source` of `userId` left the room: its drags and selection go. */
  leave(room: string, userId: string, source: string | undefined): void {
    const r = this.rooms.get(room);
    if (!r) return;
    for (const [id, held] of r.drags) {
      if (held.value.by.id !== userId || held.source !== source) continue;
      r.drags.delete(id);
      r.changedDrags.set(id, null);
      r.ownDrags.set(id, null);
    }
    const sel = r.selections.get(userId);
    if (sel && sel.source === source) {
      r.selections.delete(userId);
      r.changedSelections.set(userId, null);
      r.ownSelections.set(userId, null);
    }
    if (!this.coalesce) this.flushRoom(room, r);
    this.onWork?.();
  }

  /**
   * Another instance's changes in the room: they go out with this instance's next tick (one
   * frame per room per tick however many instances), and are not told back to the others.
   */
  relay(room: string, drags: LiveDragMap, selections: LiveSelectionMap): void {
    const r = this.room(room);
    for (const [id, d] of Object.entries(drags)) r.changedDrags.set(id, d);
    for (const [id, s] of Object.entries(selections)) r.changedSelections.set(id, s);
    if (!this.coalesce) this.flushRoom(room, r);
    this.onWork?.();
  }

  /** Every drag and selection in the room now (the `full` frame after a `canvas.join`). */
  snapshot(room: string): { drags: LiveDragMap; selections: LiveSelectionMap } {
    const r = this.rooms.get(room);
    const drags: LiveDragMap = {};
    const selections: LiveSelectionMap = {};
    for (const [id, held] of r?.drags ?? []) drags[id] = held.value;
    for (const [id, held] of r?.selections ?? []) selections[id] = held.value;
    return { drags, selections };
  }

  /** The cursor tick: each room's changes since the last, as one frame. */
  flush(): void {
    for (const [room, r] of this.rooms) this.flushRoom(room, r);
  }

  private flushRoom(room: string, r: RoomLive): void {
    if (r.changedDrags.size > 0 || r.changedSelections.size > 0) {
      const drags: LiveDragMap = Object.fromEntries(r.changedDrags);
      const selections: LiveSelectionMap = Object.fromEntries(r.changedSelections);
      const own = r.ownDrags.size > 0 || r.ownSelections.size > 0 ? { drags: Object.fromEntries(r.ownDrags), selections: Object.fromEntries(r.ownSelections) } : null;
      r.changedDrags.clear();
      r.changedSelections.clear();
      r.ownDrags.clear();
      r.ownSelections.clear();
      this.stats.frames++;
      this.onFlush(room, drags, selections, own);
    }
    // A room with nothing held and nothing to say is forgotten: memory follows activity.
    if (r.drags.size === 0 && r.selections.size === 0) this.rooms.delete(room);
  }

  private room(room: string): RoomLive {
    let r = this.rooms.get(room);
    if (!r) this.rooms.set(room, (r = { drags: new Map(), selections: new Map(), changedDrags: new Map(), changedSelections: new Map(), ownDrags: new Map(), ownSelections: new Map() }));
    return r;
  }
}
