using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// A model detector in service for one workload. <see cref="Name"/> is how cards, thresholds, verdicts
/// (<c>scope: detector</c>) and alerts name it; <see cref="MemoryBytes"/> is what it holds, charged to the node's
/// model budget. Training is <see cref="ModelTrainer"/>'s (PCA, sequences) or online (<see cref="IWindowDetector.Learn"/>);
/// the trained artefacts (<see cref="PcaDetector"/>, <see cref="SequenceModel"/>) are served through these contracts.
/// </summary>
internal interface IAnomalyDetector
{
    string Name { get; }

    long MemoryBytes { get; }
}

/// <summary>A detector of closed behaviour windows (<see cref="BehaviourSchema"/> vectors): the PCA behaviour model, a spike series.</summary>
internal interface IWindowDetector : IAnomalyDetector
{
    /// <summary>How unusual the window is, on the detector's own scale (compared with its threshold); NaN when it cannot say yet.</summary>
    /// <param name="bucket">The window's season slot.</param>
    double Score(ReadOnlySpan<float> window, long bucket);

    /// <summary>What made the window unusual: features with their observed and baseline values (unscaled) and share of the score.</summary>
    IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top);

    /// <summary>Learns from the window after it was scored, where the detector learns online (an alerting window teaches only up to the threshold).</summary>
    void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold);
}

/// <summary>
/// A detector of item streams scored as they grow (the syscall sequence model: one stream per process). It keeps each
/// stream's recent items itself, bounded and charged to the node's model budget (<see cref="IAnomalyDetector.MemoryBytes"/>).
/// </summary>
internal interface IStreamDetector : IAnomalyDetector
{
    /// <summary>Adds an item to a stream; the stream's score once it holds enough items, NaN before (or when it cannot be kept).</summary>
    /// <param name="source">What produces the stream (an executable), for detectors with a model per source.</param>
    double Push(int stream, string? source, string item);

    /// <summary>True when the score opens an anomalous stretch of the stream (over the threshold after being normal): one alert per stretch.</summary>
    bool Opens(int stream, double score, double threshold);

    /// <summary>The stream's least likely recent items, beside the <paramref name="typical"/> score of held-back normal data.</summary>
    IReadOnlyList<FeatureContribution> Explain(int stream, int top, double typical);

    /// <summary>The stream ended (the process exited): its memory goes back.</summary>
    void End(int stream);

    /// <summary>Drops every stream and gives their memory back.</summary>
    void Clear();
}

/// <summary>The behaviour model: a PCA residual of the whole window vector.</summary>
internal sealed class BehaviourWindowDetector(PcaDetector pca) : IWindowDetector
{
    public string Name => WorkloadModel.BehaviourDetector;

    public long MemoryBytes => PcaDetector.EstimatedBytes;

    public double Score(ReadOnlySpan<float> window, long bucket) => pca.Score(window);

    public IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top) =>
        pca.Explain(window, top).Select(c =>
        {
            var i = BehaviourSchema.Index(c.Feature);
            return c with { Observed = BehaviourWindow.Unscale(i, c.Observed), Baseline = BehaviourWindow.Unscale(i, c.Baseline) };
        }).ToList();

    public void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold)
    {
        // Trained once when learning ends; it does not learn online.
    }
}

/// <summary>One spike series (<see cref="BehaviourSchema.Series"/>): a robust z-score of one window feature against its recent (or seasonal) history.</summary>
internal sealed class SpikeSeries(string feature, SpikeDetector spike) : IWindowDetector
{
    private readonly int _index = BehaviourSchema.Index(feature);

    public string Name { get; } = WorkloadModel.SpikePrefix + feature;

    /// <summary>An empty series' detector as configured: 120 recent windows and, with a season, 12 per slot of 24.</summary>
    public static SpikeDetector NewDetector(ModelOptions o, double minScale) =>
        new(history: 120, seasonBuckets: o.SeasonPeriod > TimeSpan.Zero ? 24 : 0, perBucket: 12, minScale: minScale, windowsPerSlot: WindowSchedule.WindowsPerSlot(o));

    /// <summary>Its histories: recent values and, with a season, every slot's (a value and its season each).</summary>
    public long MemoryBytes => 8L * (120 + (spike.SeasonBuckets * 12 * 2)) + 256;

    public double Score(ReadOnlySpan<float> window, long bucket) => spike.Score(window[_index], bucket, out _);

    public IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top)
    {
        var z = spike.Score(window[_index], bucket, out var median);
        return double.IsNaN(z) ? [] : [new FeatureContribution(feature, BehaviourWindow.Unscale(_index, window[_index]), BehaviourWindow.Unscale(_index, median), 1)];
    }

    public void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold) =>
        spike.Update(window[_index], bucket, double.IsNaN(score) || score <= threshold ? double.PositiveInfinity : spike.ValueAt(threshold, bucket));
}
