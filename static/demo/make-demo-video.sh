#!/usr/bin/env bash
# How the bundled demo video was made (run once; the output is committed, < 1 MB together).
# 60 s, 640x360 at 10 fps, a large running clock so any seek is obvious, a quiet beep track.
set -euo pipefail
cd "$(dirname "$0")"
FONT=$(fc-match -f '%{file}' 'DejaVu Sans:bold')
CLOCK="%{eif\:trunc(t/60)\:d\:2}\:%{eif\:mod(trunc(t)\,60)\:d\:2}"
VF="drawtext=fontfile=$FONT:text='AutoWebinar demo recording':fontcolor=white@0.85:fontsize=26:x=(w-tw)/2:y=40"
VF="$VF,drawtext=fontfile=$FONT:text='$CLOCK':fontcolor=white:fontsize=120:x=(w-tw)/2:y=(h-th)/2"
VIDEO="color=c=0x1d3557:s=640x360:r=10:d=60"
AUDIO="sine=frequency=440:beep_factor=4:duration=60"
ffmpeg -y -loglevel error -f lavfi -i "$VIDEO" -f lavfi -i "$AUDIO:sample_rate=22050" -vf "$VF" \
  -c:v libx264 -preset veryslow -crf 36 -pix_fmt yuv420p -g 50 \
  -c:a aac -b:a 24k -ac 1 -movflags +faststart -shortest demo.mp4
ffmpeg -y -loglevel error -f lavfi -i "$VIDEO" -f lavfi -i "$AUDIO:sample_rate=24000" -vf "$VF" \
  -c:v libvpx-vp9 -crf 45 -b:v 0 -deadline good -g 50 \
  -c:a libopus -b:a 16k -ac 1 -shortest demo.webm
