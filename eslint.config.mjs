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
  {
    // The layers (CONVENTIONS.md): data flows (app | server) -> lib -> db, never back up, and no module
    // imports itself through others.
    files: ["**/*.ts", "**/*.tsx"],
    // Dependencies are not ours to check, and parsing their bundles is slow (PGlite's overflows).
    settings: { "import/ignore": ["node_modules"] },
    rules: {
      "import/no-cycle": ["error", { ignoreExternal: true }],
      // Prettier wraps code at 140 columns but never splits a string, class list or comment: this
      // catches what it leaves (split those by hand).
      "max-len": ["error", { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true }],
      "import/no-restricted-paths": [
        "error",
        {
          zones: [
            { target: "./db", from: ["./lib", "./server", "./app", "./components"], message: "db/ is the lowest layer." },
            { target: "./lib", from: ["./server", "./app", "./components"], message: "lib/ is the domain: no transport or UI." },
            {
              target: ["./app", "./components"],
              from: ["./server"],
              message: "server/ is the process and the REST transport; pages reach the domain through lib/.",
            },
            { target: "./components", from: ["./app"], message: "components/ are shared by pages: a page passes them what they need." },
          ],
        },
      ],
    },
  },
  {
    // zod's eval probe breaks the pages' CSP unless the browser's schemas are jitless: every schema
    // takes zod from the module that says so (lib/validation/zod.ts).
    files: ["app/**/*.{ts,tsx}", "components/**/*.{ts,tsx}", "lib/**/*.{ts,tsx}"],
    ignores: ["lib/validation/zod.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "zod", message: 'Import z from "@/lib/validation/zod": in the browser it must be jitless (the CSP forbids eval).' },
          ],
        },
      ],
    },
  },
  globalIgnores([
    ".next/**",
    ".next-*/**",
    "e2e/.auth/**",
    "node_modules/**",
    "data/**",
    "db/migrations/**",
    "test-results/**",
    "playwright-report/**",
    "next-env.d.ts",
  ]),
]);
