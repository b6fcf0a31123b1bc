namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Streaming spike detector for one per-workload series (exec rate, connections, bytes out, error ratio, CPU,
/// memory): a robust z-score of each new value against the median and MAD of recent values. With a season
/// (e.g. 24 h of 10 s windows, in <see cref="SeasonBuckets"/> slots) the baseline is the same slot of past seasons,
/// so a nightly batch job is compared with last night, not with the afternoon, but only once that slot holds values
/// from <see cref="MinSeasons"/> past seasons: one or two past nights would make a single unusual night the norm, and
/// the current pass through a slot is what is being judged, not its baseline. Each pass keeps a few values spread
/// over the slot, so the slot's history spans seasons instead of being the last minutes of one. Values judged
/// anomalous enter the history clipped to the alert level, so an attack cannot teach itself in quickly, while a
/// lasting level shift is still absorbed over time. Fixed memory per series.
/// </summary>
internal sealed class SpikeDetector
{
    /// <summary>Past seasons a slot needs before it is the baseline (below: the recent history is).</summary>
    public const int MinSeasons = 3;

    private readonly double[] _recent;
    private readonly double[][]? _seasonal;
    private readonly long[][]? _seasonOf;
    private readonly int[] _seasonalCount;
    private readonly double[] _scratch;
    private readonly long _windowsPerSlot;
    private readonly long _stride;
    private readonly long _perPass;
    private int _recentCount;
    private int _recentNext;

    /// <param name="history">Recent values kept for the global baseline.</param>
    /// <param name="seasonBuckets">Slots per season (0: no seasonality).</param>
    /// <param name="perBucket">Past values kept per slot (over at least <see cref="MinSeasons"/> seasons).</param>
    /// <param name="minScale">Smallest spread assumed, in the series' unit, so a flat series does not turn noise into infinite z.</param>
    /// <param name="windowsPerSlot">Windows in one slot: a window index (the <c>bucket</c> of Score and Update) tells slot, season and place in the slot.</param>
    public SpikeDetector(int history = 120, int seasonBuckets = 0, int perBucket = 12, double minScale = 1, long windowsPerSlot = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(history, 5);
        _recent = new double[history];
        _scratch = new double[Math.Max(history, perBucket)];
        SeasonBuckets = seasonBuckets;
        MinScale = minScale;
        _windowsPerSlot = Math.Max(1, windowsPerSlot);

        // A pass through a slot keeps perBucket / MinSeasons values, evenly spread over it.
        _perPass = Math.Max(1, perBucket / MinSeasons);
        _stride = Math.Max(1, _windowsPerSlot / _perPass);
        _seasonalCount = new int[Math.Max(seasonBuckets, 0)];
        if (seasonBuckets > 0)
        {
            _seasonal = new double[seasonBuckets][];
            _seasonOf = new long[seasonBuckets][];
            for (var i = 0; i < seasonBuckets; i++)
            {
                _seasonal[i] = new double[perBucket];
                _seasonOf[i] = new long[perBucket];
            }
        }
    }

    public int SeasonBuckets { get; }

    public double MinScale { get; }

    /// <summary>Values seen (global history, capped at its size).</summary>
    public int Count => _recentCount;

    /// <summary>Robust z-score of <paramref name="value"/> in window <paramref name="bucket"/> (negative: no time); NaN until 5 values are known.</summary>
    public double Score(double value, long bucket, out double median)
    {
        if (!Location(bucket, out median, out var scale))
        {
            return double.NaN;
        }

        return (value - median) / scale;
    }

    /// <summary>Adds <paramref name="value"/> to the history; if it alerted, only up to the level that alerts (<paramref name="cap"/>).</summary>
    /// <param name="bucket">The window's index (negative: a value without a time, e.g. a model's seeded history: recent only).</param>
    public void Update(double value, long bucket, double cap = double.PositiveInfinity)
    {
        var v = Math.Min(value, cap);
        _recent[_recentNext] = v;
        _recentNext = (_recentNext + 1) % _recent.Length;
        _recentCount = Math.Min(_recentCount + 1, _recent.Length);
        var place = bucket % _windowsPerSlot;
        if (_seasonal is not null && bucket >= 0 && place % _stride == 0 && place / _stride < _perPass)
        {
            var b = Slot(bucket);
            var i = _seasonalCount[b] % _seasonal[b].Length;
            _seasonal[b][i] = v;
            _seasonOf![b][i] = Season(bucket);
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

        if (values != _scratch)
        {
            values.AsSpan(0, n).CopyTo(_scratch);
        }

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
        if (_seasonal is not null && bucket >= 0)
        {
            // The slot's values from earlier seasons, when they span enough of them.
            var b = Slot(bucket);
            var season = Season(bucket);
            var kept = Math.Min(_seasonalCount[b], _seasonal[b].Length);
            var seasons = _seasonOf![b];
            var n = 0;
            var distinct = 0;
            for (var i = 0; i < kept; i++)
            {
                if (seasons[i] >= season)
                {
                    continue;
                }

                _scratch[n++] = _seasonal[b][i];
                if (seasons.AsSpan(0, i).IndexOf(seasons[i]) < 0)
                {
                    distinct++;
                }
            }

            if (n >= 5 && distinct >= MinSeasons)
            {
                return (_scratch, n);
            }
        }

        return (_recent, _recentCount);
    }

    private int Slot(long bucket) => (int)(bucket / _windowsPerSlot % SeasonBuckets);

    private long Season(long bucket) => bucket / _windowsPerSlot / SeasonBuckets;

    private static double Median(Span<double> s)
    {
        s.Sort();
        var m = s.Length / 2;
        return s.Length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
