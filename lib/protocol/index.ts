// The wire contract (PROTOCOL.md, versions 1 and 1.1) as types and runtime schemas, one module
// per message family. Imported by the server and the browser client alike as `lib/protocol`:
// one definition of every frame, every code and every limit.
export * from "./limits";
export * from "./errors";
export * from "./streams";
export * from "./events";
export * from "./client-frames";
export * from "./server-frames";
export * from "./http";
export * from "./ops";
export * from "./canvas";
