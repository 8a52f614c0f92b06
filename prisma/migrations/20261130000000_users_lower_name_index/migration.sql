-- Mentions look people up by lower(name) (an @mention is case-insensitive), which an index on
-- name cannot serve: index the expression instead. Prisma's schema cannot express an index on
-- an expression, so it lives only here (schema.prisma notes it on the model).
DROP INDEX IF EXISTS "users_name_idx";

CREATE INDEX "users_name_lower_idx" ON "users"(lower("name"));
