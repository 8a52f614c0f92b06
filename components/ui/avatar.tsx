import { initials } from "../format";

const SIZES = {
  sm: "size-6 text-[10px]",
  md: "size-8 text-xs",
} as const;

/** A person's initials on their colour. Decorative by default: the name is usually beside it. */
export function Avatar({ name, color, size = "md", label }: { name: string; color: string; size?: keyof typeof SIZES; label?: boolean }) {
  return (
    <span
      className={`inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white ring-2 ring-white dark:ring-slate-900 ${SIZES[size]}`}
      style={{ backgroundColor: color }}
      title={name}
      role={label ? "img" : undefined}
      aria-label={label ? name : undefined}
      aria-hidden={label ? undefined : true}
    >
      <bdi>{initials(name)}</bdi>
    </span>
  );
}
