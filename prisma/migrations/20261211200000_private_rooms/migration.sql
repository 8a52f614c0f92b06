-- Private rooms and direct messages (protocol 1.2). A private room exists only for its members
-- (rows of room_members); to anyone else it is `unknown_room`, like a room that never existed.
-- A direct message is the private room of two people, found again by `dm_key` (their ids,
-- sorted), so opening it twice gives the same room.
ALTER TABLE "rooms" ADD COLUMN "visibility" TEXT NOT NULL DEFAULT 'public';
ALTER TABLE "rooms" ADD COLUMN "dm_key" TEXT;
CREATE UNIQUE INDEX "rooms_dm_key_key" ON "rooms"("dm_key");
