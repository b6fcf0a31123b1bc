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
public readonly record struct IngestItem(RuntimeEvent Event, WorkloadKey Key, IOffsetCompletion? Completion, long Offset, long EnqueuedTimestamp, string? Peer = null);
