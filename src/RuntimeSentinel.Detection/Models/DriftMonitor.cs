namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// One workload's drift against the model in service: a rolling histogram of its behaviour windows over the last
/// <see cref="DriftOptions.Window"/> of event time, kept in <see cref="DriftOptions.Slots"/> slices on the bins of the
/// card's <see cref="DriftReference"/>, and evaluated each time a slice closes: the PSI of every referenced feature,
/// the workload's drift (the largest), the most shifted features, and whether drift stayed above the threshold long
/// enough to suggest retraining. Slices are aligned on the epoch, so the same events give the same evaluations
/// whatever else the shard does. Fixed size (slices × bins counters), charged to the model budget by its runtime.
/// Owned by the workload's <see cref="ModelRuntime"/>, on the shard thread.
/// </summary>
internal sealed class DriftMonitor
{
    private readonly DriftReference _reference;
    private readonly DriftOptions _o;
    private readonly string _version;
    private readonly int[] _featureIndex; // each reference histogram's index in a window vector
    private readonly int[] _offset;       // its first bin in a slice's counters
    private readonly int _bins;           // bins of every feature together: one slice's counters
    private readonly int[] _counts;       // slices × bins
    private readonly int[] _windows;      // windows per slice
    private readonly int[] _sum;          // scratch: the window's counters summed over slices (one feature at a time)
    private readonly bool[] _freshOnly;   // counts only values unlike the previous window's (DriftReference.FreshOnly)
    private readonly double[] _last;      // each feature's value in the previous window
    private readonly long _slotTicks;
    private readonly int _slots;
    private long _slot = long.MinValue;   // the open slice's number on the epoch
    private int _above;
    private DateTimeOffset? _suggestedSince;

    /// <param name="reference">A usable reference (<see cref="DriftReference.Problem"/> is null).</param>
    public DriftMonitor(DriftReference reference, DriftOptions options, string version)
    {
        _reference = reference;
        _o = options;
        _version = version;
        _featureIndex = reference.Features.Select(h => BehaviourSchema.Index(h.Feature)).ToArray();
        _freshOnly = reference.Features.Select(h => DriftReference.FreshOnly(h.Feature)).ToArray();
        _last = Enumerable.Repeat(double.NaN, reference.Features.Length).ToArray();
        _offset = new int[reference.Features.Length];
        for (var f = 0; f < reference.Features.Length; f++)
        {
            _offset[f] = _bins;
            _bins += reference.Features[f].Proportions.Length;
        }

        _slots = options.Slots;
        _counts = new int[_slots * _bins];
        _windows = new int[_slots];
        _sum = new int[DriftReference.MaxEdges + 1];
        _slotTicks = Math.Max(1, options.SlotLength.Ticks);
        Summary = DriftSummary.NotKnown(version, $"not evaluated yet: drift is first evaluated when a {Minutes(options.SlotLength)} slice of event time closes", options.Threshold);
    }

    /// <summary>Bytes a monitor for this reference holds (its counters and scratch, with array headers and the object).</summary>
    public static long BytesFor(DriftReference reference, DriftOptions options)
    {
        var bins = reference.Features.Sum(h => (long)h.Proportions.Length);
        return 256 + (17L * reference.Features.Length) + (4 * options.Slots * bins) + (4L * options.Slots) + (4 * (DriftReference.MaxEdges + 1)) + (7 * 24);
    }

    /// <summary>The latest evaluation (or why there is none).</summary>
    public DriftSummary Summary { get; private set; }

