namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Streaming spike detector for one per-workload series (exec rate, connections, bytes out, error ratio, CPU,
/// memory): a robust z-score of each new value against the median and MAD of recent values. With a season
/// (e.g. 24 h of 10 s windows, in <see cref="SeasonBuckets"/> slots) the baseline is the same slot of past seasons
/// once that slot has enough history, so a nightly batch job is compared with last night, not with the afternoon.
/// Values judged anomalous enter the history clipped to the alert level, so an attack cannot teach itself in
/// quickly, while a lasting level shift is still absorbed over time. Fixed memory per series.
/// </summary>
internal sealed class SpikeDetector
{
    private readonly double[] _recent;
    private readonly double[][]? _seasonal;
    private readonly int[] _seasonalCount;
    private readonly double[] _scratch;
    private int _recentCount;
    private int _recentNext;

    /// <param name="history">Recent values kept for the global baseline.</param>
    /// <param name="seasonBuckets">Slots per season (0: no seasonality).</param>
    /// <param name="perBucket">Past values kept per slot.</param>
    /// <param name="minScale">Smallest spread assumed, in the series' unit, so a flat series does not turn noise into infinite z.</param>
    public SpikeDetector(int history = 120, int seasonBuckets = 0, int perBucket = 8, double minScale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(history, 5);
        _recent = new double[history];
        _scratch = new double[Math.Max(history, perBucket)];
        SeasonBuckets = seasonBuckets;
        MinScale = minScale;
        _seasonalCount = new int[Math.Max(seasonBuckets, 0)];
        if (seasonBuckets > 0)
        {
            _seasonal = new double[seasonBuckets][];
            for (var i = 0; i < seasonBuckets; i++)
            {
                _seasonal[i] = new double[perBucket];
            }
        }
    }

    public int SeasonBuckets { get; }

    public double MinScale { get; }

    /// <summary>Values seen (global history, capped at its size).</summary>
    public int Count => _recentCount;

    /// <summary>Robust z-score of <paramref name="value"/> at season slot <paramref name="bucket"/>; NaN until 5 values are known.</summary>
    public double Score(double value, long bucket, out double median)
    {
        if (!Location(bucket, out median, out var scale))
        {
            return double.NaN;
        }

        return (value - median) / scale;
    }

    /// <summary>Adds <paramref name="value"/> to the history; if it alerted, only up to the level that alerts (<paramref name="cap"/>).</summary>
    public void Update(double value, long bucket, double cap = double.PositiveInfinity)
    {
        var v = Math.Min(value, cap);
        _recent[_recentNext] = v;
        _recentNext = (_recentNext + 1) % _recent.Length;
        _recentCount = Math.Min(_recentCount + 1, _recent.Length);
        if (_seasonal is not null)
        {
            var b = Slot(bucket);
            var slot = _seasonal[b];
            slot[_seasonalCount[b] % slot.Length] = v;
            _seasonalCount[b]++;
        }
    }

    /// <summary>The value that would score exactly <paramref name="z"/> now (for clipping updates and for explanations).</summary>
    public double ValueAt(double z, long bucket) =>
        Location(bucket, out var median, out var scale) ? median + (z * scale) : double.PositiveInfinity;

    /// <summary>Median and robust scale of the baseline for a slot; false until it holds 5 values.</summary>
    private bool Location(long bucket, out double median, out double scale)
    {
        var (values, n) = Baseline(bucket);
        if (n < 5)
        {
            median = scale = double.NaN;
            return false;
        }

        values.AsSpan(0, n).CopyTo(_scratch);
        var s = _scratch.AsSpan(0, n);
        median = Median(s);
        for (var i = 0; i < s.Length; i++)
        {
            s[i] = Math.Abs(s[i] - median);
        }

        scale = Math.Max(1.4826 * Median(s), Math.Max(MinScale, 0.1 * Math.Abs(median)));
        return true;
    }

    private (double[] Values, int Count) Baseline(long bucket)
    {
        if (_seasonal is not null)
        {
            var b = Slot(bucket);
            var n = Math.Min(_seasonalCount[b], _seasonal[b].Length);
            if (n >= 5)
            {
                return (_seasonal[b], n);
            }
        }

        return (_recent, _recentCount);
    }

    private int Slot(long bucket) => (int)(((bucket % SeasonBuckets) + SeasonBuckets) % SeasonBuckets);

    private static double Median(Span<double> s)
    {
        s.Sort();
        var m = s.Length / 2;
        return s.Length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
