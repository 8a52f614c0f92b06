"use client";
import { useRouter } from "next/navigation";
import { useCallback } from "react";
import { useRooms } from "@/lib/store/rooms";

/** Opens the direct-message room with a person (made the first time), as the page's room. */
export function useDirectMessage(): (userId: string) => Promise<void> {
  const router = useRouter();
  return useCallback(
    async (userId: string) => {
      const result = await useRooms.getState().directMessage(userId);
      if ("room" in result) router.push(`/rooms/${encodeURIComponent(result.room.id)}`);
    },
    [router],
  );
}
