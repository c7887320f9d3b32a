#!/bin/sh
# Downloads what the Dockerfile's pip steps install (Pipfile.lock's packages, checked by hash, and
# setuptools and wheel to build the project) into a folder, so that tests/deploy/test_docker.py can
# run those steps with no network. Uses a Python of the Dockerfile's version (FROM python:3.N-slim).
#   bash scripts/docker-wheelhouse.sh [FOLDER]        (default .wheelhouse; PYTHON=... to choose)
set -eu
cd "$(dirname "$0")/.."
dest=${1:-.wheelhouse}
version=$(sed -n 's/^FROM python:\([0-9]*\.[0-9]*\)-slim.*/\1/p' Dockerfile)
python=
for candidate in ${PYTHON:-} "$(command -v "python$version" || true)" \
    $(ls -d "$HOME"/.pyenv/versions/"$version"*/bin/"python$version" 2>/dev/null | sort -r); do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "docker-wheelhouse: no python$version found (set PYTHON=...)" >&2
  exit 1
fi
requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT
"$python" scripts/requirements_from_lock.py Pipfile.lock > "$requirements"
"$python" -m pip download -q --disable-pip-version-check --require-hashes -r "$requirements" -d "$dest"
"$python" -m pip download -q --disable-pip-version-check -d "$dest" setuptools wheel
echo "docker-wheelhouse: $(ls "$dest" | wc -l) files for Python $version in $dest"
