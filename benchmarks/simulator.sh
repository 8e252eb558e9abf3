#!/usr/bin/env bash
# The public simulator under load: gunicorn with 2 sync workers on 127.0.0.1, and wrk
# (Debian package `wrk`) with 16 connections for 10 seconds, POSTing a 36-month loan.
# The throttle is lifted for the run (SIMULATION_THROTTLE); everything stays on loopback.
#
#   bash benchmarks/simulator.sh            # PORT=8799 DURATION=10s CONNECTIONS=16 WORKERS=2
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8799}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
WORKERS="${WORKERS:-2}"
BIN=.venv/bin

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -x "$BIN/gunicorn" ] || make install >/dev/null

export DEBUG=0 SECRET_KEY=benchmark-only ALLOWED_HOSTS=127.0.0.1 SIMULATION_THROTTLE=100000000/min
# Plain HTTP on the loopback: no redirect to HTTPS (production sits behind TLS).
export SECURE_SSL_REDIRECT=0
# The simulator sends no task: no broker, eager mode asked for explicitly (DEBUG is off).
export CELERY_TASK_ALWAYS_EAGER=1
export DATABASE_URL="sqlite:///$(mktemp -d)/bench.sqlite3" LOG_LEVEL=WARNING
"$BIN/gunicorn" config.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  --worker-class sync --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT

for _ in $(seq 1 50); do
  curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"principal": 1000000, "tenor_months": 3}' "http://127.0.0.1:$PORT/api/v1/simulations/" && break
  sleep 0.2
done
# Warm both workers, then measure.
wrk -t2 -c"$CONNECTIONS" -d2s -s benchmarks/simulator.lua "http://127.0.0.1:$PORT/api/v1/simulations/" >/dev/null
echo "gunicorn $WORKERS sync workers; wrk $CONNECTIONS connections, $DURATION; POST a 36-month annuity"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benchmarks/simulator.lua \
  "http://127.0.0.1:$PORT/api/v1/simulations/"
