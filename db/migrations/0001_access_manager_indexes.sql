DROP INDEX "api_keys_name_idx";--> statement-breakpoint
DROP INDEX "api_keys_status_idx";--> statement-breakpoint
DROP INDEX "api_keys_access_level_idx";--> statement-breakpoint
DROP INDEX "api_keys_last_used_at_idx";--> statement-breakpoint
DROP INDEX "users_name_idx";--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "name_lower" text GENERATED ALWAYS AS (lower(name)) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "api_keys_name_lower_idx" ON "api_keys" USING btree ("name_lower","created_at","id");--> statement-breakpoint
CREATE INDEX "api_keys_status_created_idx" ON "api_keys" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "api_keys_access_level_created_idx" ON "api_keys" USING btree ("access_level","created_at","id");--> statement-breakpoint
CREATE INDEX "api_keys_last_used_idx" ON "api_keys" USING btree ("last_used_at" DESC NULLS LAST,"created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "api_keys_user_created_idx" ON "api_keys" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "audit_log_actor_label_idx" ON "audit_log" USING btree (lower("actor_label") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "audit_log_target_label_idx" ON "audit_log" USING btree (lower("target_label") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "users_name_email_idx" ON "users" USING btree (lower("name"),"email","id");--> statement-breakpoint
CREATE INDEX "users_role_name_email_idx" ON "users" USING btree ("role",lower("name"),"email","id");