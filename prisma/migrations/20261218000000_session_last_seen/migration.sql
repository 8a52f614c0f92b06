-- When each signed-in device last acted (GET /api/sessions): what tells two sessions of one
-- browser apart. Written at most every few minutes per session (server/auth.ts), never on each
-- request; NULL until its first write after signing in, when `created_at` says the same.
ALTER TABLE "sessions" ADD COLUMN "last_seen_at" TIMESTAMPTZ(3);
