namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The thresholds a workload's model detectors alert at: the model's calibrated ones, raised by analysts' verdicts
/// (at most one raise per detector). Raises outlive model swaps and relearning: a verdict was about this workload's
/// behaviour, and verdicts are replayed from the feedback topic on restart.
/// </summary>
internal sealed class ThresholdsInForce(double maxRaise)
{
    /// <summary>A detector's threshold after an analyst's verdict: this far above the score they marked as fine.</summary>
    public const double FeedbackMargin = 1.05;

    private readonly Dictionary<string, double> _raised = new(StringComparer.Ordinal);

    /// <summary>
    /// Raises the detector's threshold to <see cref="FeedbackMargin"/> times the score, so the same behaviour stops
    /// alerting and clearly stronger behaviour still does. False for a name that is not a model detector or a score
    /// that is not positive.
    /// </summary>
    public bool Raise(string detector, double score)
    {
        if (!WorkloadModel.IsDetector(detector) || !(score > 0) || double.IsInfinity(score))
        {
            return false;
        }

        _raised[detector] = Math.Max(_raised.GetValueOrDefault(detector), score * FeedbackMargin);
        return true;
    }

    /// <summary>The threshold in force: the model's calibrated one, or an analyst's raised one if higher.</summary>
    public double Of(string detector, WorkloadModel? model)
    {
        var t = model?.ThresholdOf(detector) ?? double.PositiveInfinity;
        if (_raised.Count == 0 || !_raised.TryGetValue(detector, out var raised) || !(raised > t))
        {
            return t;
        }

        // Capped against the threshold in force, whatever model that is: a verdict may quieten a detector for the
        // behaviour it saw, never switch it off (a "score: 1e300" verdict).
        return Math.Min(raised, t * maxRaise);
    }
}
