// The two ephemeral sends a page makes on every keystroke and pointer move, throttled so the
// server's limits are never reached: typing renews at most every TYPING_RENEW_MS, a cursor goes
// at most every `intervalMs` (latest wins). Each only decides *when*; `send` goes to the link.
import { TYPING_RENEW_MS, type BoardPoint } from "../protocol";

export class TypingThrottle {
  private readonly sentAt = new Map<string, number>();

  constructor(private readonly send: (room: string, stop: boolean) => void) {}

  /** Called on each keystroke (renewals throttled); `stop` clears at once, when it was shown. */
  typing(room: string, stop: boolean): void {
    const now = Date.now();
    if (!stop) {
      if (now - (this.sentAt.get(room) ?? 0) < TYPING_RENEW_MS) return;
      this.sentAt.set(room, now);
    } else {
      if (!this.sentAt.has(room)) return;
      this.sentAt.delete(room);
    }
    this.send(room, stop);
  }

  /** A message went out: the server cleared the indicator, the next keystroke shows it again. */
  forget(room: string): void {
    this.sentAt.delete(room);
  }
}

/**
 * Where my pointer is: x and y in [0,1] of the canvas as I see it, and (protocol 1.15) the
 * point of the board under it, which is what others draw; null: it left the canvas.
 */
export type CursorPos = { x: number; y: number; board?: BoardPoint } | null;

export class CursorThrottle {
  private readonly pending = new Map<string, CursorPos>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastSent = new Map<string, number>();
  /** Rooms where the last cursor sent was a position, not `null`: others see it. */
  private readonly shown = new Set<string>();

  constructor(
    private readonly send: (room: string, pos: CursorPos) => void,
    private readonly intervalMs: () => number,
  ) {}

  move(room: string, pos: CursorPos): void {
    this.pending.set(room, pos);
    if (this.timers.has(room)) return;
    const wait = Math.max(0, (this.lastSent.get(room) ?? 0) + this.intervalMs() - Date.now());
    this.timers.set(
      room,
      setTimeout(() => {
        this.timers.delete(room);
        if (!this.pending.has(room)) return;
        const latest = this.pending.get(room)!;
        this.pending.delete(room);
        this.lastSent.set(room, Date.now());
        this.emit(room, latest);
      }, wait),
    );
  }

  /** Leaving a room: nothing pending goes out after the leave, and a cursor others see is hidden first. */
  forget(room: string): void {
    const timer = this.timers.get(room);
    if (timer) clearTimeout(timer);
    this.timers.delete(room);
    this.pending.delete(room);
    this.lastSent.delete(room);
    if (this.shown.has(room)) this.emit(room, null);
  }

  private emit(room: string, pos: CursorPos): void {
    this.send(room, pos);
    if (pos) this.shown.add(room);
    else this.shown.delete(room);
  }
}
