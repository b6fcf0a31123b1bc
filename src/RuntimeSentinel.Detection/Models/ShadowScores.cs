namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Scores the detectors gave on live data while a new model was in shadow (counted, not alerted), and the end of
/// shadow: a detector that would have alerted clearly more often than its share of the alert budget is recalibrated
/// on them.
/// </summary>
internal sealed class ShadowScores
{
    private const int MaxPerDetector = 50_000;

    private readonly Dictionary<string, List<double>> _scores = new(StringComparer.Ordinal);

    /// <summary>Bytes a recorded score costs (a double in a list that may have doubled).</summary>
    public const long ScoreBytes = 16;

    /// <summary>Records a score when <paramref name="charge"/> grants its memory; true when it was over the threshold.</summary>
    public bool Record(string detector, double score, double threshold, Func<long, bool> charge)
    {
        if (!_scores.TryGetValue(detector, out var list))
        {
            _scores[detector] = list = [];
        }

        if (list.Count < MaxPerDetector && charge(ScoreBytes))
        {
            list.Add(score);
        }

        return score > threshold;
    }

    public void Clear() => _scores.Clear();

    /// <summary>
    /// The model's thresholds after shadow: each detector whose recorded scores exceeded its threshold more than three
    /// times its budget (<paramref name="targetAlertsPerDay"/> shared by the detectors) gets the threshold that keeps
    /// it within it, never lower than before (nor, for spikes, than <paramref name="minSpikeZ"/>). Returns the
    /// detectors that moved; <paramref name="thresholds"/> then holds every detector's threshold.
    /// </summary>
    public List<string> Recalibrate(ModelCard card, TimeSpan shadowDuration, double targetAlertsPerDay, double minSpikeZ, out Dictionary<string, double> thresholds)
    {
        var moved = new List<string>();
        thresholds = new Dictionary<string, double>(card.Thresholds, StringComparer.Ordinal);
        var detectors = Math.Max(1, thresholds.Count);
        foreach (var (detector, scores) in _scores)
        {
            if (scores.Count < Calibration.MinScores || !thresholds.TryGetValue(detector, out var t))
            {
                continue;
            }

            var perDay = scores.Count / shadowDuration.TotalDays;
            var allowed = targetAlertsPerDay / detectors * shadowDuration.TotalDays;
            var exceeded = scores.Count(s => s > t);
            if (exceeded > Math.Max(1, 3 * allowed))
            {
                var floor = detector.StartsWith(WorkloadModel.SpikePrefix, StringComparison.Ordinal) ? minSpikeZ : 0;
                thresholds[detector] = Math.Max(floor, Math.Max(t, Calibration.Threshold(scores, Calibration.ExceedanceFor(targetAlertsPerDay, detectors, perDay))));
                moved.Add(detector);
            }
        }

        return moved;
    }
}
