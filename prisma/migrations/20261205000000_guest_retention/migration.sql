-- Guests who can no longer sign in are deleted after a retention period (server/guests.ts):
-- the sweep walks users oldest first, and deletes a leaving person's memberships by user.
-- Each person's rooms also lead their first page of the room list (room_members by user).
CREATE INDEX "users_created_at_idx" ON "users"("created_at");

CREATE INDEX "room_members_user_id_idx" ON "room_members"("user_id");
