namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// What the training windows looked like, feature by feature, for measuring drift later: per feature, quantile bins
/// of its training values (<see cref="FeatureHistogram"/>). Stored in the model card (<c>drift_reference</c>), so
/// its size is bounded: at most 32 edges per feature, one histogram per behaviour feature. A card written before drift
/// was recorded has none, and its workload's drift is unknown.
/// </summary>
public sealed record DriftReference
{
    /// <summary>Quantile bins of the training values (deciles), before ties merge some of them.</summary>
    public const int Quantiles = 10;

    /// <summary>Most edges a feature may have in a card (a bigger one is refused: drift unknown).</summary>
    public const int MaxEdges = 32;

    /// <summary>Fewest training windows a reference is built from: a decile of fewer than two windows means nothing.</summary>
    public const int MinWindows = 2 * Quantiles;

    // Not `required`: a reference with parts missing is read (and found unusable by Problem, drift unknown) rather
    // than making the whole card unreadable and its model refused.

    /// <summary>Training windows the histograms were built from.</summary>
    public int Windows { get; init; }

    public FeatureHistogram[] Features { get; init; } = [];

    /// <summary>
    /// Whether a feature gets a histogram. The three <c>new_*_ratio</c> features do not: while a workload learns, its
    /// novelty baseline learns with it, so the training windows count first sightings that later windows, judged
    /// against the finished baseline, no longer have. Their "drift" would be there by construction in every healthy
    /// workload; what is new after training is the novelty baseline's to alert on.
    /// </summary>
    public static bool Tracks(string feature) => !feature.StartsWith("new_", StringComparison.Ordinal);

    /// <summary>
    /// Whether only a window's fresh values of the feature count: <c>cpu_cores</c> and <c>memory_mib</c> carry the last
    /// sample forward through windows without one, so with samples rarer than windows one sample fills several windows
    /// in a row. Counting each copy would make a handful of samples look like many windows, and chance like drift; a
    /// value equal to the previous window's (bit for bit) is a copy, not an observation.
    /// </summary>
    public static bool FreshOnly(string feature) => feature is "cpu_cores" or "memory_mib";

    /// <summary>Histograms of the training vectors (in <see cref="BehaviourSchema"/> order); null with too few windows.</summary>
    public static DriftReference? Build(IReadOnlyList<float[]> vectors)
    {
        if (vectors.Count < MinWindows)
        {
            return null;
        }

        var features = new List<FeatureHistogram>();
        var values = new List<double>(vectors.Count);
        for (var f = 0; f < BehaviourSchema.Features.Length; f++)
        {
            var name = BehaviourSchema.Features[f];
            if (!Tracks(name))
            {
                continue;
            }

            values.Clear();
            var fresh = FreshOnly(name);
            for (var i = 0; i < vectors.Count; i++)
            {
                // A value that is not a number (none is expected) counts as 0 here and in the monitor alike.
                var v = Value(vectors[i][f]);
                if (!fresh || i == 0 || v != Value(vectors[i - 1][f]))
                {
                    values.Add(v);
                }
            }

            // A resource sampled too rarely to give enough fresh values gets no histogram (its drift is not measured).
            if (values.Count >= MinWindows)
            {
                features.Add(FeatureHistogram.Of(name, values));
            }
        }

        return new DriftReference { Windows = vectors.Count, Features = [.. features] };
    }

    /// <summary>A vector's value as drift counts it (a value that is not a number as 0).</summary>
    internal static double Value(float v) => float.IsFinite(v) ? v : 0;

    /// <summary>
    /// What makes this reference unusable, or null. A card is input from a shared folder or a checkpoint like any
    /// other: a broken reference makes the workload's drift unknown, never a crash or a wrong number.
    /// </summary>
    public string? Problem()
    {
        if (Windows < 1)
        {
            return $"it was built from {Windows} windows";
        }

        if (Features?.Any(h => h is not null && (h.Windows < 1 || h.Windows > Windows)) == true)
        {
            return $"a feature was built from fewer than 1 or more than the reference's {Windows} windows";
        }

        if (Features is null || Features.Length is 0 || Features.Length > BehaviourSchema.Features.Length)
        {
            return $"it has {Features?.Length ?? 0} features (1 to {BehaviourSchema.Features.Length} expected)";
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var h in Features)
        {
            if (h?.Feature is null || BehaviourSchema.Index(h.Feature) < 0 || !seen.Add(h.Feature))
            {
                return $"feature '{h?.Feature}' is not a behaviour feature, or is listed twice";
            }

            if (h.Problem() is { } problem)
            {
                return $"{h.Feature}: {problem}";
            }
        }

        return null;
    }
}