    /// <summary>
    /// Counts a closed behaviour window (its end time on the workload's event clock). When the window belongs to a
    /// later slice than the open one, the rolling window up to the open slice's end is evaluated first; returns whether
    /// it was.
    /// </summary>
    public bool Add(ReadOnlySpan<float> vector, DateTimeOffset end)
    {
        var slot = end.UtcTicks / _slotTicks;
        var evaluated = false;
        if (_slot == long.MinValue)
        {
            _slot = slot;
        }
        else if (slot > _slot)
        {
            Evaluate(new DateTimeOffset((_slot + 1) * _slotTicks, TimeSpan.Zero));
            evaluated = true;

            // Slices passed over (an idle workload) are emptied; past a whole window, every slice is.
            for (var s = _slot + 1; s <= slot && s <= _slot + _slots; s++)
            {
                Clear((int)(s % _slots));
            }

            _slot = slot;
        }

        // A window never ends before the open slice (the clock does not go back); were it to, it counts in the open one.
        var at = (int)(_slot % _slots);
        _windows[at]++;
        var row = at * _bins;
        for (var f = 0; f < _featureIndex.Length; f++)
        {
            var v = DriftReference.Value(vector[_featureIndex[f]]);
            var copy = _freshOnly[f] && v == _last[f];
            _last[f] = v;
            if (!copy)
            {
                _counts[row + _offset[f] + _reference.Features[f].Bin(v)]++;
            }
        }

        return evaluated;
    }

    private void Clear(int slot)
    {
        _windows[slot] = 0;
        Array.Clear(_counts, slot * _bins, _bins);
    }

    private void Evaluate(DateTimeOffset at)
    {
        var total = _windows.Sum();
        if (total < _o.MinWindows)
        {
            // Too small a sample reads as drift (PSI's bias is about bins/windows): not an evaluation that counts.
            _above = 0;
            _suggestedSince = null;
            Summary = DriftSummary.NotKnown(_version, $"{total} behaviour windows in the last {Minutes(_o.Window)}; drift needs {_o.MinWindows}", _o.Threshold) with
            {
                Windows = total,
                EvaluatedAt = at,
            };
            return;
        }

        var drifts = new List<(FeatureDrift Drift, int Index)>(_featureIndex.Length);
        for (var f = 0; f < _featureIndex.Length; f++)
        {
            var expected = _reference.Features[f].Proportions;
            var sum = _sum.AsSpan(0, expected.Length);
            sum.Clear();
            for (var s = 0; s < _slots; s++)
            {
                var row = (s * _bins) + _offset[f];
                for (var b = 0; b < sum.Length; b++)
                {
                    sum[b] += _counts[row + b];
                }
            }

            var n = 0;
            foreach (var c in sum)
            {
                n += c;
            }

            if (n < _o.MinWindows)
            {
                continue; // a resource sampled too rarely in the window: too few fresh values to judge
            }

            // Two samples of one distribution differ by chance: PSI's expected value without any shift is about
            // (bins − 1)·(1/n + 1/m) for n recent and m training values (a χ² statistic divided by the sample size).
            // That bias is taken off, so "drift" means "more than chance", for a 30-minute learning period as for a day's.
            var bias = (expected.Length - 1) * ((1.0 / n) + (1.0 / _reference.Features[f].Windows));
            drifts.Add((new FeatureDrift(_reference.Features[f].Feature, Math.Max(0, PopulationStability.Index(expected, sum, n) - bias)), f));
        }

        if (drifts.Count == 0)
        {
            _above = 0;
            _suggestedSince = null;
            Summary = DriftSummary.NotKnown(_version, $"no feature had {_o.MinWindows} fresh values in the last {Minutes(_o.Window)}", _o.Threshold) with
            {
                Windows = total,
                EvaluatedAt = at,
            };
            return;
        }

        // Ties go to the schema's order, so the same windows always list the same features.
        var top = drifts.OrderByDescending(x => x.Drift.Psi).ThenBy(x => x.Index).Select(x => x.Drift).Take(_o.TopFeatures).ToArray();
        var psi = top[0].Psi;
        _above = psi >= _o.Threshold ? _above + 1 : 0;
        var suggested = _above >= _o.SustainedEvaluations;
        _suggestedSince = suggested ? _suggestedSince ?? at : null;
        Summary = new DriftSummary
        {
            ModelVersion = _version,
            Psi = psi,
            TopFeatures = top,
            Threshold = _o.Threshold,
            ConsecutiveAbove = _above,
            RetrainSuggested = suggested,
            RetrainSuggestedSince = _suggestedSince,
            Windows = total,
            EvaluatedAt = at,
        };
    }

    private static string Minutes(TimeSpan t) => t.TotalMinutes >= 1
        ? t.TotalMinutes.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " min"
        : t.TotalSeconds.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " s";
}
