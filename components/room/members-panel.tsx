"use client";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { membersAnswerSchema, type MembersAnswer, type User } from "@/lib/protocol";
import { api, ApiError, apiNoContent } from "@/lib/store/http";
import { useRooms } from "@/lib/store/rooms";
import { distinctName, sharedNames } from "@/lib/names";
import { readableError } from "../format";
import { Avatar } from "../ui/avatar";
import { useDismiss } from "../ui/use-dismiss";
import { PeopleIcon } from "../ui/icons";
import { usePeopleSearch } from "./use-people-search";

/**
 * A private room's members: anyone in it may add people; its creator may remove anyone, and
 * anyone may leave. Removing someone cuts them off at once, wherever they are connected. A
 * direct message stays between its two people: no one is added, and each may only leave.
 */
export function MembersButton({ roomId, me }: { roomId: string; me: User }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(root, open, close);
  return (
    <div ref={root} className="relative">
      <button
        type="button"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        className="inline-flex h-8 shrink-0 items-center gap-1.5 rounded-lg border border-slate-300 px-2 text-xs font-medium hover:bg-slate-50 sm:px-2.5 dark:border-slate-600 dark:hover:bg-slate-800"
      >
        <PeopleIcon />
        {/* Named by its icon alone on a phone, where the room's name needs the header's width. */}
        <span className="sr-only sm:not-sr-only">Members</span>
      </button>
      {open && <MembersPanel roomId={roomId} me={me} />}
    </div>
  );
}

function MembersPanel({ roomId, me }: { roomId: string; me: User }) {
  const router = useRouter();
  /** Null until the members are in: what the panel offers depends on them (a direct message, its creator). */
  const [answer, setAnswer] = useState<MembersAnswer | null>(null);
  const [query, setQuery] = useState("");
  const found = usePeopleSearch(query);
  const [error, setError] = useState<string | null>(null);
  /** Whom "Leave" or "Remove" was pressed for: asked once more before it is done. */
  const [confirming, setConfirming] = useState<User | null>(null);
  const load = useCallback(
    () => api(`/api/rooms/${encodeURIComponent(roomId)}/members`, membersAnswerSchema).then(setAnswer, () => setError("Could not load the members")),
    [roomId],
  );
  useEffect(() => void load(), [load]);

  const act = async (what: () => Promise<void>) => {
    try {
      await what();
      setError(null);
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? readableError(err.message) : "That did not work");
    }
  };
  const add = (user: User) =>
    act(async () => {
      await apiNoContent(`/api/rooms/${encodeURIComponent(roomId)}/members`, { method: "POST", body: { userId: user.id } });
      setQuery("");
    });
  const remove = (user: User) =>
    act(async () => {
      await apiNoContent(`/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(user.id)}`, { method: "DELETE" });
      if (user.id === me.id) {
        useRooms.getState().forget(roomId);
        router.push("/");
      }
    });
  const members = answer?.members ?? [];
  const direct = answer?.direct === true;
  const memberIds = new Set(members.map((m) => m.id));
  // People of one name (guests may share one), among the members and those found to add, are
  // shown with their tags.
  const shared = sharedNames([...members, ...found]);
  // What the server allows (PROTOCOL.md 1.6); a version 1.2 server does not say who made the room.
  const mayRemoveOthers = !direct && answer?.createdBy === me.id;

  return (
    <div
      role="region"
      aria-label="Members"
      className="absolute top-full right-0 z-30 mt-2 w-72 rounded-xl border border-slate-200 bg-white p-3 shadow-lg dark:border-slate-700 dark:bg-slate-900"
    >
      <ul className="space-y-1.5">
        {members.map((m) => (
          <li key={m.id} className="flex items-center gap-2 text-sm">
            <Avatar name={distinctName(m, shared)} color={m.color} size="sm" />
            <bdi className="min-w-0 flex-1 truncate">{distinctName(m, shared)}</bdi>
            {(m.id === me.id || mayRemoveOthers) && (
              <button
                type="button"
                onClick={() => setConfirming(m)}
                aria-label={m.id === me.id ? (direct ? "Leave this conversation" : "Leave this room") : `Remove ${distinctName(m, shared)}`}
                className="rounded px-1.5 py-0.5 text-xs font-medium text-rose-700 hover:bg-rose-50 dark:text-rose-300 dark:hover:bg-rose-950"
              >
                {m.id === me.id ? "Leave" : "Remove"}
              </button>
            )}
          </li>
        ))}
      </ul>
      {confirming && (
        <ConfirmRemoval
          who={confirming.id === me.id ? null : distinctName(confirming, shared)}
          direct={direct}
          last={members.length === 1}
          onConfirm={() => {
            setConfirming(null);
            void remove(confirming);
          }}
          onCancel={() => setConfirming(null)}
        />
      )}
      {answer === null ? null : direct ? (
        <p className="mt-3 text-xs text-slate-600 dark:text-slate-400">A direct message stays between the two of you. To bring others in, make a private room.</p>
      ) : (
        <>
          <label htmlFor="add-member" className="mt-3 block text-xs font-medium">
            Add someone
          </label>
          <input
            id="add-member"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder="Name"
            autoComplete="off"
            className="mt-1 block w-full rounded border border-slate-300 px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          />
          <ul aria-label="People to add" className="mt-1 space-y-1">
            {found
              .filter((u) => !memberIds.has(u.id))
              .map((u) => (
                <li key={u.id}>
                  <button type="button" onClick={() => void add(u)} className="flex w-full items-center gap-2 rounded px-1.5 py-1 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800">
                    <Avatar name={distinctName(u, shared)} color={u.color} size="sm" />
                    <span className="min-w-0 flex-1 truncate">
                      Add <bdi>{distinctName(u, shared)}</bdi>
                    </span>
                  </button>
                </li>
              ))}
          </ul>
        </>
      )}
      {error && (
        <p role="alert" className="mt-2 text-xs text-rose-700 dark:text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * Leaving a private room, or removing someone from it, asked once more: neither is undone by a
 * click, since only a member can add a person back, and a room its last member leaves is out
 * of everyone's reach.
 */
function ConfirmRemoval({ who, direct, last, onConfirm, onCancel }: { who: string | null; direct: boolean; last: boolean; onConfirm(): void; onCancel(): void }) {
  const question = who !== null ? `Remove ${who}? They lose the room and its history at once, until someone adds them again.` : direct
    ? "Leave this conversation? It leaves your list until one of you writes in it again."
    : last
      ? "Leave this room? You are its last member: no one will be able to open it again."
      : "Leave this room? It is private: you can come back only if a member adds you.";
  return (
    <div role="alertdialog" aria-labelledby="confirm-removal" className="mt-3 rounded-lg border border-rose-200 bg-rose-50 p-2.5 dark:border-rose-800 dark:bg-rose-950">
      <p id="confirm-removal" className="text-xs text-rose-900 dark:text-rose-100">
        {question}
      </p>
      <div className="mt-2 flex gap-2">
        <button type="button" onClick={onConfirm} className="flex-1 rounded bg-rose-600 px-2 py-1 text-xs font-semibold text-white hover:bg-rose-700">
          {who !== null ? "Remove" : "Leave"}
        </button>
        <button type="button" autoFocus onClick={onCancel} className="flex-1 rounded border border-slate-300 px-2 py-1 text-xs font-medium hover:bg-white dark:border-slate-600 dark:hover:bg-slate-900">
          Cancel
        </button>
      </div>
    </div>
  );
}