/// <summary>
/// One feature's training distribution as bins: bin i holds values v with Edges[i−1] &lt; v ≤ Edges[i] (the first
/// bin everything up to Edges[0], the last everything above the last edge), and Proportions[i] is the share of windows
/// expected in it. The edges are the training deciles plus two guards: just below the smallest training value and at
/// the largest, so values below or above everything seen in training fall in bins of their own. Ties merge deciles: a
/// feature that was always 0 has the bins "below 0", "0" and "above 0". Of n training windows, a new window from the
/// same distribution falls below all of them with probability 1/(n+1), and above all of them likewise: the two outer
/// bins get that share, the others their share of training windows times (n−1)/(n+1). (A share of 0 would make one
/// window outside the training range, in a short learning period, look like a shift.)
/// </summary>
/// <param name="Windows">Training values the histogram was built from: every window's, or only fresh ones (<see cref="DriftReference.FreshOnly"/>).</param>
public sealed record FeatureHistogram(string Feature, int Windows, double[] Edges, double[] Proportions)
{
    /// <summary>The bin of a value: how many edges lie below it.</summary>
    public int Bin(double value)
    {
        // Edges are few (at most 32) and sorted: a binary search for the first edge at or above the value.
        int lo = 0, hi = Edges.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (Edges[mid] < value)
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

    internal static FeatureHistogram Of(string feature, IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        var edges = new List<double> { Math.BitDecrement(sorted[0]) };
        for (var k = 1; k < DriftReference.Quantiles; k++)
        {
            // The k-th decile: the smallest training value with at least k tenths of the values at or below it.
            Add(edges, sorted[((k * n) + DriftReference.Quantiles - 1) / DriftReference.Quantiles - 1]);
        }

        Add(edges, sorted[^1]);
        var histogram = new FeatureHistogram(feature, n, [.. edges], new double[edges.Count + 1]);
        var counts = new int[edges.Count + 1];
        foreach (var v in values)
        {
            counts[histogram.Bin(v)]++;
        }

        for (var i = 0; i < counts.Length; i++)
        {
            // Six decimals keep the card short and are far finer than ten bins need.
            var share = i == 0 || i == counts.Length - 1 ? 1.0 / (n + 1) : counts[i] / (double)n * (n - 1) / (n + 1);
            histogram.Proportions[i] = Math.Round(share, 6);
        }

        return histogram;
    }

    private static void Add(List<double> edges, double edge)
    {
        if (edge > edges[^1])
        {
            edges.Add(edge);
        }
    }

    internal string? Problem()
    {
        if (Edges is null || Edges.Length is 0 || Edges.Length > DriftReference.MaxEdges)
        {
            return $"{Edges?.Length ?? 0} edges (1 to {DriftReference.MaxEdges} expected)";
        }

        for (var i = 0; i < Edges.Length; i++)
        {
            if (!double.IsFinite(Edges[i]) || (i > 0 && Edges[i] <= Edges[i - 1]))
            {
                return "edges are not finite and strictly increasing";
            }
        }

        if (Proportions is null || Proportions.Length != Edges.Length + 1)
        {
            return $"{Proportions?.Length ?? 0} proportions for {Edges.Length} edges (one more than the edges expected)";
        }

        var sum = 0.0;
        foreach (var p in Proportions)
        {
            if (!(p >= 0 && p <= 1))
            {
                return "a proportion is not between 0 and 1";
            }

            sum += p;
        }

        return Math.Abs(sum - 1) > 1e-3 ? $"proportions sum to {sum}, not 1" : null;
    }
}
