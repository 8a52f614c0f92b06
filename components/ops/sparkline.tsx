// A small line chart in inline SVG: a minute of one-second samples, newest at the right edge.
// Gaps (null: nothing was measured in that second) break the line instead of drawing a zero.

export interface Series {
  label: string;
  color: Color;
  values: (number | null)[];
  /** Drawn dashed, so a line on top of another with the same values leaves it visible. */
  dashed?: boolean;
}

/** One colour as the classes a chart needs (spelled out, so Tailwind sees them). */
export interface Color {
  stroke: string;
  fill: string;
  area: string;
  swatch: string;
}

export const COLORS = {
  indigo: { stroke: "stroke-indigo-500", fill: "fill-indigo-500", area: "fill-indigo-500/15", swatch: "bg-indigo-500" },
  emerald: { stroke: "stroke-emerald-500", fill: "fill-emerald-500", area: "fill-emerald-500/15", swatch: "bg-emerald-500" },
  amber: { stroke: "stroke-amber-500", fill: "fill-amber-500", area: "fill-amber-500/15", swatch: "bg-amber-500" },
  rose: { stroke: "stroke-rose-500", fill: "fill-rose-500", area: "fill-rose-500/15", swatch: "bg-rose-500" },
  slate: { stroke: "stroke-slate-400", fill: "fill-slate-400", area: "fill-slate-400/15", swatch: "bg-slate-400" },
} as const satisfies Record<string, Color>;

const WIDTH = 120;
const HEIGHT = 40;

/**
 * `stacked`: each series is drawn on top of the ones before it, as bands (parts of a total, like
 * connections by transport), so equal values do not hide each other.
 */
export function Sparkline({
  series,
  slots,
  label,
  unit = "",
  stacked = false,
}: {
  series: Series[];
  slots: number;
  label: string;
  unit?: string;
  stacked?: boolean;
}) {
  const shown = stacked ? stack(series) : series;
  const top = niceCeiling(Math.max(0, ...shown.flatMap((s) => s.values.filter((v): v is number => v !== null))));
  const x = (i: number, n: number) => ((slots - n + i) / Math.max(1, slots - 1)) * WIDTH;
  const y = (v: number) => HEIGHT - (v / top) * (HEIGHT - 2) - 1;
  const point = (v: number, i: number, n: number) => `${x(i, n).toFixed(2)},${y(v).toFixed(2)}`;

  return (
    <figure className="relative mt-3">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${label}, the last ${slots} seconds`}
        className="block h-16 w-full overflow-visible"
      >
        <line x1={0} x2={WIDTH} y1={HEIGHT - 1} y2={HEIGHT - 1} className="stroke-slate-200 dark:stroke-slate-700" strokeWidth={1} vectorEffect="non-scaling-stroke" />
        <line x1={0} x2={WIDTH} y1={1} y2={1} className="stroke-slate-100 dark:stroke-slate-800" strokeWidth={1} strokeDasharray="2 3" vectorEffect="non-scaling-stroke" />
        {stacked &&
          shown.map((s, k) => {
            const n = s.values.length;
            if (n < 2) return null;
            const upper = s.values.map((v, i) => point(v ?? 0, i, n));
            const lower = (shown[k - 1]?.values ?? s.values.map(() => 0)).map((v, i) => point(v ?? 0, i, n)).reverse();
            return <polygon key={`${s.label}-area`} points={[...upper, ...lower].join(" ")} className={s.color.area} />;
          })}
        {/* Stacked: the lower bands' lines last, so a band of zero does not draw over the one below. */}
        {(stacked ? shown.toReversed() : shown).map((s) =>
          runs(s.values).map((run) =>
            run.points.length === 1 ? (
              <circle
                key={`${s.label}-${run.start}`}
                cx={x(run.start, s.values.length)}
                cy={y(run.points[0]!)}
                r={1.5}
                className={s.color.fill}
              />
            ) : (
              <polyline
                key={`${s.label}-${run.start}`}
                points={run.points.map((v, j) => point(v, run.start + j, s.values.length)).join(" ")}
                fill="none"
                className={s.color.stroke}
                strokeWidth={1.75}
                strokeDasharray={s.dashed ? "4 3" : undefined}
                strokeLinejoin="round"
                strokeLinecap="round"
                vectorEffect="non-scaling-stroke"
              />
            ),
          ),
        )}
      </svg>
      <figcaption aria-hidden className="pointer-events-none absolute top-0 right-0 -translate-y-full pb-0.5 text-[10px] text-slate-500 dark:text-slate-400 tabular-nums">
        {formatNumber(top)}
        {unit}
      </figcaption>
    </figure>
  );
}

/** Running totals across the series, in order: the second is drawn at first + second, and so on. */
function stack(series: Series[]): Series[] {
  const sums: number[] = [];
  return series.map((s) => ({
    ...s,
    values: s.values.map((v, i) => (sums[i] = (sums[i] ?? 0) + (v ?? 0))),
  }));
}

/** Consecutive non-null stretches of `values`. */
function runs(values: (number | null)[]): { start: number; points: number[] }[] {
  const out: { start: number; points: number[] }[] = [];
  let current: { start: number; points: number[] } | null = null;
  values.forEach((v, i) => {
    if (v === null) {
      current = null;
      return;
    }
    if (!current) out.push((current = { start: i, points: [] }));
    current.points.push(v);
  });
  return out;
}

/** The chart's top: 1, 2, 5, 10, 20, 50… at or above `max`, so the scale moves in steps. */
function niceCeiling(max: number): number {
  if (max <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

/** A current value: "—" when nothing was measured, "> 2,500 ms" when only a lower bound is known. */
export function formatStat(value: number | null | undefined, unit = "", over = false): string {
  if (value === null || value === undefined) return "—";
  return `${over ? "> " : ""}${formatNumber(value)}${unit}`;
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString("en");
  return n.toLocaleString("en", { maximumFractionDigits: n < 10 ? 2 : 1 });
}
