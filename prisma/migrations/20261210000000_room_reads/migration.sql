-- Per-room read positions (protocol 1.2): how far each person has read each room, shared by all
-- their devices. A row appears with the first read; no row reads as 0. The room list asks for
-- one person's rows over a page of rooms, which the primary key (user first) serves.
CREATE TABLE "room_reads" (
    "user_id" TEXT NOT NULL,
    "room_id" TEXT NOT NULL,
    "read_seq" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "room_reads_pkey" PRIMARY KEY ("user_id","room_id")
);

ALTER TABLE "room_reads" ADD CONSTRAINT "room_reads_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;
