CREATE TYPE "public"."user_kind" AS ENUM('person', 'service_account');--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "confirmed_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "kind" "user_kind" DEFAULT 'person' NOT NULL;--> statement-breakpoint
-- Existing sessions were last confirmed when they signed in.
UPDATE "sessions" SET "confirmed_at" = "created_at";
