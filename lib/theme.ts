// Light or dark pages: a person's choice for this device (localStorage), or the system's
// (`prefers-color-scheme`) while they choose "System". The choice shows as `data-theme` on
// <html>, which the stylesheet's `dark:` variant reads; an inline script in the layout sets it
// before the first paint so a dark page never flashes white.

export const THEME_PREFERENCES = ["system", "light", "dark"] as const;
export type ThemePreference = (typeof THEME_PREFERENCES)[number];
export type Theme = "light" | "dark";

export const THEME_STORAGE_KEY = "theme";
const DARK_QUERY = "(prefers-color-scheme: dark)";

export function storedThemePreference(): ThemePreference {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(THEME_STORAGE_KEY);
  } catch {
    // Storage refused (private mode, blocked cookies): follow the system.
  }
  return THEME_PREFERENCES.find((p) => p === stored) ?? "system";
}

/** Remembers `preference` on this device and shows the page in it at once. */
export function chooseThemePreference(preference: ThemePreference): void {
  try {
    if (preference === "system") localStorage.removeItem(THEME_STORAGE_KEY);
    else localStorage.setItem(THEME_STORAGE_KEY, preference);
  } catch {
    // Not remembered, but still applied to this page.
  }
  applyTheme(preference);
}

export function applyTheme(preference: ThemePreference): void {
  const theme: Theme = preference === "system" ? (matchMedia(DARK_QUERY).matches ? "dark" : "light") : preference;
  document.documentElement.dataset.theme = theme;
}

/**
 * The same choice as `storedThemePreference` + `applyTheme`, as a self-contained script for the
 * page's <head>: it runs before the body paints, and keeps following the system's setting while
 * the stored choice is "System" (no choice stored).
 */
export const THEME_BOOT_SCRIPT = `(() => {
  const query = matchMedia(${JSON.stringify(DARK_QUERY)});
  const apply = () => {
    let stored = null;
    try { stored = localStorage.getItem(${JSON.stringify(THEME_STORAGE_KEY)}); } catch {}
    const theme = stored === "light" || stored === "dark" ? stored : query.matches ? "dark" : "light";
    document.documentElement.dataset.theme = theme;
  };
  apply();
  query.addEventListener("change", apply);
})();`;
