#!/usr/bin/env bash
# `npm test`: everything, in the order that fails fastest. Integration tests run on PGlite, and
# on PostgreSQL too when TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# answers; e2e runs on the production build.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lint";             npm run --silent lint
step "typecheck";        npx tsc --noEmit
step "unit tests";       npx vitest run --project unit
step "integration tests"; npx vitest run --project 'integration:*'
step "browsers";         bash scripts/ensure-browsers.sh
step "production build"; npm run --silent build
step "end-to-end tests"; npx playwright test
