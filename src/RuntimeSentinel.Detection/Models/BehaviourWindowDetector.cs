using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>The behaviour model: a PCA residual of the whole window vector.</summary>
internal sealed class BehaviourWindowDetector(PcaDetector pca) : IWindowDetector
{
    public string Name => WorkloadModel.BehaviourDetector;

    public long MemoryBytes => PcaDetector.EstimatedBytes;

    public string Category => AlertCategories.BehaviourAnomaly;

    /// <summary>The registry's factory: one detector when the model has a trained behaviour part, none otherwise.</summary>
    public static IEnumerable<IWindowDetector> Create(ModelDetectorContext context) =>
        context.Model.Behaviour is { } pca ? [new BehaviourWindowDetector(pca)] : [];

    public string Describe(double score, double threshold) =>
        $"behaviour window unlike the baseline (PCA residual {score:0.###} > calibrated {threshold:0.###})";

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
