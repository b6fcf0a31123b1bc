using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Workloads;

/// <summary>What one event did to a workload's state, for its shard to count: nothing here calls the shard back.</summary>
/// <param name="Baseline">Items learned or refused, and the phase before and after the event.</param>
/// <param name="ModelWindows">Behaviour windows the models closed and scored on this event.</param>
/// <param name="ShadowExceedances">Windows over a threshold while the models were in shadow (counted, not raised).</param>
/// <param name="CooldownSuppressed">Findings held back because the same item alerted within the cooldown.</param>
/// <param name="Adapted">Lesser findings learned as the new version's normal while adapting to a rollout.</param>
/// <param name="WarmupHeld">Model findings dropped because they were about a container starting or stopping.</param>
/// <param name="ScoreMargin">How far the event's most surprising item was over (or under) the rarity threshold; NaN when none was scored.</param>
internal readonly record struct WorkloadObservation(
    BaselineChanges Baseline,
    long ModelWindows,
    long ShadowExceedances,
    long CooldownSuppressed,
    long Adapted,
    int WarmupHeld,
    double ScoreMargin)
{
    /// <summary>The drift evaluation this event's window closed (<see cref="ModelRuntime.Drift"/>), or null when none.</summary>
    public DriftSummary? Drift { get; init; }
}

/// <summary>
/// One workload's detection state, owned by the one shard its key routes to: the baseline (learned items, the
/// learning → shadow → active → stale phase machine, analysts' acceptances) and its models (windows, the model in
/// service and the thresholds in force, analysts' raises). <see cref="Observe"/> returns what an event found and
/// changed; <see cref="Snapshot"/> is its versioned checkpoint form, which <see cref="Restore"/> reads back.
/// </summary>
internal sealed class WorkloadState
{
    private WorkloadState(WorkloadKey key, WorkloadBaseline baseline, ModelRuntime? models)
    {
        Key = key;
        Baseline = baseline;
        Baseline.SelectFor(key);
        Models = models;
        Models?.SelectFor(DetectorSwitches.Off(baseline.Options, key));
    }

    public WorkloadKey Key { get; }

    public WorkloadBaseline Baseline { get; }

    /// <summary>The workload's event clock: the time of its latest event, never going back (event clock only).</summary>
    internal DateTimeOffset Clock { get; set; }

    /// <summary>The pod of the last event (the shard notes an owner's pods only when it changes).</summary>
    internal string? LastPod { get; set; }

    /// <summary>The workload's models; null when models are disabled.</summary>
    public ModelRuntime? Models { get; }

    public BaselinePhase Phase => Baseline.Phase;

    /// <summary>A workload seen for the first time: learning from <paramref name="now"/>.</summary>
    /// <param name="nodeMemory">The node's budget the baseline's items reserve from.</param>
    /// <param name="modelMemory">The node's budget for models (a share of the node's).</param>
    public static WorkloadState New(WorkloadKey key, DetectionOptions options, DateTimeOffset now, ModelMemoryBudget? nodeMemory, ModelMemoryBudget? modelMemory) =>
        new(key, new WorkloadBaseline(options, now, nodeMemory), NewModels(key, options, modelMemory));

    /// <summary>
    /// The workload as a snapshot left it. Throws <see cref="CheckpointRejectedException"/> when the snapshot cannot be
    /// used (not a checkpoint, another format, another workload's). <paramref name="modelServed"/> says what became of
    /// the model it carried: null when none, false when this node's budget or schema refused it.
    /// </summary>
    public static WorkloadState Restore(WorkloadKey key, ReadOnlySpan<byte> snapshot, DetectionOptions options, ModelMemoryBudget? nodeMemory, ModelMemoryBudget? modelMemory, out RestoredWorkload restored, out bool? modelServed)
    {
        restored = WorkloadCheckpoint.Read(snapshot, options, nodeMemory);
        if (restored.Workload != key.Value)
        {
            restored.Baseline.ReleaseMemory();
            throw new CheckpointRejectedException($"it is the checkpoint of {restored.Workload}");
        }

        var state = new WorkloadState(key, restored.Baseline, NewModels(key, options, modelMemory));
        modelServed = restored.Model is { } model && state.Models is { } models ? models.Swap(model, restored.ModelPromoted) : null;
        return state;
    }

