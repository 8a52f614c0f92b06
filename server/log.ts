// Structured logging (pino). One root logger; modules take a child with their name.
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that writes nothing: for tests and tools that do not want output. */
export const silentLogger: Logger = pino({ level: "silent" });
