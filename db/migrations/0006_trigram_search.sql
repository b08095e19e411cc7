-- Trigram search (SPEC §14). pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner
-- may create it. The embedded database loads it with PGlite (db/embedded.ts).
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX "api_keys_name_trgm_idx" ON "api_keys" USING gin ("name_lower" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "users_name_trgm_idx" ON "users" USING gin (lower("name") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "users_email_trgm_idx" ON "users" USING gin (lower("email") gin_trgm_ops);