namespace RuntimeSentinel.Lab.Evaluation;

/// <summary>
/// Detection quality from scores of labelled samples (higher = more anomalous): ROC AUC with ties counted half,
/// detection rate at a false-positive budget, false-positive rate at a detection target, and the confusion at a
/// threshold. Rates are at the threshold a defender would actually set (the smallest score still flagged).
/// </summary>
public sealed class DetectionQuality
{
    private readonly double[] _normal;
    private readonly double[] _attack;

    public DetectionQuality(IEnumerable<double> normalScores, IEnumerable<double> attackScores)
    {
        _normal = normalScores.Order().ToArray();
        _attack = attackScores.Order().ToArray();
        if (_normal.Length == 0 || _attack.Length == 0)
        {
            throw new ArgumentException("need both normal and attack scores");
        }
    }

    public int Normal => _normal.Length;

    public int Attack => _attack.Length;

    /// <summary>Probability that a random attack scores above a random normal sample (ties count half).</summary>
    public double Auc()
    {
        double wins = 0;
        foreach (var a in _attack)
        {
            var below = LowerBound(_normal, a);
            var equal = UpperBound(_normal, a) - below;
            wins += below + (equal / 2.0);
        }

        return wins / ((double)_attack.Length * _normal.Length);
    }

    /// <summary>Share of attacks flagged when the threshold lets at most <paramref name="fpr"/> of normal samples through.</summary>
    public double DetectionRateAtFpr(double fpr)
    {
        // Flag scores strictly above the normal quantile so that at most fpr of normals are flagged.
        var allowed = (int)Math.Floor(fpr * _normal.Length);
        var threshold = _normal[_normal.Length - 1 - Math.Min(allowed, _normal.Length - 1)];
        return (_attack.Length - UpperBound(_attack, threshold)) / (double)_attack.Length;
    }

    /// <summary>Share of normal samples flagged when the threshold catches at least <paramref name="dr"/> of attacks.</summary>
    public double FprAtDetectionRate(double dr)
    {
        var needed = (int)Math.Ceiling(dr * _attack.Length);
        var threshold = _attack[_attack.Length - needed];
        return (_normal.Length - LowerBound(_normal, threshold)) / (double)_normal.Length;
    }

    /// <summary>Counts with "flagged" meaning score ≥ threshold.</summary>
    public (int TruePositive, int FalsePositive, int TrueNegative, int FalseNegative) ConfusionAt(double threshold)
    {
        var tp = _attack.Length - LowerBound(_attack, threshold);
        var fp = _normal.Length - LowerBound(_normal, threshold);
        return (tp, fp, _normal.Length - fp, _attack.Length - tp);
    }

    private static int LowerBound(double[] sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int UpperBound(double[] sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The standard figures, rounded, under the names the CLI's JSON output uses.</summary>
    public Dictionary<string, object> Summary() => new()
    {
        ["auc"] = Math.Round(Auc(), 4),
        ["fpr_at_90_dr"] = Math.Round(FprAtDetectionRate(0.90), 4),
        ["dr_at_1_fpr"] = Math.Round(DetectionRateAtFpr(0.01), 4),
        ["dr_at_5_fpr"] = Math.Round(DetectionRateAtFpr(0.05), 4),
        ["dr_at_10_fpr"] = Math.Round(DetectionRateAtFpr(0.10), 4),
        ["normal"] = Normal,
        ["attack"] = Attack,
    };

    /// <summary>The confusion matrix at a threshold, as a JSON-friendly map.</summary>
    public Dictionary<string, int> ConfusionMap(double threshold)
    {
        var (tp, fp, tn, fn) = ConfusionAt(threshold);
        return new Dictionary<string, int> { ["tp"] = tp, ["fp"] = fp, ["tn"] = tn, ["fn"] = fn };
    }
}
