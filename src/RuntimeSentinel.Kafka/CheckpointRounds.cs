using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The checkpoint barrier on commits. With a persistent state store an offset may be committed only once a written
/// checkpoint covers its event: after a crash the events since the commit are replayed into a baseline that has not seen
/// them (at-least-once), never skipped. Every <c>Detection:CheckpointInterval</c> a round notes how far each partition
/// is processed, has detection checkpoint every changed workload, and once that is written lets commits advance to the
/// noted positions; before a revoke or stop a synchronous checkpoint lets everything processed be committed.
/// Rounds are started on the consume thread; a round's end runs on whichever thread finished the checkpoint and only
/// touches the (locked) trackers it noted.
/// </summary>
internal sealed class CheckpointRounds(IDetectionIngress pipeline, KafkaMetrics metrics, TimeProvider time)
{
    /// <summary>How long a round's checkpoint may take before its positions are given up (the next round notes them again).</summary>
    internal static readonly TimeSpan RoundTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _interval = pipeline.CheckpointInterval;
    private Task _round = Task.CompletedTask;
    private long _lastRound = time.GetTimestamp();

    /// <summary>Whether commits wait for checkpoints; false until <see cref="Enable"/> (no persistent state: no barrier).</summary>
    public bool Enabled { get; private set; }

    /// <summary>The state outlives the process: ingestion drives detection's checkpoints from now on, and commits wait for them.</summary>
    public void Enable()
    {
        pipeline.DriveCheckpoints();
        Enabled = true;
    }

    /// <summary>
    /// Starts a round if the interval has passed since the last one and the last one has finished; the round lets
    /// each of <paramref name="trackers"/> commit up to where it had got now, once the checkpoint is written.
    /// </summary>
    /// <param name="now">A timestamp of the injected <see cref="TimeProvider"/>.</param>
    public void StartIfDue(long now, IEnumerable<PartitionTracker> trackers)
    {
        if (!Enabled || _interval <= TimeSpan.Zero || !_round.IsCompleted || time.GetElapsedTime(_lastRound, now) < _interval)
        {
            return;
        }

        _lastRound = now;
        // Noted before the checkpoint starts: every event processed by now is in the checkpoints it writes.
        var covered = trackers.Select(t => (Tracker: t, Next: t.Completed)).Where(x => x.Next >= 0).ToList();
        _round = pipeline.CheckpointAsync(RoundTimeout).ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully && t.Result)
                {
                    foreach (var (tracker, next) in covered)
                    {
                        tracker.AllowUpTo(next);
                    }
                }
                else
                {
                    metrics.Commits.WithLabels("checkpoint_pending").Inc();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Checkpoints now and waits (revoke, stop); true when it was written within <paramref name="timeout"/>, so that
    /// everything processed may be committed. False without a barrier too: then there is nothing to allow.
    /// </summary>
    public bool CheckpointNow(TimeSpan timeout) => Enabled && pipeline.CheckpointAsync(timeout).GetAwaiter().GetResult();
}
