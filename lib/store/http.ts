// JSON over HTTP for the stores: one place that turns PROTOCOL.md's error bodies into errors,
// and checks every answer against the protocol's schema before a store keeps it.
import type { z } from "zod";
import { errorBodySchema } from "../protocol";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface RequestInit {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** Fetches `path` on this origin and resolves with its body, checked against `schema`. */
export async function api<S extends z.ZodType>(path: string, schema: S, init: RequestInit = {}): Promise<z.infer<S>> {
  const body = await request(path, init);
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(0, "invalid_answer", `The server's answer to ${path} is not what the protocol says (${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "invalid"})`);
  }
  return parsed.data;
}

/** A call answered `204 No Content` (or whose answer the caller does not need). */
export async function apiNoContent(path: string, init: RequestInit = {}): Promise<void> {
  await request(path, init);
}

async function request(path: string, init: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? "GET",
      // Every state-changing call is JSON, a bodiless DELETE too: the server refuses others
      // (a cross-site form can post text/plain, never application/json).
      headers: (init.method ?? "GET") === "GET" ? undefined : { "Content-Type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      credentials: "same-origin",
      cache: "no-store",
      signal: init.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "Cannot reach the server; check your connection");
  }
  if (res.status === 204) return undefined;
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const parsed = errorBodySchema.safeParse(body);
    const error = parsed.success ? parsed.data.error : null;
    throw new ApiError(res.status, error?.code ?? "http_error", error?.message ?? `The server answered ${res.status}`);
  }
  return body;
}
