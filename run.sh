#!/usr/bin/env bash
# One entry point for a fresh machine:
#   bash run.sh demo   - set up, then run the offline demo of the whole grading pipeline
#   bash run.sh test   - set up, then run the test suite (pytest)
#   bash run.sh setup  - set up only (.venv with everything, Graphviz if it can be installed)
#   bash run.sh lab    - set up, then open the course notebooks in JupyterLab
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

setup() {
  if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing Graphviz (drawn computational graphs)"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null \
        || say "could not install Graphviz; graphs will be drawn with matplotlib instead"
    else
      say "Graphviz not found (install the 'graphviz' package for nicer graphs); using the matplotlib fallback"
    fi
  fi
  if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (the browser test drives it with Playwright)"
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || say "could not install chromium; the browser test will be skipped"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
    say "installing the course kit and its dependencies"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[instructor,test]"
    touch "$VENV/.installed"
  fi
  # Offline CIFAR-10: use the shared subset when it sits next to the checkout.
  if [ -z "${HWLIB_CIFAR10:-}" ] && [ -f "$ROOT/../shared/data/cifar-10-python-subset.tar.gz" ]; then
    export HWLIB_CIFAR10="$ROOT/../shared/data/cifar-10-python-subset.tar.gz"
  fi
  if [ -z "${HWLIB_CIFAR10:-}" ]; then
    say "HWLIB_CIFAR10 is not set: CIFAR-10 is downloaded on first use (163 MB); offline, run" \
        "'export HWLIB_CIFAR10=/path/to/cifar-10-python.tar.gz' first"
  fi
  # Offline MNIST: the shared copy of the official test set (hwlib splits it and says so).
  if [ -z "${HWLIB_MNIST:-}" ] && [ -f "$ROOT/../shared/data/mnist-t10k/t10k-images-idx3-ubyte.gz" ]; then
    export HWLIB_MNIST="$ROOT/../shared/data/mnist-t10k"
  fi
}

cmd=${1:-help}
shift || true
case "$cmd" in
  setup) setup ;;
  test)
    setup
    say "running the tests"
    export MPLBACKEND=Agg HWLIB_HEADLESS=1
    if [ "$#" -gt 0 ] && [ -n "$(printf '%s\n' "$@" | grep -v '^-')" ]; then
      exec "$VENV/bin/python" -m pytest -n 2 --dist loadfile "$@"   # the tests named on the command line
    fi
    # The whole suite, then the load test alone: it saturates every core on purpose,
    # so it neither slows nor is slowed by the other tests. Both runs share one folder
    # (the Gradescope zip's virtualenv is installed once), removed at the end.
    COURSE_TEST_SHARED_DIR=$(mktemp -d)
    export COURSE_TEST_SHARED_DIR
    trap 'rm -rf "$COURSE_TEST_SHARED_DIR"' EXIT
    "$VENV/bin/python" -m pytest -n 2 --dist loadfile --ignore=tests/test_load.py --durations=30 "$@"
    say "running the load test (scores idle vs. every core busy)"
    "$VENV/bin/python" -m pytest tests/test_load.py "$@"
    ;;
  demo)
    setup
    export MPLBACKEND=Agg
    exec "$VENV/bin/course" demo "$@"
    ;;
  lab)
    setup
    exec "$VENV/bin/jupyter" lab notebooks/ "$@"
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
