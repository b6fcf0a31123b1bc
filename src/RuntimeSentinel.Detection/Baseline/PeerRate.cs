using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// Connections per minute with each peer identity, per direction: the client's connects to a service it calls, the
/// server's accepts from a client it serves. A compromised client enumerating through a service it always calls, or a
/// client hammering a server at tens of times its pace, does nothing new and hides in the workload's total rate when
/// it has many peers; per peer and direction the jump stands out. Learned while the workload learns (the most in any
/// whole minute), then each minute is compared with it. Peers met after learning have no history (novelty judges
/// them). Bounded by the caller's cap.
/// </summary>
internal sealed class PeerRate(int maxPeers, Models.ModelMemoryBudget? memory = null)
{
    /// <summary>An entry's bytes besides its key: dictionary slot, tuple, the minute's figures.</summary>
    private const long EntryBytes = 104;

    /// <summary>Fewer connections than this in a minute are never raised, whatever the history.</summary>
    public const int Floor = 60;

    /// <summary>A minute with this many times the peer's largest learned minute is raised ("tens of times").</summary>
    public const int Factor = 10;

    private readonly TableReservation _memory = new(memory);
    private readonly Dictionary<(string Peer, bool Inbound), MinuteMax> _peers = [];

    public int Count => _peers.Count;

    public void Clear()
    {
        _peers.Clear();
        _memory.ReleaseAll();
    }

    /// <summary>
    /// Counts a connection the workload opened (connect) or accepted (accept). While <paramref name="learning"/>,
    /// finished minutes raise the learned maximum; afterwards a minute past the limit is reported once (true).
    /// </summary>
    public bool Observe(in RuntimeEvent e, string? peer, DateTimeOffset now, bool learning, out bool inbound, out long minuteCount, out long learnedMax)
    {
        minuteCount = learnedMax = 0;
        inbound = e.Kind == EventKind.NetAccept;
        if (e.Kind is not (EventKind.NetConnect or EventKind.NetAccept) || (peer ?? e.Net.RemoteIp) is not { } who)
        {
            return false;
        }

        var key = (who, inbound);
        if (!_peers.TryGetValue(key, out var p))
        {
            if (!learning || _peers.Count >= maxPeers || !_memory.TryTake(EntryBytes + (2L * who.Length)))
            {
                return false;
            }

            p = MinuteMax.StartingAt(now);
        }

        p.Add(1, now, learning);
        var raise = p.Exceeds(learning, Floor, Factor);
        if (raise)
        {
            (minuteCount, learnedMax) = (p.Total, p.LearnedMax);
        }

        _peers[key] = p;
        return raise;
    }

    internal void WriteState(StateWriter w)
    {
        w.Count(_peers.Count);
        foreach (var ((peer, inbound), p) in _peers)
        {
            w.String(peer);
            w.Bool(inbound);
            p.Write(w);
        }
    }

    internal void ReadState(StateReader r)
    {
        Clear();
        var n = r.Count(maxPeers, "rate peers");
        for (var i = 0; i < n; i++)
        {
            var peer = r.String("rate peer", 1024);
            var inbound = r.Bool();
            var entry = MinuteMax.Read(r, "rate peer");
            if (_memory.TryTake(EntryBytes + (2L * peer.Length)))
            {
                _peers[(peer, inbound)] = entry;
            }
        }
    }
}
