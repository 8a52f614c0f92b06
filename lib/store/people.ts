// The colour of each person we have seen (in presence, cursors or as ourselves). Events carry
// only an actor's id and name, so messages look the colour up here.
import { create } from "zustand";
import type { User } from "../protocol";

/** For people not seen yet (someone who wrote earlier and has left). */
export const UNKNOWN_COLOR = "#64748b";

interface PeopleState {
  colors: Record<string, string>;
  remember(users: Pick<User, "id" | "color">[]): void;
}

export const usePeople = create<PeopleState>()((set) => ({
  colors: {},
  remember(users) {
    set((s) => {
      if (users.every((u) => s.colors[u.id] === u.color)) return s;
      const colors = { ...s.colors };
      for (const u of users) colors[u.id] = u.color;
      return { colors };
    });
  },
}));

export function useColorOf(userId: string): string {
  return usePeople((s) => s.colors[userId] ?? UNKNOWN_COLOR);
}
