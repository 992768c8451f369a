#!/usr/bin/env bash
# The main job, end to end on a small demo catalogue: the composer-dev set of 62 piano pieces by 10 composers
# (../shared/data/composer-dev, rendered from MIDI to audio), as a SQLite catalogue, through every stage:
#   Export-MessMetadata | Get-MessAudio | ConvertTo-MessEmbedding | New-MessIndex; Invoke-MessEvaluation; Find-MessNeighbor
# Usage: examples/demo/run-demo.sh [WORK_DIR]   (default: ./demo-run; artifacts land in WORK_DIR/artifacts)
# Installs missing Debian packages (ffmpeg, fluidsynth, fluid-soundfont-gm) when run as root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-"$PWD/demo-run"}; mkdir -p "$work"; work=$(cd "$work" && pwd)
shared=${MESS_SHARED:-"$repo/../shared"}
src="$shared/data/composer-dev"

missing=()
for t in ffmpeg fluidsynth; do command -v $t >/dev/null 2>&1 || missing+=("$t"); done
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "demo: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "demo: missing ${missing[*]}: sudo apt-get install -y ffmpeg fluidsynth fluid-soundfont-gm" >&2; exit 2
  fi
fi
[ -x "$src/render.sh" ] || { echo "demo: the demo catalogue's sources are not at $src (set MESS_SHARED to the shared folder)" >&2; exit 2; }

# 1. Demo audio (rendered once, about a minute) and a SQLite catalogue of it.
if [ ! -s "$work/audio/tracks_metadata.csv" ]; then
  echo "demo: rendering the composer-dev set into $work/audio"
  "$src/render.sh" "$work/audio"
fi
python3 - "$work/audio/tracks_metadata.csv" "$work/catalog.sqlite" <<'PY'
import csv, sqlite3, sys, os
src, db = sys.argv[1], sys.argv[2]
if os.path.exists(db): os.remove(db)
c = sqlite3.connect(db)
c.execute("CREATE TABLE tracks (track_id TEXT PRIMARY KEY, album_id TEXT, track_no INTEGER, title TEXT, composer TEXT, audio_s3_key TEXT, duration_sec REAL)")
rows = [(r["track_id"], r["album_id"], int(r["track_no"]), r["title"], r["composer"], r["audio_path"], float(r["duration_sec"])) for r in csv.DictReader(open(src))]
c.executemany("INSERT INTO tracks VALUES (?,?,?,?,?,?,?)", rows); c.commit()
print(f"demo: {len(rows)} tracks in {db}")
PY

# 2. The module, staged as users get it.
dotnet publish "$repo/src/MessTools.Cmdlets" -c Release -v quiet -nologo >/dev/null
manifest=$(ls "$repo"/out/MessTools/*/MessTools.psd1 | head -n 1)

# 3. The pipeline, in pwsh when it is there, else in the PowerShell engine hosted by tools/MessHost.
cd "$work"
if command -v pwsh >/dev/null 2>&1; then
  pwsh -NoProfile -NonInteractive -File "$repo/examples/demo/demo-pipeline.ps1" -ModulePath "$manifest" -Catalog "$work/catalog.sqlite" -AudioRoot "$work/audio" -ArtifactPath "$work/artifacts/v1_model_builtin"
else
  dotnet run --project "$repo/tools/MessHost" -c Release -v quiet -- "$repo/examples/demo/demo-pipeline.ps1" -ModulePath "$manifest" -Catalog "$work/catalog.sqlite" -AudioRoot "$work/audio" -ArtifactPath "$work/artifacts/v1_model_builtin"
fi
