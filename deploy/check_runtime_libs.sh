#!/usr/bin/env bash
# Every shared library the image's binaries link comes from a package deploy/Dockerfile's
# runtime stage installs (or one debian:12-slim has). The image cannot be built here (no
# Docker engine), so this is how a new library dependency fails `make test` instead of a
# container at start-up.
#
#   deploy/check_runtime_libs.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$1/bin"
binaries=(client-gateway user-service order-manager risk-manager wallet-service reporting-service
          flowex-collector flowex)
# The runtime stage's apt-get line, and what debian:12-slim has of what we link.
installed=" libc6 libgcc-s1 libstdc++6 zlib1g $(sed -n '/^FROM debian:12-slim/,/rm -rf/p' "$here/Dockerfile" |
  grep -o -E '\blib[a-z0-9.+-]+' | tr '\n' ' ') "
cache="$(ldconfig -p)"
declare -A users  # library → the binaries that link it
for b in "${binaries[@]}"; do
  [[ -x "$bin/$b" ]] || { echo "FAIL: $bin/$b is not built" >&2; exit 1; }
  while read -r lib; do users[$lib]+=" $b"; done < <(readelf -d "$bin/$b" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
done
missing=()
declare -A path_of real_of
for lib in "${!users[@]}"; do
  path="$(awk -v l="$lib" '$1 == l && !found { print $NF; found = 1 }' <<<"$cache")"
  if [[ -z "$path" ]]; then missing+=("$lib (not found on this machine; linked by${users[$lib]})"); continue; fi
  path_of[$lib]="$path"
  real_of[$lib]="$(readlink -f "$path")"
done
# One dpkg -S for every path, as ldconfig names it and resolved (/lib is /usr/lib on Debian 12,
# and dpkg knows each file by one of the two): "package:arch: /path" lines.
declare -A pkg_of
while IFS= read -r line; do
  pkg_of[${line#*: }]="${line%%:*}"
done < <(dpkg -S "${path_of[@]}" "${real_of[@]}" 2>/dev/null || true)
for lib in "${!path_of[@]}"; do
  pkg="${pkg_of[${path_of[$lib]}]:-${pkg_of[${real_of[$lib]}]:-}}"
  [[ -n "$pkg" && "$installed" == *" $pkg "* ]] || missing+=("$lib (package ${pkg:-unknown}; linked by${users[$lib]})")
done
if (( ${#missing[@]} )); then
  printf 'FAIL: not installed by deploy/Dockerfile'"'"'s runtime stage: %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "ok: the ${#binaries[@]} binaries link only libraries the runtime image installs"
