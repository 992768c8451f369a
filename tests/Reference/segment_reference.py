#!/usr/bin/python3
"""Reference boundary hit rates for Split-MessAudio, from mir_eval (Debian python3-mir-eval 0.7).

tests/Unit/Splitting/BoundaryMetricsTests.cs writes cases as JSON (argv[1]): a list of objects with
  reference, estimated   interior boundaries in seconds
  duration               the recording's length (the intervals run 0 .. duration)
  window                 the hit window in seconds
and compares every figure with BoundaryMetrics.Detection. Output (stdout): a JSON list of [precision, recall, f].
"""
import json
import sys

import numpy as np
import mir_eval


def intervals(bounds, duration):
    b = [0.0] + sorted(bounds) + [duration]
    return np.array([[b[i], b[i + 1]] for i in range(len(b) - 1)])


out = []
for case in json.load(open(sys.argv[1])):
    ref = intervals(case["reference"], case["duration"])
    est = intervals(case["estimated"], case["duration"])
    p, r, f = mir_eval.segment.detection(ref, est, window=case["window"], trim=True)
    out.append([float(p), float(r), float(f)])
print(json.dumps(out))
