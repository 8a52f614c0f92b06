"use client";
import Link from "next/link";
import { useEffect } from "react";
import { useRooms } from "@/lib/store/rooms";
import { CreateRoomForm } from "./create-room-form";

/** The landing once signed in: every room, and a form for a new one. */
export function RoomList() {
  const rooms = useRooms((s) => s.rooms);
  const status = useRooms((s) => s.status);

  useEffect(() => {
    void useRooms.getState().load();
  }, []);

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-2xl space-y-6 p-4 sm:p-6">
        <div>
          <h1 className="text-xl font-bold tracking-tight">Rooms</h1>
          <p className="mt-1 text-sm text-slate-600">Each room has a chat and a shared canvas. Open one, or start your own.</p>
        </div>
        <CreateRoomForm />
        <section aria-labelledby="rooms-heading">
          <h2 id="rooms-heading" className="sr-only">
            All rooms
          </h2>
          {status === "loading" && <p className="text-sm text-slate-500">Loading rooms…</p>}
          {status === "error" && <p className="text-sm text-rose-700">Could not load the rooms.</p>}
          <ul aria-label="Rooms" className="divide-y divide-slate-100 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm">
            {rooms.map((room) => (
              <li key={room.id}>
                <Link href={`/rooms/${room.id}`} className="flex items-center justify-between gap-3 px-4 py-3 hover:bg-slate-50">
                  <span className="min-w-0 truncate font-medium">#{room.name}</span>
                  <span className="shrink-0 text-xs text-slate-500">
                    {room.head === 0 ? "No messages yet" : room.head === 1 ? "1 message" : `${room.head} messages`}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </div>
  );
}
