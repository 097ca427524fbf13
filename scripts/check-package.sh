#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack` (the prepack step builds the
# linux-x64 N-API prebuild), then a fresh project installs the tarball and must
#   - not compile the addon (the prebuild is used: no cmake in the install log),
#   - type-check against the shipped .d.ts files with skipLibCheck: false,
#   - load the addon and run a voxelize job.
# Needs the npm registry for the package's dependencies. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/tcbm-consumer-XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { printf '[check-package] %s\n' "$*"; }

say "npm pack (builds the prebuild)"
tarball=$(npm pack --pack-destination "$work" 2>"$work/pack.log" | tail -1)
tar -tzf "$work/$tarball" > "$work/contents.txt"
grep -q '^package/prebuilds/linux-x64/tcbackmap.node$' "$work/contents.txt" || { say "FAIL: no prebuilds/linux-x64/tcbackmap.node in $tarball"; exit 1; }
grep -q '^package/dist/binding.d.ts$' "$work/contents.txt" || { say "FAIL: dist/binding.d.ts is not in $tarball"; exit 1; }
say "$tarball: $(wc -l < "$work/contents.txt") files, $(du -h "$work/$tarball" | cut -f1)"

mkdir "$work/consumer"
cd "$work/consumer"
cat > package.json <<'JSON'
{ "name": "tcbm-consumer", "version": "1.0.0", "private": true }
JSON
say "npm install of the tarball in a fresh project"
npm install --no-audit --no-fund --foreground-scripts "$work/$tarball" typescript@^6 @types/node@^20 > install.log 2>&1 || { cat install.log; exit 1; }
if grep -qiE 'cmake|Building CXX|compiling it with cmake-js' install.log; then
  say "FAIL: the install compiled the addon:"; grep -iE 'cmake|compil' install.log | head; exit 1
fi
say "installed without compiling ($(grep -c . install.log) log lines)"

cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "skipLibCheck": false, "module": "commonjs", "target": "es2022", "esModuleInterop": true, "types": ["node"], "outDir": "out" } }
JSON
cat > index.ts <<'TS'
import { voxelize, info, Backmapper, type Metrics, type Preset } from 'tcbackmap';
const preset: Preset | undefined = undefined;
const metrics: Metrics | undefined = undefined;
async function main(): Promise<void> {
  const v = await voxelize({ data: Float32Array.of(0, 0, 0), shape: [1, 1, 3] }, { size: 8, width: 1.6, sigma: 0.2 });
  console.log(JSON.stringify({ voxels: v.shape, torch: info().torchVersion, loaded: typeof Backmapper.load, preset, metrics }));
}
main().catch((e) => { console.error(e); process.exit(1); });
TS
say "tsc with skipLibCheck: false"
npx tsc -p tsconfig.json
node out/index.js
say "ok"
