#!/usr/bin/env bash
# The main job, end to end on a small demo catalogue: the composer-dev set of 62 piano pieces by 10 composers
# (../shared/data/composer-dev, rendered from MIDI to audio), as a SQLite catalogue, through every stage in real pwsh:
#   Export-MessMetadata | Get-MessAudio | ConvertTo-MessEmbedding | New-MessIndex; Invoke-MessEvaluation; Find-MessNeighbor
# Usage: examples/demo/run-demo.sh [WORK_DIR]
#   WORK_DIR defaults to $MESS_DEMO_DIR, else ${TMPDIR:-/tmp}/messtools-demo (never inside the repository); artifacts land
#   in WORK_DIR/artifacts/v1_model_builtin. A re-run reuses the rendered audio and every stage's artifacts.
# Installs missing Debian packages (ffmpeg, fluidsynth, fluid-soundfont-gm) when run as root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-${MESS_DEMO_DIR:-"${TMPDIR:-/tmp}/messtools-demo"}}; mkdir -p "$work"; work=$(cd "$work" && pwd)
shared=${MESS_SHARED:-"$repo/../shared"}
src="$shared/data/composer-dev"
start=$SECONDS
say() { printf 'demo [%4ds] %s\n' "$((SECONDS - start))" "$*"; }

missing=()
for t in ffmpeg fluidsynth; do command -v $t >/dev/null 2>&1 || missing+=("$t"); done
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "demo: missing ${missing[*]}: sudo apt-get install -y ffmpeg fluidsynth fluid-soundfont-gm" >&2; exit 2
  fi
fi
[ -x "$src/render.sh" ] || { echo "demo: the demo catalogue's sources are not at $src (set MESS_SHARED to the shared folder)" >&2; exit 2; }

# 1. Demo audio (rendered once, about a minute on 2 cores) and a SQLite catalogue of it.
if [ ! -s "$work/audio/tracks_metadata.csv" ]; then
  total=$(($(wc -l < "$src/sources.csv") - 1))
  say "rendering the $total composer-dev pieces into $work/audio (about a minute, once)"
  "$src/render.sh" "$work/audio" > "$work/render.log" 2>&1 &
  render=$!
  while kill -0 "$render" 2>/dev/null; do
    sleep 10
    kill -0 "$render" 2>/dev/null || break
    done_wavs=$(find "$work/audio/audio" -name '*.wav' 2>/dev/null | wc -l)
    if [ "$done_wavs" -lt "$total" ]; then say "  $done_wavs of $total rendered"; else say "  $total of $total rendered; encoding the mp3/m4a copies"; fi
  done
  wait "$render" || { cat "$work/render.log" >&2; exit 1; }
else
  say "reusing the rendered audio in $work/audio"
fi
python3 - "$work/audio/tracks_metadata.csv" "$work/catalog.sqlite" <<'PY'
import csv, sqlite3, sys, os
src, db = sys.argv[1], sys.argv[2]
if os.path.exists(db): os.remove(db)
c = sqlite3.connect(db)
c.execute("CREATE TABLE tracks (track_id TEXT PRIMARY KEY, album_id TEXT, track_no INTEGER, title TEXT, composer TEXT, audio_s3_key TEXT, duration_sec REAL)")
rows = [(r["track_id"], r["album_id"], int(r["track_no"]), r["title"], r["composer"], r["audio_path"], float(r["duration_sec"])) for r in csv.DictReader(open(src))]
c.executemany("INSERT INTO tracks VALUES (?,?,?,?,?,?,?)", rows); c.commit()
print(f"demo: {len(rows)} tracks in the SQLite catalogue {db}")
PY

# 2. pwsh 7.6.9 (the repository's tool manifest) and the module, staged as users get it.
cd "$repo"
say "restoring pwsh 7.6.9 and building the module (about a minute the first time)"
dotnet tool restore >/dev/null
dotnet publish src/MessTools.Cmdlets -c Release -v quiet -nologo | grep -E 'staged|error' || true
manifest=$(ls "$repo"/out/MessTools/*/MessTools.psd1 | head -n 1)

# 3. The pipeline in real pwsh.
say "running the pipeline in pwsh"
dotnet pwsh -NoProfile -NonInteractive -WorkingDirectory "$work" -File "$repo/examples/demo/demo-pipeline.ps1" \
  -ModulePath "$manifest" -Catalog "$work/catalog.sqlite" -AudioRoot "$work/audio" -ArtifactPath "$work/artifacts/v1_model_builtin"

art="$work/artifacts/v1_model_builtin"
say "done. What next:"
cat <<NEXT
  - open the evaluation report:  $art/eval/report.html
  - and the embedding analysis:  $art/analysis/analysis.html
  - explore the neighbours in a browser (the HTTP API and its page, with a map of the space):
      dotnet run --project $repo/src/MessTools.Server -c Release -- --artifact-path $art --urls http://127.0.0.1:8080
      then open http://127.0.0.1:8080/   (Ctrl+C stops it; docs/server.md has the routes)
  - ask your own questions in pwsh (from $repo: 'dotnet pwsh' comes from the repository's tool manifest, so it works
    inside the repository; elsewhere use an installed pwsh 7.4 or later):
      cd $repo
      dotnet pwsh -NoProfile
      Import-Module $manifest
      \$env:MESS_ARTIFACT_PATH = '$art'
      Find-MessNeighbor -TrackId pmd-chopin-chpn-op27-1 -K 5 -ExcludeSameAlbum
      Get-Help Find-MessNeighbor -Examples
  - re-run this script: every stage reuses its artifacts (seconds instead of minutes)
NEXT
