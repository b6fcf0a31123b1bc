using System.ComponentModel.DataAnnotations;

namespace RuntimeSentinel.Detection.Models;

/// <summary>Settings of the model detectors (config section <c>Detection:Models</c>).</summary>
public sealed class ModelOptions
{
    /// <summary>
    /// Consecutive windows a behaviour or spike detector must exceed its threshold before it alerts, however far over
    /// (one window is too little to judge a rate from). 1 alerts on every exceeding window.
    /// </summary>
    public int ConfirmWindows { get; set; } = 2;

    /// <summary>An analyst's verdict raises a detector's threshold to at most this multiple of the calibrated one.</summary>
    public double MaxThresholdRaise { get; set; } = 10;

    /// <summary>Train and run the behaviour, sequence and spike models (the novelty baseline runs regardless).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Length of one behaviour window.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Principal components kept by the behaviour model (capped by the data).</summary>
    [Range(1, 32)]
    public int PcaRank { get; set; } = 4;

    /// <summary>Windows needed before a behaviour model is trained; fewer and only the other detectors run.</summary>
    [Range(10, 100_000)]
    public int MinWindows { get; set; } = 30;

    /// <summary>N-gram order of the online syscall-sequence model.</summary>
    [Range(2, 6)]
    public int SequenceOrder { get; set; } = 4;

    /// <summary>Calls per scored sequence window (mean surprise over the last N calls of a process).</summary>
    [Range(4, 256)]
    public int SequenceWindow { get; set; } = 16;

    /// <summary>Share of learning data held back (the latest part of each series) to calibrate thresholds.</summary>
    [Range(0.05, 0.5)]
    public double HeldBackFraction { get; set; } = 0.25;

    /// <summary>After learning, models score without alerting for this long while the threshold is confirmed.</summary>
    public TimeSpan ShadowDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Spike detectors also compare with the same time slot of past seasons of this length (zero: off).</summary>
    public TimeSpan SeasonPeriod { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Lowest robust z-score a spike threshold may be calibrated to.</summary>
    [Range(1, 100)]
    public double MinSpikeZ { get; set; } = 4;

    /// <summary>Processes whose syscall stream is tracked at once per workload.</summary>
    [Range(1, 100_000)]
    public int MaxProcesses { get; set; } = 1024;

    /// <summary>Syscalls kept per learning workload for training the sequence model (4 bytes each, plus list slack).</summary>
    [Range(1000, 10_000_000)]
    public int MaxTrainingCalls { get; set; } = 100_000;

    /// <summary>
    /// Memory all workloads' models may hold together on this node: trained tables, learning data and process
    /// streams. When it is spent, learning data stops being collected, then big sequence tables are left out of
    /// new models (counted in <c>sentinel_model_memory_refusals_total</c>). Size it well under the pod's memory limit.
    /// </summary>
    [Range(8, 1_048_576)]
    public int MemoryBudgetMiB { get; set; } = 256;

    /// <summary>Folder of model versions (models/&lt;workload&gt;/&lt;version&gt;). Empty: models live in memory only.</summary>
    public string? Directory { get; set; }

    /// <summary>Save each model trained when a workload finishes learning as a new (unpromoted) version.</summary>
    public bool SaveTrained { get; set; }

    /// <summary>
    /// Train off the shard thread (the daemon's setting): ML.NET training takes from milliseconds to seconds, and on the
    /// shard it would hold up every other workload of the shard and, behind it, the consume loop. The model comes back
    /// through the same path as a hot swap, between two events. Off (the default): training runs inline, so offline
    /// evaluation on the event clock is deterministic.
    /// </summary>
    public bool TrainInBackground { get; set; }

    /// <summary>How often the folder is checked for newly promoted versions to hot-swap.</summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Top contributing features listed in each model alert.</summary>
    [Range(1, 10)]
    public int TopFeatures { get; set; } = 3;

    /// <summary>Drift of recent behaviour windows from the training ones (<c>Detection:Models:Drift</c>).</summary>
    public DriftOptions Drift { get; set; } = new();
}
