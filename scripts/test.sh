#!/usr/bin/env bash
# Install everything gitward's tests need on a fresh Debian machine, start the
# services they use, then run the linters and the test suite.
#   ./scripts/test.sh            # everything
#   ./scripts/test.sh -k rollback  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null || need_apt+=(git)
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium fonts-dejavu-core)
{ command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; } \
  || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"; python3 -m ruff check src tests bench
echo "== mypy"; python3 -m mypy
echo "== import-linter"; lint-imports

pg_data=""
if [ -z "${GITWARD_TEST_POSTGRES_URL:-}" ]; then
  pg_out=$(scripts/postgres-for-tests.sh start)
  GITWARD_TEST_POSTGRES_URL=$(printf '%s\n' "$pg_out" | tail -n1)
  pg_data=$(printf '%s\n' "$pg_out" | sed -n 's/^datadir=//p' | head -n1)
  export GITWARD_TEST_POSTGRES_URL
  trap 'scripts/postgres-for-tests.sh stop "$pg_data" >/dev/null 2>&1 || true' EXIT
fi

echo "== pytest"
python3 -m pytest -q -p no:cacheprovider "$@"
