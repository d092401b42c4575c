#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, checks the layout (headers, package files, no paths back into the
# source or build tree), then configures and builds tests/external against it (with the README's API example) and
# runs it. Usage: BUILD PREFIX SOURCE.
set -eu
build=$1 prefix=$2 src=$3
rm -rf "$prefix" "$prefix-app" "$prefix-readme.cpp"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/jetpinn/jetpinn.h include/jetpinn/model.h include/jetpinn/pde.h lib/cmake/jetpinn/jetpinnConfig.cmake \
         lib/cmake/jetpinn/jetpinnConfigVersion.cmake lib/cmake/jetpinn/jetpinnTargets.cmake bin/jetpinn; do
  [ -e "$prefix/$f" ] || { echo "external_project: the install lacks $f"; exit 1; }
done
root=$(cd "$src/../.." && pwd)
if grep -l -e "$root/" -e "$(cd "$build" && pwd)" "$prefix"/lib/cmake/jetpinn/*.cmake; then
  echo "external_project: the installed package refers back into the source or build tree (above)"
  exit 1
fi
# The README's API example is compiled too, so the documentation cannot drift from the API.
awk '/^## The library/ { f = 1 } f && /^```cpp/ { p = 1; next } p && /^```/ { exit } p' "$root/README.md" >"$prefix-readme.cpp"
[ -s "$prefix-readme.cpp" ] || { echo "external_project: no C++ example found in the README's library section"; exit 1; }
cmake -S "$src" -B "$prefix-app" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DREADME_EXAMPLE="$prefix-readme.cpp" >"$prefix-app.log" 2>&1 ||
  { cat "$prefix-app.log"; exit 1; }
cmake --build "$prefix-app" -j2 >>"$prefix-app.log" 2>&1 || { tail -40 "$prefix-app.log"; exit 1; }
"$prefix-app/jetpinn_external"
