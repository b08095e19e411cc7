CREATE TABLE "api_key_count" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"delta" bigint NOT NULL
);
--> statement-breakpoint
-- The number of API keys, kept exact by statement triggers with transition tables (SPEC §14): one
-- row per inserting or deleting statement, so writers never wait on a shared row. Cascades (a
-- removed user's keys) run as statements on api_keys and are counted too; TRUNCATE starts again
-- from zero (a TRUNCATE of this table waits for a concurrent fold, lib/keys/admin.ts).
CREATE FUNCTION "api_key_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "api_key_count" ("delta") SELECT count(*) FROM "inserted_keys" HAVING count(*) > 0;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "api_key_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "api_key_count" ("delta") SELECT -count(*) FROM "deleted_keys" HAVING count(*) > 0;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "api_key_count_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE "api_key_count";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "api_keys_count_insert" AFTER INSERT ON "api_keys"
  REFERENCING NEW TABLE AS "inserted_keys" FOR EACH STATEMENT EXECUTE FUNCTION "api_key_count_inserted"();--> statement-breakpoint
CREATE TRIGGER "api_keys_count_delete" AFTER DELETE ON "api_keys"
  REFERENCING OLD TABLE AS "deleted_keys" FOR EACH STATEMENT EXECUTE FUNCTION "api_key_count_deleted"();--> statement-breakpoint
CREATE TRIGGER "api_keys_count_truncate" AFTER TRUNCATE ON "api_keys"
  FOR EACH STATEMENT EXECUTE FUNCTION "api_key_count_truncated"();--> statement-breakpoint
-- The keys there already are. The triggers above hold a lock on api_keys until this migration
-- commits, so no key is added or removed between them and this count.
INSERT INTO "api_key_count" ("delta") SELECT count(*) FROM "api_keys";
