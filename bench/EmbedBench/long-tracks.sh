#!/usr/bin/env bash
# Peak RSS of ConvertTo-MessEmbedding's pipeline for one 10-minute and one 60-minute track (issue 10, item 12; issue 21
# for builtin-2), builtin-1, builtin-2 and msd-musicnn-1. The tracks are made with ffmpeg by looping a source track (default: the first demo WAV).
# Goal: the 60-minute peak within 1.2x the 10-minute one.
#   bench/EmbedBench/long-tracks.sh [source.wav] [work dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-}
if [ -z "$src" ]; then for f in "${TMPDIR:-/tmp}"/messtools-demo/audio/audio/*/*/*.wav; do src=$f; break; done; fi
work=${2:-/tmp/messbench-long}
model=../shared/models/msd-musicnn-1.onnx
[ -n "$src" ] && [ -f "$src" ] || { echo "no source track: pass a WAV file" >&2; exit 2; }
mkdir -p "$work"
dotnet build bench/EmbedBench -c Release -v q >/dev/null
B=bench/EmbedBench/bin/Release/net10.0/EmbedBench
for sr in 22050 16000; do
  for d in 600 3600; do
    wav="$work/long-$d-$sr.wav"
    [ -f "$wav" ] || ffmpeg -nostdin -v error -y -stream_loop -1 -i "$src" -t $d -ac 1 -ar $sr -c:a pcm_f32le "$wav"
    printf 'track_id,album_id,composer,audio_path\nlong-%s,al,X,%s\n' $d "$(basename "$wav")" > "$work/t-$d-$sr.csv"
  done
done
for m in builtin builtin-2; do
  for d in 600 3600; do "$B" embed "$work/t-$d-22050.csv" $m | tail -1; done
done
if [ -f "$model" ]; then
  for d in 600 3600; do "$B" embed "$work/t-$d-16000.csv" "$model" examples/profiles/msd-musicnn-1.onnx.json | tail -1; done
else
  echo "skipped msd-musicnn-1: $model is absent"
fi
