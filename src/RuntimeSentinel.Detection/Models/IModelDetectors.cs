using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// A detector of closed behaviour windows (<see cref="BehaviourSchema"/> vectors; <see cref="IDetector"/>): the PCA
/// behaviour model, a spike series, an imported ONNX model. Each kind is one file and one line in
/// <see cref="DetectorRegistry"/>; thresholds, calibration, shadow, memory charging and hot swap are the runtime's,
/// around this contract. <see cref="IDetector.Name"/> is how cards, thresholds, verdicts (<c>scope: detector</c>) and
/// alerts name it.
/// </summary>
internal interface IWindowDetector : IDetector
{
    /// <summary>What it holds in service, charged to the node's model budget.</summary>
    long MemoryBytes { get; }

    /// <summary>The alert category a finding led by this detector gets (<see cref="AlertCategories"/>).</summary>
    string Category { get; }

    IReadOnlyList<string> IDetector.Categories => [Category];

    /// <summary>The start of an alert's reason when this detector leads: what is unusual, with the score and threshold.</summary>
    string Describe(double score, double threshold);

    /// <summary>How unusual the window is, on the detector's own scale (compared with its threshold); NaN when it cannot say yet.</summary>
    /// <param name="bucket">The window's season slot.</param>
    double Score(ReadOnlySpan<float> window, long bucket);

    /// <summary>What made the window unusual: features with their observed and baseline values (unscaled) and share of the score.</summary>
    IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top);

    /// <summary>Learns from the window after it was scored, where the detector learns online (an alerting window teaches only up to the threshold).</summary>
    void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold);
}

/// <summary>
/// A detector of item streams scored as they grow (<see cref="IDetector"/>; the syscall sequence model: one stream per
/// process, keyed by <see cref="ProcessKey"/>). It keeps each stream's recent items itself, bounded and charged to the node's model budget
/// (<see cref="MemoryBytes"/>); thresholds, calibration, shadow and hot swap are the runtime's, as for windows.
/// </summary>
internal interface IStreamDetector : IDetector
{
    /// <summary>What its streams hold, charged to the node's model budget.</summary>
    long MemoryBytes { get; }

    /// <summary>The alert category of its findings (<see cref="AlertCategories"/>).</summary>
    string Category { get; }

    IReadOnlyList<string> IDetector.Categories => [Category];

    /// <summary>Adds an item to a stream; the stream's score once it holds enough items, NaN before (or when it cannot be kept).</summary>
    /// <param name="source">What produces the stream (an executable), for detectors with a model per source.</param>
    double Push(long stream, string? source, string item);

    /// <summary>True when the score opens an anomalous stretch of the stream (over the threshold after being normal): one alert per stretch.</summary>
    bool Opens(long stream, double score, double threshold);

    /// <summary>An alert's reason: what the stream's source did, with the score and threshold.</summary>
    string Describe(long stream, string? source, double score, double threshold);

    /// <summary>The stream's least likely recent items, beside the <paramref name="typical"/> score of held-back normal data.</summary>
    IReadOnlyList<FeatureContribution> Explain(long stream, int top, double typical);

    /// <summary>The stream ended (the process exited): its memory goes back.</summary>
    void End(long stream);

    /// <summary>Drops every stream and gives their memory back.</summary>
    void Clear();
}
