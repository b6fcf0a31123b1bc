using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Models;

/// <summary>Closing a behaviour window: scoring it with the detectors in service, recording scores for calibration and shadow.</summary>
public sealed partial class ModelRuntime
{
    private void CloseWindow(DateTimeOffset end, BaselinePhase phase, List<Finding> findings)
    {
        // Copied before Close clears them; only alerting windows need it, but a window is closed at most every 100 ms.
        var notable = _window.Notable.Count == 0 || Model is null || phase != BaselinePhase.Active ? [] : _window.Notable.ToArray();
        _window.Close(_vector, ref _lastCpu, ref _lastMemory);
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            _training.AddWindow(_vector, end);
            return;
        }

        if (Model is null)
        {
            return;
        }

        _drift.Observe(_vector, end);
        WindowsScored++;
        var maxRatio = _maxSequenceRatio;
        _maxSequenceRatio = 0;
        var scores = new List<DetectorScore>(2);
        var contributions = new List<FeatureContribution>();
        var bucket = WindowSchedule.Bucket(_o, end);
        foreach (var d in _detectors)
        {
            var s = d.Score(_vector, bucket);
            var t = ThresholdOf(d.Name);
            if (!double.IsNaN(s))
            {
                Record(d.Name, s, t, phase);
                var over = s / t;
                if (s > t)
                {
                    // A window that is unusual only for what is missing (a quiet spell, no connections) is a
                    // reliability question, not a security alert: it needs at least one main contributor above baseline.
                    var explained = d.Explain(_vector, bucket, _o.TopFeatures);
                    if (explained.Any(c => c.Share >= 0.1 && c.Observed > c.Baseline))
                    {
                        scores.Add(new DetectorScore(d.Name, s, t));

                        // Weighted by how far the detector is over its threshold, so the features of the detector
                        // furthest over lead the explanation.
                        contributions.AddRange(explained.Select(c => c with { Share = c.Share * s / t }));
                    }
                    else
                    {
                        DeficitWindows++;
                        over = Math.BitDecrement(1.0);
                    }
                }

                maxRatio = Math.Max(maxRatio, over);
            }

            // An alerting value enters a spike series' history only up to the alert level (see SpikeDetector).
            d.Learn(_vector, bucket, s, t);
        }

        LastScored = new ScoredWindow(end, maxRatio);
        var exceededBefore = _exceededRun;
        _exceededRun = scores.Count == 0 ? 0 : _exceededRun + 1;
        if (scores.Count == 0 || phase != BaselinePhase.Active)
        {
            return;
        }

        scores.Sort((a, b) => (b.Score / b.Threshold).CompareTo(a.Score / a.Threshold));
        var top = scores[0];
        var lead = Array.Find(_detectors, d => d.Name == top.Detector)!;

        // A window model judges rates and mixes, and one window is too little to judge those from: a count over 10 s
        // is noisy, and what happens once an hour (a kept-alive connection re-established, with its DNS search-list
        // lookups; a reload; a token re-read) fits in one window and is rarely in a short learning period, however far
        // over the threshold it lands. Anything new in that window is the novelty baseline's to report, at once. So a
        // model raises only on the ConfirmWindows-th window in a row; the run continues silently once raised
        // (cooldown is per incident).
        if (exceededBefore + 1 < _o.ConfirmWindows)
        {
            UnconfirmedWindows++;
            return;
        }
        // Shares: each feature's part of the window's excess over the thresholds, normalised over the listed features.
        var features = contributions.OrderByDescending(c => c.Share).DistinctBy(c => c.Feature).Take(_o.TopFeatures).ToList();
        var shareTotal = features.Sum(c => c.Share);
        if (shareTotal > 0)
        {
            features = features.Select(c => c with { Share = c.Share / shareTotal }).ToList();
        }
        var ratio = top.Score / top.Threshold;
        // Evidence: what the anomaly is made of (an example event of each top feature: the largest transfer, the
        // process behind most of a burst), then the window's new items.
        var examples = features.Select(f => BehaviourSchema.Index(f.Feature)).Where(i => i >= 0).Select(_window.ClosedExample).OfType<RuntimeEvent>().ToList();
        if (examples.Count > 0)
        {
            notable = [.. examples.Concat(notable).Distinct().Take(4)];
        }

        findings.Add(Finding.OfModel(
            top.Detector,
            lead.Category,
            ratio >= 3 || scores.Count >= 3 ? Severity.High : Severity.Medium,
            top.Score,
            top.Threshold,
            scores,
            features,
            $"{lead.Describe(top.Score, top.Threshold)}; top features: {string.Join(", ", features.Select(f => $"{f.Feature} {f.Observed:0.##} (baseline {f.Baseline:0.##})"))}",
            string.Join(",", scores.Select(s => s.Detector)))
            with
        {
            Evidence = notable,
        });
    }

    private void Record(string detector, double score, double threshold, BaselinePhase phase)
    {
        if (phase != BaselinePhase.Shadow)
        {
            return;
        }

        if (_shadow.Record(detector, score, threshold, _chargeShadow))
        {
            ShadowExceedances++;
        }
    }
}
