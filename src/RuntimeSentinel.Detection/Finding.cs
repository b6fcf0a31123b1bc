using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection;

/// <summary>
/// A detector's candidate alert, whichever detector made it: who found it (<see cref="Detector"/>), what kind of alert
/// it is (<see cref="Category"/>, from <see cref="AlertCategories"/>), how surprising (<see cref="Score"/> against
/// <see cref="Threshold"/>, on the detector's own scale), why (<see cref="Reason"/>) and on what evidence.
/// A finding about one item of the workload's baseline (a new executable, a peer's volume; <see cref="OfItem"/>) names
/// its <see cref="Feature"/> and <see cref="Item"/> and how often the item was learned; one about a behaviour window or a
/// process's call stream (<see cref="OfModel"/>) lists every detector that fired with its score and the features that
/// made it stand out. <see cref="AlertFactory.Create"/> turns either into an alert.
/// </summary>
/// <remarks>
/// A struct: the baseline's detectors add them on the event path, where nothing may allocate unless it alerts.
/// </remarks>
public readonly record struct Finding
{
    private readonly string? _observed;
    private readonly IReadOnlyList<DetectorScore>? _detectors;
    private readonly IReadOnlyList<FeatureContribution>? _topFeatures;
    private readonly IReadOnlyList<RuntimeEvent>? _evidence;

    /// <summary>
    /// The detector's name as alerts carry it: <c>baseline</c> for an item the baseline never learned, <c>catalogue</c>
    /// for behaviour suspicious in any container, the sensor for its own rule, the model detector (<c>behaviour_pca</c>,
    /// <c>spike:cpu_cores</c>, <c>sequence</c>...) that led a model finding.
    /// </summary>
    public required string Detector { get; init; }

    /// <summary>The alert category (<see cref="AlertCategories"/>).</summary>
    public required string Category { get; init; }

    public Severity Severity { get; init; }

    public double Score { get; init; }

    public double Threshold { get; init; }

    /// <summary>Why it matters, in words an analyst reads (the alert's explanation).</summary>
    public required string Reason { get; init; }

    /// <summary>The baseline feature of the item the finding is about; null for a finding about a window or a stream.</summary>
    public Feature? Feature { get; init; }

    /// <summary>The item (an executable and its parent, a path, a peer and port); default without <see cref="Feature"/>.</summary>
    public FeatureKey Item { get; init; }

    /// <summary>How often the item was seen while learning, of <see cref="LearnedTotal"/> items.</summary>
    public long LearnedCount { get; init; }

    public long LearnedTotal { get; init; }

    /// <summary>The suspicious-catalogue entry that raised the item while the workload learned; null otherwise.</summary>
    public string? Catalogue { get; init; }

    /// <summary>What was observed, as alerts and fingerprints carry it: the item, or the detectors and the stream.</summary>
    public string Observed
    {
        get => _observed ?? Item.ToString();
        init => _observed = value;
    }

    /// <summary>Every detector that fired on the window or stream, with its score and threshold; empty for an item.</summary>
    public IReadOnlyList<DetectorScore> Detectors
    {
        get => _detectors ?? [];
        init => _detectors = value;
    }

    /// <summary>What made a window or stream unusual: features with observed and baseline values and their share.</summary>
    public IReadOnlyList<FeatureContribution> TopFeatures
    {
        get => _topFeatures ?? [];
        init => _topFeatures = value;
    }

    /// <summary>The events that made the window (or process run) stand out; empty means the triggering event.</summary>
    public IReadOnlyList<RuntimeEvent> Evidence
    {
        get => _evidence ?? [];
        init => _evidence = value;
    }

    /// <summary>
    /// What produced the stream of a stream detector's finding (a process's executable): its alerts fold into one
    /// incident per program rather than per window. Null for a finding about an item or a window.
    /// </summary>
    public string? Source { get; init; }

    /// <summary>The largest score/threshold ratio among the detectors that fired (above 1 alerts).</summary>
    public double Combined => Detectors.Count == 0 ? Score / Threshold : Detectors.Max(d => d.Score / d.Threshold);

    /// <summary>A finding about one item of the baseline: new, rare or over what was learned for it.</summary>
    /// <param name="catalogue">The suspicious-catalogue entry when the item is raised while the workload learns.</param>
    public static Finding OfItem(
        Feature feature, FeatureKey item, string category, Severity severity, double score, double threshold, long learnedCount, long learnedTotal, string reason, string? catalogue = null) => new()
        {
            // A sensor's own rule is the sensor's finding; the baseline only judged that it is new for the workload.
            Detector = catalogue is not null ? AlertFactory.CatalogueDetector : feature == Baseline.Feature.SensorRule ? item.B ?? AlertFactory.BaselineDetector : AlertFactory.BaselineDetector,
            Category = category,
            Severity = severity,
            Score = score,
            Threshold = threshold,
            Reason = reason,
            Feature = feature,
            Item = item,
            LearnedCount = learnedCount,
            LearnedTotal = learnedTotal,
            Catalogue = catalogue,
        };

    /// <summary>A finding of the model detectors about a closed behaviour window or a process's call stream.</summary>
    /// <param name="detector">The detector that led (the largest score/threshold ratio).</param>
    /// <param name="observed">What was judged: the detectors that fired, or the program and pid of the stream.</param>
    /// <param name="source">For a stream's finding, what produced the stream (<see cref="Source"/>); null for a window's.</param>
    public static Finding OfModel(
        string detector, string category, Severity severity, double score, double threshold, IReadOnlyList<DetectorScore> detectors, IReadOnlyList<FeatureContribution> topFeatures, string reason, string observed, string? source = null) => new()
        {
            Detector = detector,
            Category = category,
            Severity = severity,
            Score = score,
            Threshold = threshold,
            Reason = reason,
            Detectors = detectors,
            TopFeatures = topFeatures,
            Observed = observed,
            Source = source,
        };
}
