-- The shared canvas (protocol 1.3): the latest snapshot of each board, beside the log. `seq` is
-- the canvas stream's position the board was folded to; a late joiner reads this row and the
-- operations after `seq` instead of the whole history. One row per canvas: a newer snapshot
-- replaces the older (the log keeps every operation, so nothing is lost).
CREATE TABLE "canvas_snapshots" (
    "stream" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "objects" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "canvas_snapshots_pkey" PRIMARY KEY ("stream")
);
