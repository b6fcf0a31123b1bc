using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Core.Events;

/// <summary>
/// Told when the message at an offset is fully processed, so its offset may be committed. Implemented by the
/// Kafka consumer's per-partition tracker; detection calls it after the baseline has seen the event, or, when the event
/// raised alerts, once they are delivered or on disk (from a sink's thread). Implementations are thread-safe.
/// </summary>
public interface IOffsetCompletion
{
    void Complete(long offset);
}

/// <summary>An event on its way from ingestion to a detection shard, with what is needed to commit it afterwards.</summary>
/// <param name="Peer">For network events: the identity of the remote peer (a workload, a DNS name, a network), resolved in stream order.</param>
public readonly record struct IngestItem(RuntimeEvent Event, WorkloadKey Key, IOffsetCompletion? Completion, long Offset, long EnqueuedTimestamp, string? Peer = null)
{
    /// <summary>
    /// A clock mark, on the event clock: ingestion puts one into every shard's queue each time the input's event time
    /// passes a step. A shard that reaches it has processed everything that came in before it, so the alerting stage can
    /// follow the slowest shard's mark and judge incidents on event time without waiting on, or racing, any thread.
    /// </summary>
    public static IngestItem ClockMark(DateTimeOffset time) => new(new RuntimeEvent { Timestamp = time }, null!, null, -1, 0);

    /// <summary>True for a <see cref="ClockMark"/>: no event, no workload.</summary>
    public bool IsClockMark => Key is null;
}
