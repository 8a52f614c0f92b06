-- Accounts (protocol 1.2): a person with a username and a password, who signs in on any device
-- as the same person. Guests have neither. An account's display name is unique under its
-- `name_key` (lib/names.ts: compatibility forms, case and lookalike letters folded).
ALTER TABLE "users" ADD COLUMN "username" TEXT;
ALTER TABLE "users" ADD COLUMN "password_hash" TEXT;
ALTER TABLE "users" ADD COLUMN "name_key" TEXT;

CREATE UNIQUE INDEX "users_username_key" ON "users"("username");
CREATE UNIQUE INDEX "users_account_name_key" ON "users"("name_key") WHERE "username" IS NOT NULL;
