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
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, handler: RouteHandler): this {
    let route = this.routes.find((r) => r.pattern === pattern);
    if (!route) {
      route = { pattern, segments: pattern.split("/").filter(Boolean), handlers: new Map() };
      this.routes.push(route);
    }
    route.handlers.set(method.toUpperCase(), handler);
    return this;
  }

  match(method: string, pathname: string): RouteMatch | null {
    const parts = pathname.split("/").filter(Boolean);
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const ok = route.segments.every((seg, i) => {
        const part = parts[i]!;
        if (seg.startsWith(":")) {
          try {
            params[seg.slice(1)] = decodeURIComponent(part);
          } catch {
            return false;
          }
          return true;
        }
        return seg === part;
      });
      if (!ok) continue;
      const m = method.toUpperCase();
      const handler = route.handlers.get(m) ?? (m === "HEAD" ? route.handlers.get("GET") : undefined) ?? null;
      return { pattern: route.pattern, params, handler, allowed: [...route.handlers.keys()] };
    }
    return null;
  }
}
