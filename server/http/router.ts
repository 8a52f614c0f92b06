// A method + path router for the server's own endpoints. Patterns are literal segments and
// `:name` parameters; the pattern is the metrics label, so labels stay few.
import type { IncomingMessage, ServerResponse } from "node:http";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  pattern: string;
  segments: string[];
  handlers: Map<string, RouteHandler>;
}

export interface RouteMatch {
  pattern: string;
  params: Record<string, string>;
  /** The handler for the method, or null when the path exists but the method does not. */
  handler: RouteHandler | null;
  allowed: string[];
}

export class Router {
  /** The routes by their number of segments, each list in the order they were added. */
  private readonly bySize = new Map<number, Route[]>();

  on(method: string, pattern: string, handler: RouteHandler): this {
    const segments = pattern.split("/").filter(Boolean);
    let routes = this.bySize.get(segments.length);
    if (!routes) this.bySize.set(segments.length, (routes = []));
    let route = routes.find((r) => r.pattern === pattern);
    if (!route) routes.push((route = { pattern, segments, handlers: new Map() }));
    route.handlers.set(method.toUpperCase(), handler);
    return this;
  }

  /**
   * The first route, in the order added, whose segments match the path's. Every request comes
   * through here: it allocates nothing for the routes it passes over.
   */
  match(method: string, pathname: string): RouteMatch | null {
    const parts = pathname.split("/").filter(Boolean);
    for (const route of this.bySize.get(parts.length) ?? []) {
      const params = paramsOf(route.segments, parts);
      if (!params) continue;
      const m = method.toUpperCase();
      const handler = route.handlers.get(m) ?? (m === "HEAD" ? route.handlers.get("GET") : undefined) ?? null;
      return { pattern: route.pattern, params, handler, allowed: [...route.handlers.keys()] };
    }
    return null;
  }
}

/** The `:name` parameters of a path whose parts match the segments; null when they do not. */
function paramsOf(segments: string[], parts: string[]): Record<string, string> | null {
  for (let i = 0; i < segments.length; i++) if (segments[i]![0] !== ":" && segments[i] !== parts[i]) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    if (segments[i]![0] !== ":") continue;
    try {
      params[segments[i]!.slice(1)] = decodeURIComponent(parts[i]!);
    } catch {
      return null;
    }
  }
  return params;
}
