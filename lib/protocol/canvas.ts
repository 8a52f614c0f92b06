// The shared canvas (PROTOCOL.md, "Version 1.3"): its objects, the operations that change them,
// and the numbers that bound both. The fold that applies operations is lib/canvas/board.ts.
import { z } from "./zod";
import { storable } from "./streams";

/** Objects one board may hold; a create past it is refused `board_full`. */
export const MAX_CANVAS_OBJECTS = 10_000;
/** Operations in one `canvas.ops` frame (a paste of many objects is one change). */
export const MAX_OPS_PER_FRAME = 200;
/** Objects named in one `canvas.live` frame. */
export const MAX_LIVE_OBJECTS = 200;
export const MAX_CANVAS_TEXT = 2000;
/** Numbers in a stroke's `points` (x, y pairs). */
export const MAX_STROKE_NUMBERS = 2000;
/** A `canvas.join` further behind than this gets a snapshot instead of a replay. */
export const CANVAS_MAX_REPLAY = 1000;
/** The server stores a snapshot after this many operation batches past the last one. */
export const SNAPSHOT_EVERY = 500;
/** The board's extent: every coordinate on it is within ±this. */
export const BOARD_LIMIT = 1_000_000;
const COORD = BOARD_LIMIT;
const SIZE = 100_000;

export const CANVAS_KINDS = ["note", "rect", "ellipse", "arrow", "stroke"] as const;
export type CanvasKind = (typeof CANVAS_KINDS)[number];

export const objectIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, "Object ids are 1–40 letters, digits, '-' or '_'");
const coord = z.number().finite().min(-COORD).max(COORD);
const size = z.number().finite().min(0).max(SIZE);
/**
 * A point of the board itself, in its own units (version 1.15): where a person points, the same
 * object for everyone whatever their window, pan or zoom.
 */
export const boardPointSchema = z.object({ x: coord, y: coord });
export type BoardPoint = z.infer<typeof boardPointSchema>;

/** The properties an update may set: every field but `id` and `kind`. */
export const objectPropsSchema = z.object({
  x: coord,
  y: coord,
  w: size,
  h: size,
  z: z.number().finite(),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, "Colours are #rrggbb"),
  text: z.string().max(MAX_CANVAS_TEXT).refine(...storable("Text")),
  points: z.array(coord).min(2).max(MAX_STROKE_NUMBERS),
  from: objectIdSchema,
  to: objectIdSchema,
});
export type ObjectProps = z.infer<typeof objectPropsSchema>;
export type PropName = keyof ObjectProps;
export const PROP_NAMES = Object.keys(objectPropsSchema.shape) as PropName[];

/** An object as a `create` carries it (without its id). */
export const objectBodySchema = objectPropsSchema.partial({ text: true, points: true, from: true, to: true }).extend({ kind: z.enum(CANVAS_KINDS) });
export type ObjectBody = z.infer<typeof objectBodySchema>;
export type CanvasObject = ObjectBody & { id: string };
export const canvasObjectSchema = objectBodySchema.extend({ id: objectIdSchema });

export const canvasOpSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("create"), id: objectIdSchema, object: objectBodySchema }),
  z.object({
    op: z.literal("update"),
    id: objectIdSchema,
    set: objectPropsSchema.partial().refine((s) => Object.keys(s).length > 0, "An update sets at least one property"),
    /**
     * Version 1.16, with `set.text`: the text the new text was written from. A note that no
     * longer reads it gets both edits (lib/canvas/text-merge.ts#mergeTextOps); never stored.
     */
    base: z.string().max(MAX_CANVAS_TEXT).optional(),
  }),
  z.object({ op: z.literal("delete"), id: objectIdSchema }),
]);
export type CanvasOp = z.infer<typeof canvasOpSchema>;
export const canvasOpsSchema = z.array(canvasOpSchema).min(1).max(MAX_OPS_PER_FRAME);

/** An in-between box while someone drags, resizes or draws; `null`: released. */
export const dragBoxSchema = z.object({ x: coord, y: coord, w: size, h: size });
export type DragBox = z.infer<typeof dragBoxSchema>;
const liveDragsIn = z
  .record(objectIdSchema, dragBoxSchema.nullable())
  .refine((d) => Object.keys(d).length <= MAX_LIVE_OBJECTS, `At most ${MAX_LIVE_OBJECTS} objects per frame`);
export const liveDragsInSchema = liveDragsIn;
export const selectionSchema = z.array(objectIdSchema).max(MAX_LIVE_OBJECTS);

const liveBy = z.object({ id: z.string(), name: z.string(), color: z.string() });
export const liveDragSchema = dragBoxSchema.extend({ by: liveBy });
export type LiveDrag = z.infer<typeof liveDragSchema>;
export const liveSelectionSchema = z.object({ ids: z.array(z.string()), name: z.string(), color: z.string() });
export type LiveSelection = z.infer<typeof liveSelectionSchema>;
export const liveDragMapSchema = z.record(z.string(), liveDragSchema.nullable());
export type LiveDragMap = z.infer<typeof liveDragMapSchema>;
export const liveSelectionMapSchema = z.record(z.string(), liveSelectionSchema.nullable());
export type LiveSelectionMap = z.infer<typeof liveSelectionMapSchema>;
