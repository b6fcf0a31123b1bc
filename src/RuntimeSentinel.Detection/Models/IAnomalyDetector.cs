using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// A model detector in service for one workload. <see cref="Name"/> is how cards, thresholds, verdicts
/// (<c>scope: detector</c>) and alerts name it; <see cref="MemoryBytes"/> is what it holds, charged to the node's
/// model budget. Training is <see cref="ModelTrainer"/>'s (PCA, sequences) or online (<see cref="IWindowDetector.Learn"/>).
/// </summary>
public interface IAnomalyDetector
{
    string Name { get; }

    long MemoryBytes { get; }
}

/// <summary>A detector of closed behaviour windows (<see cref="BehaviourSchema"/> vectors): the PCA behaviour model, a spike series.</summary>
public interface IWindowDetector : IAnomalyDetector
{
    /// <summary>How unusual the window is, on the detector's own scale (compared with its threshold); NaN when it cannot say yet.</summary>
    /// <param name="bucket">The window's season slot.</param>
    double Score(ReadOnlySpan<float> window, long bucket);

    /// <summary>What made the window unusual: features with their observed and baseline values (unscaled) and share of the score.</summary>
    IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top);

    /// <summary>Learns from the window after it was scored, where the detector learns online (an alerting window teaches only up to the threshold).</summary>
    void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold);
}

/// <summary>The behaviour model: a PCA residual of the whole window vector.</summary>
public sealed class BehaviourWindowDetector(PcaDetector pca) : IWindowDetector
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
public sealed class SpikeSeries(string feature, SpikeDetector spike) : IWindowDetector
{
    private readonly int _index = BehaviourSchema.Index(feature);

    public string Name { get; } = WorkloadModel.SpikePrefix + feature;

    /// <summary>Its histories: recent values and, with a season, every slot's (doubles).</summary>
    public long MemoryBytes => 8L * (120 + (spike.SeasonBuckets * 12)) + 256;

    public double Score(ReadOnlySpan<float> window, long bucket) => spike.Score(window[_index], bucket, out _);

    public IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top)
    {
        var z = spike.Score(window[_index], bucket, out var median);
        return double.IsNaN(z) ? [] : [new FeatureContribution(feature, BehaviourWindow.Unscale(_index, window[_index]), BehaviourWindow.Unscale(_index, median), 1)];
    }

    public void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold) =>
        spike.Update(window[_index], bucket, double.IsNaN(score) || score <= threshold ? double.PositiveInfinity : spike.ValueAt(threshold, bucket));
}
