// Reading what the server sent: JSON.parse, then the protocol's zod schema, before anything acts
// on it. A payload that fails either is described, never cast (a proxy's page, a bug on either
// side, a server newer than this page).
import type { z } from "zod";

/** A payload the client refused, and why. */
export class InvalidPayload {
  constructor(
    readonly reason: string,
    /** The `type` the payload claimed, when it was an object that had one. */
    readonly claimedType: string | undefined,
  ) {}
}

/**
 * The payload as `schema` reads it, or an `InvalidPayload`. The good path allocates nothing
 * beyond what JSON.parse and zod do: cursor frames pass through here twenty times a second.
 */
export function decode<T>(schema: z.ZodType<T>, text: string): T | InvalidPayload {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return new InvalidPayload("not JSON", undefined);
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return new InvalidPayload(`${where}${issue?.message ?? "invalid"}`, claimedType(raw));
}

function claimedType(raw: unknown): string | undefined {
  if (typeof raw !== "object" || raw === null || !("type" in raw)) return undefined;
  return typeof raw.type === "string" ? raw.type.slice(0, 40) : undefined;
}
