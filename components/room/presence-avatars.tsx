"use client";
import { useRoom } from "@/lib/store/room";
import { useSession } from "@/lib/store/session";
import { distinctName } from "@/lib/names";
import { Avatar } from "../ui/avatar";
import { useDirectMessage } from "./use-direct-message";
import { useSharedNames } from "./use-shared-names";

const SHOWN = 5;

/**
 * Who is in the room now: initials in each person's colour, overlapping, "+3" beyond five.
 * Anyone else's avatar opens a direct message with them. Two here under one name are named
 * with their tags ("Ada #4821"), as their messages are.
 */
export function PresenceAvatars() {
  const members = useRoom((s) => s.members);
  const meId = useSession((s) => s.user?.id);
  const message = useDirectMessage();
  const shared = useSharedNames();
  const extra = members.length - SHOWN;
  return (
    // A fixed height, so people arriving and leaving never shift the header.
    <div className="flex h-8 shrink-0 items-center">
      <ul aria-label="People here" className="flex items-center -space-x-2">
        {members.map((m, i) => {
          const name = distinctName(m, shared);
          return (
            <li key={m.id} className={i < SHOWN ? "relative" : "sr-only"}>
              {i >= SHOWN ? (
                <bdi>{name}</bdi>
              ) : m.id === meId ? (
                <Avatar name={name} color={m.color} label />
              ) : (
                <button type="button" onClick={() => void message(m.id)} aria-label={`Message ${name} directly`} title={`Message ${name} directly`} className="rounded-full focus-visible:outline-2 focus-visible:outline-indigo-500">
                  <Avatar name={name} color={m.color} label />
                </button>
              )}
              {m.guest && <GuestMark overlay={i < SHOWN} />}
            </li>
          );
        })}
      </ul>
      {extra > 0 && (
        <span aria-hidden className="ml-1 text-xs font-medium text-slate-600 dark:text-slate-300">
          +{extra}
        </span>
      )}
    </div>
  );
}

/** Guests are marked wherever people are listed: anyone can sign in as a guest with any free name. */
function GuestMark({ overlay }: { overlay: boolean }) {
  return overlay ? (
    <span className="absolute -right-1 -bottom-1 z-10 rounded bg-slate-700 px-0.5 text-[9px] leading-tight font-semibold text-white">
      <span aria-hidden>G</span>
      <span className="sr-only">, guest</span>
    </span>
  ) : (
    <span>, guest</span>
  );
}
