# Shared set-up for scripts/test and scripts/demo. Source it; do not run it.
# Everything reauto needs on a fresh Debian machine is installed from here.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${REAUTO_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG... : install missing Debian packages (root only; otherwise say what to run).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]} — run: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# ensure_python_venv : a .venv with reauto installed (editable) and the given extras.
ensure_venv() {
  local extras="${1:-dev}"
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    die "reauto needs Python >= 3.11 (found $(python3 --version 2>&1))"
  fi
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  [[ -x "$PY" ]] || { say "creating $VENV"; python3 -m venv "$VENV" || die "cannot create $VENV"; }
  local stamp="$VENV/.reauto-installed" want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    say "installing reauto[$extras] into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "^WARNING: Location" || true
    "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[$extras]" 2>&1 \
      | grep -v "^WARNING: Location" || true
    "$PY" -c "import reauto" || die "pip install -e .[$extras] failed"
    echo "$want" > "$stamp"
  fi
}

# ensure_postgres : PostgreSQL answering on 127.0.0.1:5432 (start or install it if needed).
ensure_postgres() {
  local host=127.0.0.1 port=5432
  command -v pg_isready >/dev/null || apt_install postgresql postgresql-client
  pg_isready -q -h $host -p $port && return 0
  say "starting PostgreSQL"
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    local version; version="$(ls /etc/postgresql | sort -V | tail -1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || pg_ctlcluster "$version" main start 2>/dev/null || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h $host -p $port && break; sleep 0.5; done
  pg_isready -q -h $host -p $port || die "PostgreSQL does not answer on $host:$port — start it, or set REAUTO_TEST_PG_ADMIN_URL"
  # A freshly installed cluster only trusts local peers: let the tests in over loopback.
  if ! psql -h $host -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    local hba; hba="$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -1)"
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
    sleep 0.5
  fi
  psql -h $host -U postgres -d postgres -Atqc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || psql -h $host -U postgres -d postgres -qc 'create database test' >/dev/null
}

# ensure_redis : Redis answering on 127.0.0.1:6379 (start or install it if needed).
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  say "starting Redis"
  mkdir -p /tmp/reauto-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/reauto-redis --logfile /tmp/reauto-redis/redis.log >/dev/null
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "Redis does not answer on 127.0.0.1:6379 — start it, or set REAUTO_TEST_REDIS_URL"
}
