using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// The step between decoding and detection: names the event's workload (<see cref="WorkloadResolver"/>) and the identity
/// of its remote peer (<see cref="PeerResolver"/>, which learns addresses from the stream itself). Single-threaded and
/// order-sensitive: one instance per ordered stream (the consume thread, an offline reader).
/// </summary>
public sealed class EventEnrichment(string cluster, NetworkOptions network)
{
    private readonly WorkloadResolver _workloads = new(cluster);
    private readonly PeerResolver _peers = new(network);

    /// <summary>The event, ready for detection: its workload key and, for network events, its peer's identity.</summary>
    public IngestItem Enrich(in RuntimeEvent e, IOffsetCompletion? completion, long offset, long enqueuedTimestamp)
    {
        var key = _workloads.Resolve(e.Workload);
        return new IngestItem(e, key, completion, offset, enqueuedTimestamp, _peers.Observe(e, key));
    }
}
