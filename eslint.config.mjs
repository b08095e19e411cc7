import nextVitals from "eslint-config-next/core-web-vitals";
import nextTypescript from "eslint-config-next/typescript";
import { defineConfig, globalIgnores } from "eslint/config";

export default defineConfig([
  ...nextVitals,
  ...nextTypescript,
  {
    rules: {
      // This rule is about the React Compiler, which Latchkey does not enable; TanStack Table's
      // hook is the one it flags.
      "react-hooks/incompatible-library": "off",
    },
  },
  globalIgnores([".next/**", ".next-*/**", "e2e/.auth/**", "node_modules/**", "data/**", "db/migrations/**", "test-results/**", "playwright-report/**", "next-env.d.ts"]),
]);
