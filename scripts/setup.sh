# Sourced by scripts/test.sh and scripts/demo.sh: a project virtualenv with Mimamori installed,
# and the system packages the project runs against. Re-running is cheap (a stamp skips pip).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "mimamori setup: $*" >&2; exit 1; }

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "Python 3.11 or newer is required (found $(python3 --version 2>&1))"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || die "could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)"
fi
stamp=.venv/.mimamori-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi

apt_install() {
  # apt_install PACKAGE...: install Debian packages, or explain how when we cannot.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
      || die "apt-get install $* failed"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
      || die "sudo apt-get install $* failed"
  else
    die "$* is missing: install it with 'sudo apt-get install -y $*' and run this again"
  fi
}

if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "mimamori setup: installing mosquitto" >&2
  apt_install mosquitto
fi

if ! command -v promtool >/dev/null; then
  echo "mimamori setup: installing prometheus (promtool checks the shipped alert rules)" >&2
  apt_install prometheus
fi

if [ ! -x /usr/bin/influxd ]; then
  echo "mimamori setup: installing influxdb (the InfluxDB store's tests run a real influxd)" >&2
  apt_install influxdb
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "mimamori setup: installing chromium (dashboard browser tests)" >&2
  apt_install chromium
fi
if [ ! -d /usr/share/fonts/opentype/ipafont-gothic ]; then
  echo "mimamori setup: installing a Japanese font (dashboard screenshots)" >&2
  apt_install fonts-ipafont-gothic
fi
