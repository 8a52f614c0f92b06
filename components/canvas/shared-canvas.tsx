"use client";
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type PointerEvent } from "react";
import { cursorStore, useCursorIds, useCursorLabel } from "@/lib/store/cursors";
import { getRealtimeClient } from "@/lib/store/realtime";
import { CursorAnimator } from "./cursor-animator";
import { PointerBroadcast } from "./pointer-broadcast";
import { RoomName } from "../rooms/room-name";

/**
 * The room's shared canvas: my pointer goes out (normalized to [0,1], at most once per
 * animation frame; the client further caps it at 30 Hz) and everyone else's cursor is drawn.
 */
export function SharedCanvas({ roomId }: { roomId: string }) {
  const surface = useRef<HTMLDivElement>(null);
  const [animator] = useState(() => new CursorAnimator(cursorStore));
  const ids = useCursorIds();

  useEffect(() => animator.start(), [animator]);

  useLayoutEffect(() => {
    const el = surface.current;
    if (!el) return;
    animator.resize(el.clientWidth, el.clientHeight);
    const observer = new ResizeObserver(() => animator.resize(el.clientWidth, el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, [animator]);

  const { onPointerMove, onPointerLeave } = usePointerBroadcast(roomId);

  return (
    <section aria-label="Shared canvas" className="relative h-full min-h-0 bg-white dark:bg-slate-900">
      <div
        ref={surface}
        onPointerMove={onPointerMove}
        onPointerLeave={onPointerLeave}
        onPointerCancel={onPointerLeave}
        className="relative h-full w-full touch-none overflow-hidden bg-[radial-gradient(circle,var(--color-slate-300)_1px,transparent_1px)] bg-size-[20px_20px] select-none"
      >
        <p className="pointer-events-none absolute inset-x-0 bottom-2 truncate px-4 text-center text-xs text-slate-500 dark:text-slate-400">
          Point here — everyone in <RoomName id={roomId} /> sees your cursor live.
        </p>
        {ids.map((id) => (
          <RemoteCursor key={id} id={id} animator={animator} />
        ))}
      </div>
    </section>
  );
}

/** Pointer moves → `client.moveCursor`, coalesced to one call per animation frame. */
function usePointerBroadcast(roomId: string) {
  const broadcast = useMemo(() => new PointerBroadcast((pos) => getRealtimeClient().moveCursor(roomId, pos)), [roomId]);
  useEffect(() => () => broadcast.cancel(), [broadcast]);

  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => broadcast.move(e.clientX, e.clientY, e.currentTarget.getBoundingClientRect());
  const onPointerLeave = () => broadcast.leave();

  return { onPointerMove, onPointerLeave };
}

function RemoteCursor({ id, animator }: { id: string; animator: CursorAnimator }) {
  const person = useCursorLabel(id);
  const root = useRef<HTMLDivElement>(null);
  const label = useRef<HTMLSpanElement>(null);

  const shown = person !== null;
  useLayoutEffect(() => {
    if (!shown || !root.current || !label.current) return;
    animator.attach(id, root.current, label.current);
    return () => animator.detach(id);
  }, [animator, id, shown]);

  useLayoutEffect(() => animator.measure(id), [animator, id, person?.name]);

  if (!person) return null;
  return (
    <div ref={root} role="img" aria-label={`${person.name}'s cursor`} className="pointer-events-none absolute top-0 left-0 h-5 w-4 will-change-transform">
      <svg viewBox="0 0 16 20" className="block h-5 w-4 drop-shadow-sm" aria-hidden>
        <path d="M1 1v16l4.5-4.2 3 6.2 2.6-1.2-3-6.1H14Z" fill={person.color} stroke="white" strokeWidth="1.5" strokeLinejoin="round" />
      </svg>
      <span
        ref={label}
        className="absolute top-0 left-0 rounded-md px-1.5 py-0.5 text-xs font-medium whitespace-nowrap text-white shadow-sm will-change-transform"
        style={{ backgroundColor: person.color }}
      >
        <bdi>{person.name}</bdi>
      </span>
    </div>
  );
}
