using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Core.Alerts;

public enum Severity : byte
{
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>
/// Lifecycle of a workload's baseline and models: learning → shadow (the models score without alerting while their
/// calibrated thresholds are confirmed on live data; item novelty already alerts) → active → stale (a new image was
/// seen: the workload relearns, quietly, then goes through shadow again).
/// </summary>
public enum BaselinePhase : byte
{
    Learning,
    Active,
    Shadow,
    Stale,
}

/// <summary>Where the workload's baseline stood when the alert was raised, so an analyst can judge how much it knew.</summary>
public readonly record struct BaselineState(BaselinePhase Phase, TimeSpan Age, long EventsLearned, DateTimeOffset? ActiveSince);

/// <summary>
/// What the detector compared: the feature, the observed value and how often the baseline saw it. The item's
/// parts (<see cref="ItemA"/>, <see cref="ItemB"/>, <see cref="ItemN"/>) let a feedback verdict name it exactly.
/// </summary>
public readonly record struct Explanation(string Feature, string Observed, long LearnedCount, long LearnedTotal, string Reason, string? ItemA = null, string? ItemB = null, int ItemN = -1);

/// <summary>One detector's verdict on what an alert is about: its score against its calibrated threshold.</summary>
public readonly record struct DetectorScore(string Detector, double Score, double Threshold);

/// <summary>A feature behind a model alert: the observed value beside the baseline's typical one and its share of the anomaly.</summary>
public readonly record struct FeatureContribution(string Feature, double Observed, double Baseline, double Share);

/// <summary>A MITRE ATT&amp;CK technique an alert's category maps to.</summary>
public sealed record MitreTechnique(string Tactic, string TechniqueId, string Name);

/// <summary>An alert (schema <c>sentinel.alert/v1</c>, docs/alerts.md).</summary>
public sealed record Alert
{
    public required string Id { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required WorkloadKey Workload { get; init; }

    /// <summary>The sensor-reported identity of the evidence (pod, image, ...), for context the key drops.</summary>
    public required WorkloadRef Identity { get; init; }

    public string? Node { get; init; }

    public required string Detector { get; init; }

    public required string Category { get; init; }

    public required Severity Severity { get; init; }

    public required double Score { get; init; }

    public required double Threshold { get; init; }

    public required string Summary { get; init; }

    /// <summary>Settled when this alert is durable or never will be (see <see cref="AlertReceipt"/>); null: nobody waits.</summary>
    public AlertReceipt? Receipt { get; init; }

    public required Explanation Explanation { get; init; }

    public required BaselineState Baseline { get; init; }

    public required IReadOnlyList<RuntimeEvent> Evidence { get; init; }

    /// <summary>Stable dedup key: workload, detector, category and the observed item (no pod, node or time).</summary>
    public string Fingerprint { get; init; } = "";

    public MitreTechnique? Mitre { get; init; }

    /// <summary>Model alerts: every detector that exceeded its threshold on this behaviour (first = the one reported above).</summary>
    public IReadOnlyList<DetectorScore> Detectors { get; init; } = [];

    /// <summary>Model alerts: the features that contributed most, observed vs baseline.</summary>
    public IReadOnlyList<FeatureContribution> TopFeatures { get; init; } = [];

    /// <summary>Model alerts: the combined score, the largest score/threshold ratio of the detectors (above 1 alerts).</summary>
    public double? CombinedScore { get; init; }

    /// <summary>Version of the model that scored it, if a model did.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>
    /// The alert judges a behaviour window of the workload (behaviour and spike models), not one process: its evidence
    /// is examples from the window, so it correlates by time with the workload's incident rather than by process.
    /// </summary>
    public bool Windowed { get; init; }

    public const string SchemaId = "sentinel.alert/v1";
}

public static class SeverityNames
{
    private static readonly string[] Names = ["info", "low", "medium", "high", "critical"];

    public static string ToWire(this Severity s) => Names[(int)s];

    public static string ToWire(this BaselinePhase p) => p switch
    {
        BaselinePhase.Learning => "learning",
        BaselinePhase.Shadow => "shadow",
        BaselinePhase.Stale => "stale",
        _ => "active",
    };

    public static bool TryParse(string s, out Severity severity)
    {
        var i = Array.IndexOf(Names, s);
        severity = i >= 0 ? (Severity)i : Severity.Info;
        return i >= 0;
    }
}
