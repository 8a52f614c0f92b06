// The ops page's summary of one instance (`GET /api/ops`).
import { z } from "./zod";

/**
 * A latency quantile read from histogram buckets: `ms` is the upper bound of the bucket it falls
 * in. `over` means it lies past the highest bound — then `ms` is that bound and the latency is
 * more (the page shows "> 2500 ms"), which is when it matters most.
 */
export const latencyQuantileSchema = z.object({ ms: z.number(), over: z.boolean() });
export type LatencyQuantile = z.infer<typeof latencyQuantileSchema>;

export const opsSampleSchema = z.object({
  at: z.number(),
  connections: z.object({ ws: z.number(), sse: z.number(), longpoll: z.number() }),
  /** Messages appended per second over the last interval. */
  messagesPerSec: z.number(),
  /** Durable events handed to subscribers per second. */
  deliveriesPerSec: z.number(),
  /** Null when nothing was fanned out in the interval. */
  fanoutP50: latencyQuantileSchema.nullable(),
  fanoutP99: latencyQuantileSchema.nullable(),
  /** Mean appends per group-commit batch over the last interval. */
  batchSizeMean: z.number().nullable(),
  commitP99: latencyQuantileSchema.nullable(),
  slowConsumerCloses: z.number(),
});
export type OpsSample = z.infer<typeof opsSampleSchema>;

export const opsSnapshotSchema = z.object({ instance: z.string(), uptimeS: z.number(), samples: z.array(opsSampleSchema) });
export type OpsSnapshot = z.infer<typeof opsSnapshotSchema>;
