import { initials } from "../format";

const SIZES = {
  xs: "size-4 text-[7px] ring-1",
  sm: "size-6 text-[10px] ring-2",
  md: "size-8 text-xs ring-2",
} as const;

/**
 * A person's initials on their colour. Decorative by default: the name is usually beside it. The
 * initials are drawn by CSS, not written as text, so a button holding an avatar and a name reads
 * (and is named) by the name alone.
 */
export function Avatar({ name, color, size = "md", label }: { name: string; color: string; size?: keyof typeof SIZES; label?: boolean }) {
  return (
    <span
      className={`inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white ring-white [unicode-bidi:isolate] before:content-[attr(data-initials)] dark:ring-slate-900 ${SIZES[size]}`}
      style={{ backgroundColor: color }}
      data-initials={initials(name)}
      title={name}
      role={label ? "img" : undefined}
      aria-label={label ? name : undefined}
      aria-hidden={label ? undefined : true}
    />
  );
}
