-- Rooms a person muted (protocol 1.12): a row per muted room, the same on every device of
-- theirs; unmuting deletes it. Goes with the room, and with the person when a guest's retention
-- ends (server/guests.ts), as their read positions do.
CREATE TABLE "room_mutes" (
    "user_id" TEXT NOT NULL,
    "room_id" TEXT NOT NULL,
    "muted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "room_mutes_pkey" PRIMARY KEY ("user_id","room_id")
);

ALTER TABLE "room_mutes" ADD CONSTRAINT "room_mutes_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;
