namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Derives a detector's threshold from its scores on held-back normal data so that it fires at a chosen rate
/// (e.g. one alert per workload per day), instead of a magic constant. The wanted exceedance probability
/// p = allowed alerts / scoring opportunities is usually smaller than 1/n for n held-back scores, so the tail is
/// extrapolated: scores above the 90th percentile u are modelled as exponential (peaks over threshold, the
/// approach of SPOT by Siffer et al., KDD 2017, with a Gumbel-domain tail), giving u + β·ln(P(X&gt;u)/p), where β
/// is the mean excess. The result never falls below the largest held-back score when p &lt; 1/n.
/// </summary>
internal static class Calibration
{
    /// <summary>Minimum held-back scores before a calibrated threshold is trusted.</summary>
    public const int MinScores = 20;

    public static double Threshold(IReadOnlyList<double> heldBack, double exceedanceProbability)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(exceedanceProbability);
        var sorted = heldBack.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length < MinScores)
        {
            throw new ArgumentException($"{sorted.Length} held-back scores; at least {MinScores} are needed", nameof(heldBack));
        }

        var n = sorted.Length;
        if (exceedanceProbability >= 1.0 / n)
        {
            // Inside the data: the empirical quantile.
            var index = Math.Clamp((int)Math.Ceiling((1 - exceedanceProbability) * n) - 1, 0, n - 1);
            return sorted[index];
        }

        var uIndex = (int)Math.Floor(0.9 * n);
        var u = sorted[uIndex];
        var excess = sorted.Skip(uIndex + 1).Select(s => s - u).ToArray();
        var beta = excess.Length == 0 ? 0 : excess.Average();
        var pu = (n - uIndex - 1) / (double)n;
        if (beta <= 0 || pu <= 0)
        {
            // A flat tail: the baseline never exceeded u, so anything above the maximum is already unprecedented.
            return sorted[^1] + Math.Max(1e-6, Math.Abs(sorted[^1]) * 0.05);
        }

        return Math.Max(sorted[^1], u + (beta * Math.Log(pu / exceedanceProbability)));
    }

    /// <summary>
    /// Exceedance probability for one detector: the workload's alert budget per day split over detectors,
    /// divided by how often the detector scores per day.
    /// </summary>
    public static double ExceedanceFor(double alertsPerDay, int detectors, double opportunitiesPerDay) =>
        Math.Clamp(alertsPerDay / Math.Max(1, detectors) / Math.Max(1, opportunitiesPerDay), 1e-9, 0.5);
}
