"use client";
// The inspector: a drawer over the room that shows what the realtime client is doing — which
// transport carries each feature, the frames going in and out, the round trip, reconnects and
// the resume positions — and lets a reader force a transport, drop the connection or go
// offline, to watch a resume happen with nothing lost or repeated.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { FrameLog, TabSharing, TransportMode } from "@/lib/realtime/types";
import { useConnection } from "@/lib/store/connection";
import { chooseTransport, getRealtimeClient } from "@/lib/store/realtime";
import { connectionLabel } from "../format";
import { CloseIcon } from "../ui/icons";
import { FRAMES_KEPT } from "./frame-ring";
import { useInspector, type InspectorSnapshot } from "./use-inspector";

const PANEL_ID = "inspector-panel";

/** The "Inspector" button for the room header, and the drawer it opens. */
export function Inspector({ roomId }: { roomId: string }) {
  const [open, setOpen] = useState(false);
  const { snapshot, refresh, clear, hideCursors, setHideCursors } = useInspector(roomId, open);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLElement>(null);

  // Focus moves into the drawer when it opens, and back to the button when it closes from inside.
  useEffect(() => {
    if (open) panel.current?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  // Escape closes it wherever focus is (it is not modal: the chat stays usable beside it), unless
  // something nearer took the key (a menu, an autocomplete). Focus goes back to the button only
  // from inside the drawer: a reader typing in the composer stays there.
  useEffect(() => {
    if (!open) return;
    const onKeyDown = (e: globalThis.KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      setOpen(false);
      if (panel.current?.contains(document.activeElement)) button.current?.focus();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [open]);

  return (
    <>
      <button
        ref={button}
        type="button"
        onClick={() => setOpen(!open)}
        aria-expanded={open}
        aria-controls={PANEL_ID}
        className={`inline-flex h-8 shrink-0 items-center gap-1.5 rounded-lg border px-2 text-xs font-medium focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 sm:px-2.5 ${
          open ? "border-indigo-300 dark:border-indigo-700 bg-indigo-50 dark:bg-indigo-950 text-indigo-800 dark:text-indigo-200" : "border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-900 text-slate-700 dark:text-slate-300 hover:bg-slate-50 dark:hover:bg-slate-800"
        }`}
      >
        <InspectorIcon className="size-4" />
        <span className="sr-only sm:not-sr-only">Inspector</span>
      </button>
      {open && (
        <aside
          ref={panel}
          id={PANEL_ID}
          tabIndex={-1}
          aria-labelledby={`${PANEL_ID}-heading`}
          className="absolute inset-x-0 top-12 bottom-0 z-20 flex flex-col border-l border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 shadow-xl outline-none sm:left-auto sm:w-[26rem] sm:max-w-full lg:right-96 lg:max-w-[calc(100%-24rem)] lg:border-r"
        >
          <header className="flex h-11 shrink-0 items-center justify-between gap-2 border-b border-slate-200 dark:border-slate-700 px-4">
            <h2 id={`${PANEL_ID}-heading`} className="text-sm font-semibold">
              Inspector
            </h2>
            <button
              type="button"
              onClick={close}
              aria-label="Close inspector"
              className="-mr-1.5 inline-flex size-8 items-center justify-center rounded-full text-slate-500 dark:text-slate-400 hover:bg-slate-100 dark:hover:bg-slate-800 hover:text-slate-700 dark:hover:text-slate-300 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
            >
              <CloseIcon />
            </button>
          </header>
          {snapshot && (
            <div className="min-h-0 flex-1 space-y-5 overflow-y-auto p-4">
              <ConnectionSection snapshot={snapshot} />
              <ControlsSection snapshot={snapshot} onChange={refresh} />
              <PositionsSection snapshot={snapshot} />
              <FramesSection snapshot={snapshot} onClear={clear} hideCursors={hideCursors} onHideCursors={setHideCursors} />
            </div>
          )}
        </aside>
      )}
    </>
  );
}

const TRANSPORT_NAME = { websocket: "WebSocket", sse: "SSE", longpoll: "Long polling", http: "HTTP" } as const;

function ConnectionSection({ snapshot }: { snapshot: InspectorSnapshot }) {
  const { status } = snapshot;
  const rows: [string, string][] = [
    // One connection per browser (lib/realtime/tab-hub.ts): which tab holds it, and for how many.
    ["Shared connection", sharingLabel(status.sharing)],
    ["Rooms", connectionLabel(status.rooms)],
    // The rooms link's own state (lib/realtime/link-state.ts) and each room's subscription.
    ["Link state", status.link],
    ["Subscriptions", Object.entries(status.subscriptions).map(([room, state]) => `${room}: ${state}`).join(", ") || "—"],
    ["Feed", connectionLabel(status.feed)],
    ["Round trip (send → ack)", status.rttMs === null ? "—" : `${Math.round(status.rttMs)} ms`],
    ["Reconnects", String(status.reconnects)],
    // Payloads that failed the protocol's schemas; each shows in Frames, marked invalid.
    ["Invalid frames dropped", String(status.invalidFrames)],
  ];
  return (
    <Section title="Connection" hint="Rooms carry chat, typing, presence and cursors; the feed carries activity and mentions.">
      <Facts label="Connection" rows={rows} />
    </Section>
  );
}

function sharingLabel({ role, tabs }: TabSharing): string {
  const count = `${tabs} ${tabs === 1 ? "tab" : "tabs"}`;
  switch (role) {
    case "alone":
      return "This tab only (tabs cannot share here)";
    case "leader":
      return `Leader · this tab connects for ${count}`;
    case "follower":
      return `Follower · another tab connects for ${count}`;
  }
}

const MODES: { value: TransportMode; label: string }[] = [
  { value: "auto", label: "Auto" },
  { value: "websocket", label: "WebSocket" },
  { value: "longpoll", label: "Long polling" },
];

function ControlsSection({ snapshot, onChange }: { snapshot: InspectorSnapshot; onChange: () => void }) {
  const name = useId();
  const choose = (mode: TransportMode) => {
    chooseTransport(mode);
    useConnection.getState().setMode(mode);
    onChange();
  };
  const drop = () => {
    getRealtimeClient().dropConnection();
    onChange();
  };
  const setOffline = (offline: boolean) => {
    getRealtimeClient().setOffline(offline);
    onChange();
  };

  return (
    <Section title="Try it">
      <fieldset>
        <legend className="mb-1.5 text-xs font-medium text-slate-600 dark:text-slate-300">Transport</legend>
        <div className="grid grid-cols-3 gap-1 rounded-lg bg-slate-100 dark:bg-slate-800 p-1">
          {MODES.map((m) => (
            <label
              key={m.value}
              className="relative flex h-8 items-center justify-center rounded-md px-1 text-center text-xs font-medium text-slate-600 dark:text-slate-300 has-checked:bg-white dark:has-checked:bg-slate-900 has-checked:text-slate-900 dark:has-checked:text-slate-100 has-checked:shadow-sm"
            >
              <input
                type="radio"
                name={name}
                value={m.value}
                checked={snapshot.mode === m.value}
                onChange={() => choose(m.value)}
                className="absolute inset-0 cursor-pointer appearance-none rounded-md focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
              />
              {m.label}
            </label>
          ))}
        </div>
        <p className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">Auto starts on WebSocket and SSE and falls back to long polling where a proxy blocks them.</p>
      </fieldset>
      <div className="mt-4 flex flex-wrap items-center justify-between gap-3">
        <label className="flex cursor-pointer items-center gap-2 text-sm font-medium">
          <input
            type="checkbox"
            role="switch"
            checked={snapshot.offline}
            onChange={(e) => setOffline(e.target.checked)}
            className="relative h-5 w-9 shrink-0 cursor-pointer appearance-none rounded-full bg-slate-300 dark:bg-slate-600 transition-colors before:absolute before:top-0.5 before:left-0.5 before:size-4 before:rounded-full before:bg-white dark:before:bg-slate-900 before:shadow-sm before:transition-transform checked:bg-amber-500 checked:before:translate-x-4 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
          />
          Simulate offline
        </label>
        <button
          type="button"
          onClick={drop}
          disabled={snapshot.offline}
          className="rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 disabled:text-slate-400 disabled:hover:bg-transparent"
        >
          Drop connection
        </button>
      </div>
    </Section>
  );
}

function PositionsSection({ snapshot }: { snapshot: InspectorSnapshot }) {
  return (
    <Section title="Resume positions" hint="The last seq seen per stream; every transport resumes after it.">
      <Facts label="Resume positions" rows={snapshot.positions.map((p) => [p.stream, p.seq === undefined ? "none yet: live from the head" : String(p.seq)])} mono />
    </Section>
  );
}

function FramesSection({
  snapshot,
  onClear,
  hideCursors,
  onHideCursors,
}: {
  snapshot: InspectorSnapshot;
  onClear: () => void;
  hideCursors: boolean;
  onHideCursors: (hide: boolean) => void;
}) {
  const { frames, totals } = snapshot;
  const total = totals.in + totals.out;
  return (
    <Section
      title="Frames"
      hint={`The last ${FRAMES_KEPT}, newest first. ${totals.in} in (${formatBytes(totals.bytesIn)}), ${totals.out} out (${formatBytes(totals.bytesOut)}) since the room opened.`}
      action={
        <button type="button" onClick={onClear} className="text-xs font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
          Clear frames
        </button>
      }
    >
      <label className="mb-2 flex w-fit cursor-pointer items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
        <input
          type="checkbox"
          checked={hideCursors}
          onChange={(e) => onHideCursors(e.target.checked)}
          className="size-3.5 cursor-pointer accent-indigo-600"
        />
        Hide cursor frames
      </label>
      {frames.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-200 dark:border-slate-700 px-3 py-4 text-center text-xs text-slate-500 dark:text-slate-400">No frames yet.</p>
      ) : (
        <div className="overflow-hidden rounded-lg border border-slate-200 dark:border-slate-700">
          <table aria-label="Frames" className="w-full table-fixed text-left font-mono text-[11px] leading-5">
            <thead className="bg-slate-50 dark:bg-slate-800 text-slate-500 dark:text-slate-400">
              <tr>
                <th scope="col" className="w-14 py-1 pl-2 font-medium">
                  Dir
                </th>
                <th scope="col" className="w-12 py-1 font-medium">
                  Via
                </th>
                <th scope="col" className="py-1 font-medium">
                  Type
                </th>
                <th scope="col" className="w-14 py-1 pr-2 text-right font-medium">
                  Bytes
                </th>
                <th scope="col" className="w-24 py-1 pr-2 text-right font-medium">
                  Time
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {frames.map((f, i) => (
                // The ring holds the last frames in order: the newest is number `total`.
                <FrameRow key={total - i} frame={f} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function FrameRow({ frame }: { frame: FrameLog }) {
  const incoming = frame.direction === "in";
  return (
    <tr>
      <td className={`py-0.5 pl-2 ${incoming ? "text-emerald-700 dark:text-emerald-300" : "text-indigo-700 dark:text-indigo-300"}`}>
        <span aria-hidden>{incoming ? "↓ " : "↑ "}</span>
        {frame.direction}
      </td>
      <td className="truncate py-0.5 text-slate-600 dark:text-slate-300" title={TRANSPORT_NAME[frame.transport]}>
        {VIA[frame.transport]}
      </td>
      {frame.invalid === undefined ? (
        <td className="truncate py-0.5 text-slate-900 dark:text-slate-100" title={frame.type}>
          {frame.type}
        </td>
      ) : (
        <td className="truncate py-0.5 text-red-700 dark:text-red-300" title={`Dropped: ${frame.invalid}`}>
          {frame.type} <span className="font-sans font-medium">invalid</span>
        </td>
      )}
      <td className="py-0.5 pr-2 text-right text-slate-600 dark:text-slate-300 tabular-nums">{frame.bytes}</td>
      <td className="py-0.5 pr-2 text-right text-slate-500 dark:text-slate-400 tabular-nums">{clockTime(frame.at)}</td>
    </tr>
  );
}

const VIA = { websocket: "ws", sse: "sse", longpoll: "poll", http: "http" } as const;

function Section({ title, hint, action, children }: { title: string; hint?: string; action?: ReactNode; children: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id}>
      <div className="mb-2 flex items-baseline justify-between gap-2">
        <h3 id={id} className="text-xs font-semibold tracking-wide text-slate-500 dark:text-slate-400 uppercase">
          {title}
        </h3>
        {action}
      </div>
      {hint && <p className="-mt-1 mb-2 text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
      {children}
    </section>
  );
}

/** Label–value rows: a term and its value, each pair wrapped in a plain div as <dl> allows. */
function Facts({ label, rows, mono }: { label: string; rows: [string, string][]; mono?: boolean }) {
  return (
    <dl aria-label={label} className="divide-y divide-slate-100 dark:divide-slate-800 rounded-lg border border-slate-200 dark:border-slate-700 text-sm">
      {rows.map(([name, value]) => (
        <div key={name} className="flex items-baseline justify-between gap-3 px-3 py-1.5">
          <dt className={`min-w-0 truncate text-slate-600 dark:text-slate-300 ${mono ? "font-mono text-xs" : ""}`}>{name}</dt>
          <dd className="shrink-0 font-medium text-slate-900 dark:text-slate-100 tabular-nums">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

const time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

/** 14:03:07.042 */
function clockTime(at: number): string {
  return `${time.format(at)}.${String(at % 1000).padStart(3, "0")}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Angle brackets: a developer tool. */
function InspectorIcon({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 24 24" className={className} aria-hidden fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round">
      <path d="m16 18 6-6-6-6M8 6l-6 6 6 6" />
    </svg>
  );
}
