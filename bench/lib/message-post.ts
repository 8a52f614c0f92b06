// The bare baselines' way in for the stream they broadcast: `POST /api/rooms/:id/messages`
// {text, clientId}, as the app takes a message, answered `201 {"event"}` with what `broadcast`
// made of it. No sessions, no log: the producers' side of the transports bench, the same for
// every bare server.
import type http from "node:http";

const MAX_BODY = 64 * 1024;

/**
 * Takes the request when it posts a message (true): reads its body, hands the room, text and
 * clientId to `broadcast`, and answers with the event it returns. False: some other request.
 */
export function takeMessagePost(req: http.IncomingMessage, res: http.ServerResponse, broadcast: (room: string, text: string, clientId: string) => object): boolean {
  const post = req.method === "POST" ? /^\/api\/rooms\/([\w-]+)\/messages$/.exec(req.url ?? "") : null;
  if (!post) return false;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on("end", () => {
    let body: { text?: unknown; clientId?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
    } catch {
      return void res.writeHead(400).end();
    }
    if (typeof body.text !== "string" || typeof body.clientId !== "string") return void res.writeHead(400).end();
    const event = broadcast(post[1]!, body.text, body.clientId);
    res.writeHead(201, { "Content-Type": "application/json" }).end(JSON.stringify({ event }));
  });
  return true;
}
