#!/usr/bin/env bash
# npm audit of the production dependencies, failing on high or critical advisories. A registry
# without an audit endpoint (some mirrors answer 405) cannot judge anything: say so and skip,
# rather than fail a build over the mirror or pass silently.
set -uo pipefail
out=$(npm audit --omit=dev --audit-level=high 2>&1)
code=$?
echo "$out"
if [ $code -ne 0 ] && grep -qiE '405|ENOAUDIT|audit endpoint|not supported|Method Not Allowed' <<<"$out"; then
  echo "audit:prod: the registry has no audit endpoint here; skipped (nothing was checked)"
  exit 0
fi
exit $code
