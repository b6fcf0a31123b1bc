using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>One run of a CronJob or Job as the run-history detector counts it.</summary>
/// <param name="Run">The run's key: its pod, else its container id.</param>
/// <param name="Finished">Whether the detector had finished it (another run started and it was idle for a minute, or it made room); false: still open when the events ended.</param>
public sealed record RunVector(string Run, DateTimeOffset Start, DateTimeOffset End, long BytesOut, long Connections, long Execs, bool Finished);

/// <summary>
/// Every run of one CronJob or Job, counted by the same <see cref="RunHistory"/> the daemon's run-history detector
/// uses (bytes sent, connections, programs run per pod), for offline export: the detector keeps only the last 32
/// runs, this keeps each as it finishes. Feed it the workload's events in time order.
/// </summary>
public sealed class RunRecorder
{
    private readonly List<RunVector> _finished = [];
    private readonly RunHistory _history;

    public RunRecorder() => _history = new RunHistory { Finished = (id, r) => _finished.Add(Vector(id, r, finished: true)) };

    /// <summary>The runs finished so far, in the order they finished.</summary>
    public IReadOnlyList<RunVector> Finished => _finished;

    /// <summary>The runs still open, oldest first.</summary>
    public IEnumerable<RunVector> Open => _history.Open.Select(kv => Vector(kv.Key, kv.Value, finished: false)).OrderBy(r => r.Start).ThenBy(r => r.Run, StringComparer.Ordinal);

    /// <summary>Counts an event into its run (finishing idle ones first, as the detector does); returns its run's key, or null when it has none.</summary>
    public string? Observe(in RuntimeEvent e) => _history.Observe(e, e.Timestamp);

    /// <summary>Whether a workload is judged by runs: its first event's owner is a Job or CronJob (as the baseline decides).</summary>
    public static bool IsRunBased(in RuntimeEvent first) => first.Workload.OwnerKind is "Job" or "CronJob";

    private static RunVector Vector(string id, RunStats r, bool finished) => new(id, r.Started, r.LastSeen, r.BytesOut, r.Connections, r.Execs, finished);
}