    private static ModelRuntime? NewModels(WorkloadKey key, DetectionOptions options, ModelMemoryBudget? modelMemory) =>
        options.Models.Enabled ? new ModelRuntime(key.Value, options.Models, options.TargetAlertsPerWorkloadDay, modelMemory) : null;

    /// <summary>
    /// Learns from or scores one event: the baseline's findings, then the models', go to <paramref name="findings"/>
    /// (only once learning is over); returns what the event changed.
    /// </summary>
    public WorkloadObservation Observe(in RuntimeEvent e, string? normalizedPath, string? peer, DateTimeOffset now, List<Finding> findings)
    {
        var b = Baseline;
        var suppressed = b.CooldownSuppressed;
        var adapted = b.AdaptedItems;
        var changes = b.Observe(e, normalizedPath, now, findings, peer);
        var models = findings.Count;
        long windows = 0, shadow = 0;
        DriftSummary? drift = null;
        if (Models is { } m)
        {
            // The phase the event was observed in: the event that ends learning is still learning data.
            windows = m.WindowsScored;
            shadow = m.ShadowExceedances;
            var evaluations = m.DriftEvaluations;
            m.Observe(e, b.LastEventKnown, changes.From, now, findings);
            windows = m.WindowsScored - windows;
            shadow = m.ShadowExceedances - shadow;
            drift = m.DriftEvaluations != evaluations ? m.Drift : null;
        }

        var warmup = 0;
        if (findings.Count > models && (b.WarmingUp(now) || b.IsAdapting(now)))
        {
            // A container starting or stopping (a replica, a restart, a rollout, and a new version while the workload
            // adapts to it) makes processes, files and CPU unlike steady state: a model finding made (90 % of its score)
            // of those is counted, not raised. Volumes, peers and failures still alert.
            warmup += RemoveFrom(findings, models, BehaviourSchema.IsStartupFeature);
        }

        if (findings.Count > models && b.InExecDiagnosis(now))
        {
            // Someone's diagnosis in the container (kubectl exec: ps, df, cat) shows in the windows as processes and files
            // read; what the session itself did is judged by ExecSessions. Connections, volumes and failures still alert.
            warmup += RemoveFrom(findings, models, BehaviourSchema.IsSessionFeature);
        }

        return new WorkloadObservation(changes, windows, shadow, b.CooldownSuppressed - suppressed, b.AdaptedItems - adapted, warmup, b.LastScoreMargin) { Drift = drift };
    }

    /// <summary>Raises a model detector's threshold for this workload (an analyst's verdict); false without models.</summary>
    public bool RaiseThreshold(string detector, double score) => Models?.RaiseThreshold(detector, score) == true;

    /// <summary>The versioned checkpoint form (<see cref="WorkloadCheckpoint"/>).</summary>
    /// <param name="includeModel">False to leave the model out (the record would be too large for the topic).</param>
    /// <param name="unsafeCooldown">Cooldowns to leave out: those of alerts that are not safe yet.</param>
    public byte[] Snapshot(DateTimeOffset at, bool includeModel = true, Func<Feature, FeatureKey, bool>? unsafeCooldown = null) =>
        WorkloadCheckpoint.Write(Key.Value, Baseline, Models, at, includeModel, unsafeCooldown);

    /// <summary>Gives the memory the state reserved back to the node's budgets (eviction).</summary>
    public void Release()
    {
        Baseline.ReleaseMemory();
        Models?.Release();
    }

    /// <summary>Removes the findings from <paramref name="from"/> on whose score is (90 % or more) features of a <paramref name="kind"/>; returns how many.</summary>
    private static int RemoveFrom(List<Finding> findings, int from, Func<string, bool> kind)
    {
        var removed = 0;
        for (var i = findings.Count - 1; i >= from; i--)
        {
            if (MadeOf(findings[i], kind))
            {
                findings.RemoveAt(i);
                removed++;
            }
        }

        return removed;
    }

    private static bool MadeOf(in Finding f, Func<string, bool> kind)
    {
        if (f.TopFeatures.Count == 0)
        {
            return false;
        }

        double startup = 0, total = 0;
        foreach (var c in f.TopFeatures)
        {
            total += c.Share;
            if (kind(c.Feature))
            {
                startup += c.Share;
            }
        }

        return total > 0 ? startup >= 0.9 * total : f.TopFeatures.All(c => kind(c.Feature));
    }
}
