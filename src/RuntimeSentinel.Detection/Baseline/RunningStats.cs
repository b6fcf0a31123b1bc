namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Welford's online mean and variance: numerically stable, O(1) memory.</summary>
internal struct RunningStats
{
    private double _m2;

    public long Count { get; private set; }

    public double Mean { get; private set; }

    public readonly double StdDev => Count > 1 ? Math.Sqrt(_m2 / (Count - 1)) : 0;

    /// <summary>The sum of squared deviations (for checkpoints).</summary>
    public readonly double M2 => _m2;

    /// <summary>Statistics restored from a checkpoint.</summary>
    public static RunningStats From(long count, double mean, double m2) => new() { Count = count, Mean = mean, _m2 = m2 };

    public void Add(double x)
    {
        Count++;
        var delta = x - Mean;
        Mean += delta / Count;
        _m2 += delta * (x - Mean);
    }
}
