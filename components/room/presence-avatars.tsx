"use client";
import { useRoom } from "@/lib/store/room";
import { Avatar } from "../ui/avatar";

const SHOWN = 5;

/** Who is in the room now: initials in each person's colour, overlapping, "+3" beyond five. */
export function PresenceAvatars() {
  const members = useRoom((s) => s.members);
  const extra = members.length - SHOWN;
  return (
    // A fixed height, so people arriving and leaving never shift the header.
    <div className="flex h-8 shrink-0 items-center">
      <ul aria-label="People here" className="flex items-center -space-x-2">
        {members.map((m, i) => (
          <li key={m.id} className={i < SHOWN ? undefined : "sr-only"}>
            {i < SHOWN ? <Avatar name={m.name} color={m.color} label /> : <bdi>{m.name}</bdi>}
          </li>
        ))}
      </ul>
      {extra > 0 && (
        <span aria-hidden className="ml-1 text-xs font-medium text-slate-600 dark:text-slate-300">
          +{extra}
        </span>
      )}
    </div>
  );
}
