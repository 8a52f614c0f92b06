/** Focuses a text box with the caret after its text, scrolling neither the page nor what holds the box. */
export function focusAtEnd(el: HTMLTextAreaElement | null): void {
  if (!el) return;
  el.focus({ preventScroll: true });
  el.setSelectionRange(el.value.length, el.value.length);
  el.scrollTop = el.scrollHeight;
}
