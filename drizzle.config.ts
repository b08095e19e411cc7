import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates SQL from the schema here; migrations are applied by the app at start.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema.ts",
  out: "./db/migrations",
  casing: "snake_case",
});
