#!/usr/bin/env bash
# Starts (or finds) the reference BuildKit through ../shared/tools/modern-buildkit.sh, after making
# sure a containerd it started earlier is still alive. The shared script starts containerd only
# when its socket file is absent, and dockerd answers `docker info` without its containerd, so an
# engine whose containerd was killed (a machine's process reaper, the OOM killer) stays half up:
# every `docker run` and `docker rmi` then fails with "connection refused". Here a socket that no
# containerd answers is removed and that engine's dockerd stopped, so the shared script starts both.
# Prints what the shared script prints (`export DOCKER_HOST=…`); progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${TSBUILD_SHARED:-$here/../../shared}
PREFIX=${PREFIX:-/opt/tsbuild-peers/docker-current}
RUN=/run/tsbuild-peers

if [ -S "$RUN/containerd.sock" ] && [ -x "$PREFIX/usr/bin/ctr" ] &&
  ! timeout 10 "$PREFIX/usr/bin/ctr" --address "$RUN/containerd.sock" version >/dev/null 2>&1; then
  echo "[reference-buildkit] no containerd answers on $RUN/containerd.sock: restarting the reference engine" >&2
  if [ -f "$RUN/dockerd.pid" ] && kill "$(cat "$RUN/dockerd.pid")" 2>/dev/null; then
    for _ in $(seq 1 60); do kill -0 "$(cat "$RUN/dockerd.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$RUN/containerd.sock" "$RUN/containerd.sock.ttrpc" "$RUN/dockerd.pid"
fi
# The engine the shared script starts inherits this working directory, and BuildKit runs git (ADD
# <git>) in it: from a directory deleted later (a clone removed after CI) every git source fails
# with "Unable to read current working directory". Start it from / instead.
shared=$(cd "$shared" && pwd)
cd /
if [ -f "$RUN/dockerd.pid" ] && cwd=$(readlink "/proc/$(cat "$RUN/dockerd.pid")/cwd" 2>/dev/null) && [[ $cwd == *" (deleted)" ]]; then
  echo "[reference-buildkit] the running engine's working directory $cwd is gone (ADD <git> fails on it): restarting its dockerd from /" >&2
  if kill "$(cat "$RUN/dockerd.pid")" 2>/dev/null; then
    for _ in $(seq 1 60); do kill -0 "$(cat "$RUN/dockerd.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$RUN/dockerd.pid"
fi
exec bash "$shared/tools/modern-buildkit.sh" "$@"
