using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>One spike series (<see cref="BehaviourSchema.Series"/>): a robust z-score of one window feature against its recent (or seasonal) history.</summary>
internal sealed class SpikeSeries(string feature, SpikeDetector spike) : IWindowDetector
{
    /// <summary>The registry name of the family (each series is named <c>spike:&lt;feature&gt;</c>).</summary>
    public const string Kind = "spike";

    private readonly int _index = BehaviourSchema.Index(feature);

    public string Name { get; } = WorkloadModel.SpikePrefix + feature;

    public string Category => feature is "cpu_cores" or "memory_mib" ? AlertCategories.ResourceSpike : AlertCategories.RateSpike;

    /// <summary>
    /// The registry's factory: every series, each seeded with the model's training history. A card without any spike
    /// history or threshold (an imported model) has no series: nothing would calibrate them, so they could never alert.
    /// </summary>
    public static IEnumerable<IWindowDetector> Create(ModelDetectorContext context)
    {
        var card = context.Model.Card;
        if (card.SpikeHistory.Count == 0 && !card.Thresholds.Keys.Any(k => k.StartsWith(WorkloadModel.SpikePrefix, StringComparison.Ordinal)))
        {
            return [];
        }

        return BehaviourSchema.Series.Select(s => new SpikeSeries(s.Feature, Seeded(s.Feature, s.MinScale, card, context.Options))).ToArray();
    }

    /// <summary>An empty series' detector as configured: 120 recent windows and, with a season, 12 per slot of 24.</summary>
    public static SpikeDetector NewDetector(ModelOptions o, double minScale) =>
        new(history: 120, seasonBuckets: o.SeasonPeriod > TimeSpan.Zero ? 24 : 0, perBucket: 12, minScale: minScale, windowsPerSlot: WindowSchedule.WindowsPerSlot(o));

    private static SpikeDetector Seeded(string feature, double minScale, ModelCard card, ModelOptions o)
    {
        var d = NewDetector(o, minScale);
        if (card.SpikeHistory.TryGetValue(feature, out var history))
        {
            foreach (var v in history)
            {
                // No times: the model's history seeds the recent baseline, never a season's slot.
                d.Update(v, -1);
            }
        }

        return d;
    }

    /// <summary>Its histories: recent values and, with a season, every slot's (a value and its season each).</summary>
    public long MemoryBytes => 8L * (120 + (spike.SeasonBuckets * 12 * 2)) + 256;

    public string Describe(double score, double threshold) => $"{feature} spiked (robust z {score:0.#} > calibrated {threshold:0.#})";

    public double Score(ReadOnlySpan<float> window, long bucket) => spike.Score(window[_index], bucket, out _);

    public IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top)
    {
        var z = spike.Score(window[_index], bucket, out var median);
        return double.IsNaN(z) ? [] : [new FeatureContribution(feature, BehaviourWindow.Unscale(_index, window[_index]), BehaviourWindow.Unscale(_index, median), 1)];
    }

    public void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold) =>
        spike.Update(window[_index], bucket, double.IsNaN(score) || score <= threshold ? double.PositiveInfinity : spike.ValueAt(threshold, bucket));
}
