-- The devices an account is signed in on (GET /api/sessions): each session remembers the
-- browser that opened it, so a person can tell their laptop from their phone and end one.
ALTER TABLE "sessions" ADD COLUMN "user_agent" TEXT;
