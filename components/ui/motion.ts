// Motion the reader asked to be spared (`prefers-reduced-motion: reduce`), for what CSS variants
// cannot reach: smooth scrolling started from script.

/** "smooth", or "auto" (a jump) for someone who reduces motion. */
export function scrollBehavior(): ScrollBehavior {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
}
