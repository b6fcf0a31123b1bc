using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection;

/// <summary>A point-in-time view of one workload's baseline.</summary>
public sealed record WorkloadSnapshot(
    WorkloadKey Key,
    BaselinePhase Phase,
    DateTimeOffset FirstSeen,
    DateTimeOffset? ActiveSince,
    long EventsLearned,
    long EventsScored,
    IReadOnlyDictionary<Feature, int> DistinctItems)
{
    public long AlertsRaised { get; init; }

    public DateTimeOffset LastSeen { get; init; }

    public string? ModelVersion { get; init; }

    /// <summary>Thresholds in force: the model's calibrated ones, or higher where an analyst's verdict raised them.</summary>
    public IReadOnlyDictionary<string, double>? ModelThresholds { get; init; }

    public long ModelWindowsScored { get; init; }

    /// <summary>Bytes the workload's models, learning data and process streams hold reserved from the node's budget.</summary>
    public long ModelMemoryBytes { get; init; }

    /// <summary>What the memory budget cut from the model in service (<see cref="Models.MemoryRefusal"/>), or null.</summary>
    public string? ModelServedWithout { get; init; }

    /// <summary>Drift of recent behaviour windows from the model's training windows; null when models are off.</summary>
    public Models.DriftSummary? Drift { get; init; }
}
