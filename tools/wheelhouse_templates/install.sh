#!/bin/sh
# Installs chi-lite from this folder, offline, into a new virtual environment (default: ./venv).
# Nothing is downloaded: pip reads only wheels/ and checks each wheel's SHA-256 against requirements.txt.
#   sh install.sh [NEW_VENV_DIR]        PYTHON=/path/to/python@PYTHON@ sh install.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-"$here/venv"}
want=@PYTHON@

if [ -n "${PYTHON:-}" ]; then
    python=$PYTHON
elif command -v "python$want" >/dev/null 2>&1; then
    python=python$want
else
    python=python3
fi
if ! have=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    echo "error: cannot run $python; install Python $want or set PYTHON=/path/to/python$want" >&2
    exit 2
fi
if [ "$have" != "$want" ]; then
    echo "error: this bundle is for Python $want but $python is Python $have; set PYTHON=/path/to/python$want" >&2
    exit 2
fi
if [ -e "$venv" ]; then
    echo "error: $venv already exists; remove it or name a new folder: sh install.sh /path/to/new-venv" >&2
    exit 2
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip --isolated install --quiet --disable-pip-version-check --no-index \
    --find-links "$here/wheels" --only-binary=:all: --require-hashes -r "$here/requirements.txt"
echo "chi-lite is installed. Run it with: $venv/bin/chi-lite --help"
