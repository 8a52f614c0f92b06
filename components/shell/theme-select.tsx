"use client";
import { useState } from "react";
import { chooseThemePreference, storedThemePreference, type ThemePreference } from "@/lib/theme";

const OPTIONS: { value: ThemePreference; label: string }[] = [
  { value: "system", label: "System" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

/** Light, dark, or as the system says: remembered on this device. */
export function ThemeSelect() {
  // Rendered only inside the open account menu, so never on the server: storage is there to read.
  const [preference, setPreference] = useState(storedThemePreference);
  return (
    <label className="flex items-center justify-between gap-2 text-sm font-medium">
      Theme
      <select
        value={preference}
        onChange={(e) => {
          const next = e.target.value as ThemePreference;
          chooseThemePreference(next);
          setPreference(next);
        }}
        className="rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-900 px-2 py-1 text-sm font-normal focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
      >
        {OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
