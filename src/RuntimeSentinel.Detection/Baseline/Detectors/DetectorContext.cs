using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// What a workload's detectors share, passed with every event: the event's context (time, normalised path, peer), the
/// host's phase facts, the analyst's accepted features, the alert cooldowns, and what observing the event changed.
/// One per baseline, refilled by the host for each event (no allocation).
/// </summary>
internal sealed class DetectorContext(DetectionOptions options, Models.ModelMemoryBudget? memory)
{
    public DetectionOptions Options { get; } = options;

    /// <summary>The node's memory budget, from which every learned item reserves its bytes (null: unbounded).</summary>
    public Models.ModelMemoryBudget? Memory { get; } = memory;

    /// <summary>Last alert time per item, shared by every detector that raises per item.</summary>
    public AlertCooldowns Cooldowns { get; } = new(options);

    /// <summary>Per feature, until when an analyst's verdict accepts every new item silently.</summary>
    public DateTimeOffset[] AcceptedUntil { get; } = new DateTimeOffset[Enum.GetValues<Feature>().Length];

    public DateTimeOffset Now;

    public string? Path;

    public string? Peer;

    /// <summary>When the current learning period began.</summary>
    public DateTimeOffset LearningSince;

    /// <summary>A CronJob's or Job's workload: it learns across runs (pods).</summary>
    public bool RunBased;

    /// <summary>How the event's container appeared in an active workload (an ephemeral one matches more of the catalogue).</summary>
    public AddedContainer Added;

    /// <summary>A container is starting (<see cref="WorkloadBaseline.WarmingUp"/>), as of scoring.</summary>
    public bool WarmingUp;

    /// <summary>The workload adapts to a rollout (<see cref="WorkloadBaseline.IsAdapting"/>), as of scoring.</summary>
    public bool Adapting;

    /// <summary>Whether the event's main item was known before it (set by the novelty detector).</summary>
    public bool LastEventKnown;

    /// <summary>Largest score-minus-threshold of the event, NaN when nothing was scored.</summary>
    public double ScoreMargin = double.NaN;

    /// <summary>Items learned or refused by the event.</summary>
    public BaselineChanges Changes;

    public bool Accepts(Feature feature) => Now < AcceptedUntil[(int)feature];
}
