namespace RuntimeSentinel.Lab.Evaluation;

/// <summary>One scored sample of a labelled evaluation: higher scores are more anomalous.</summary>
public readonly record struct ScoredSample(double Score, bool Positive);

/// <summary>A point of a ROC curve: flagging every score ≥ <paramref name="Threshold"/> gives these rates.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>A point of a precision–recall curve: flagging every score ≥ <paramref name="Threshold"/>.</summary>
public readonly record struct PrPoint(double Threshold, double Recall, double Precision);

/// <summary>
/// ROC and precision–recall curves of scored, labelled samples. Samples with equal scores are one step of the
/// curve (a threshold cannot separate them), so ties move the ROC curve diagonally, which makes the trapezoid area
/// the Mann–Whitney probability with ties counted half (as <see cref="DetectionQuality.Auc"/>). NaN scores are left
/// out: a detector that could not score a sample said nothing about it.
/// </summary>
public static class ScoreCurves
{
    /// <summary>From (0, 0) at threshold +∞ down to (1, 1) at the lowest score; one point per distinct score.</summary>
    public static IReadOnlyList<RocPoint> Roc(IEnumerable<ScoredSample> samples)
    {
        var (steps, positives, negatives) = Steps(samples);
        var points = new List<RocPoint>(steps.Count + 1) { new(double.PositiveInfinity, 0, 0) };
        foreach (var (threshold, tp, fp) in steps)
        {
            points.Add(new RocPoint(threshold, negatives == 0 ? 0 : fp / (double)negatives, positives == 0 ? 0 : tp / (double)positives));
        }

        return points;
    }

    /// <summary>
    /// One point per distinct score, from the highest threshold down; recall rises, precision is the share of
    /// flagged samples that are positive. No point at recall 0 is invented (its precision is undefined).
    /// </summary>
    public static IReadOnlyList<PrPoint> PrecisionRecall(IEnumerable<ScoredSample> samples)
    {
        var (steps, positives, _) = Steps(samples);
        return steps.Select(s => new PrPoint(s.Threshold, positives == 0 ? 0 : s.TruePositives / (double)positives, s.TruePositives / (double)(s.TruePositives + s.FalsePositives))).ToList();
    }

    /// <summary>Area under a ROC curve by trapezoids (NaN when a class is missing: the curve means nothing then).</summary>
    public static double Auc(IReadOnlyList<RocPoint> roc)
    {
        if (roc.Count < 2 || roc[^1].FalsePositiveRate == 0 || roc[^1].TruePositiveRate == 0)
        {
            return double.NaN;
        }

        double area = 0;
        for (var i = 1; i < roc.Count; i++)
        {
            area += (roc[i].FalsePositiveRate - roc[i - 1].FalsePositiveRate) * (roc[i].TruePositiveRate + roc[i - 1].TruePositiveRate) / 2;
        }

        return area;
    }

    /// <summary>
    /// Average precision: Σ (R_k − R_{k−1}) · P_k over the curve's points, a step sum that does not interpolate
    /// (interpolating a PR curve linearly overstates it). NaN without positives.
    /// </summary>
    public static double AveragePrecision(IReadOnlyList<PrPoint> pr)
    {
        if (pr.Count == 0 || pr[^1].Recall == 0)
        {
            return double.NaN;
        }

        double ap = 0, recall = 0;
        foreach (var p in pr)
        {
            ap += (p.Recall - recall) * p.Precision;
            recall = p.Recall;
        }

        return ap;
    }

    /// <summary>Cumulative true and false positives at each distinct score, highest first.</summary>
    private static (List<(double Threshold, int TruePositives, int FalsePositives)> Steps, int Positives, int Negatives) Steps(IEnumerable<ScoredSample> samples)
    {
        var sorted = samples.Where(s => !double.IsNaN(s.Score)).OrderByDescending(s => s.Score).ToList();
        var positives = sorted.Count(s => s.Positive);
        var steps = new List<(double, int, int)>();
        int tp = 0, fp = 0;
        for (var i = 0; i < sorted.Count; i++)
        {
            if (sorted[i].Positive)
            {
                tp++;
            }
            else
            {
                fp++;
            }

            // A step ends where the score changes: equal scores are flagged together or not at all.
            if (i == sorted.Count - 1 || sorted[i + 1].Score != sorted[i].Score)
            {
                steps.Add((sorted[i].Score, tp, fp));
            }
        }

        return (steps, positives, sorted.Count - positives);
    }
}
