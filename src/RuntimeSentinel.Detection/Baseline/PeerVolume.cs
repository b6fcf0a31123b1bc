using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// Bytes a workload sends to each peer identity per minute. A workload's total volume mixes its peers (a database
/// serves small answers to the api and a nightly dump to the backup job), so a spike model calibrated on the total
/// lets a dump to the wrong peer through; per peer, the api's usual kilobytes make 26 MB stand out. Learned while the
/// workload learns (the largest minute per peer), then each minute is compared with it. Bounded by the caller's cap.
/// </summary>
internal sealed class PeerVolume(int maxPeers, Models.ModelMemoryBudget? memory = null)
{
    /// <summary>An entry's bytes besides its key: dictionary slot, the minute's figures.</summary>
    private const long EntryBytes = 96;

    private readonly TableReservation _memory = new(memory);

    /// <summary>Below this a minute is small whatever its history (no alert for 400 KB against 40 KB).</summary>
    public const long Floor = 256L << 10;

    /// <summary>A minute this many times the peer's largest learned minute is raised.</summary>
    public const int Factor = 5;

    private readonly Dictionary<string, MinuteMax> _peers = new(StringComparer.Ordinal);

    public int Count => _peers.Count;

    public void Clear()
    {
        _peers.Clear();
        _memory.ReleaseAll();
    }

    /// <summary>
    /// Counts the event's bytes out to its peer. While <paramref name="learning"/>, finished minutes raise the peer's
    /// learned maximum; afterwards, a minute past the limit is reported once (true) with what was learned.
    /// </summary>
    public bool Observe(in RuntimeEvent e, string? peer, DateTimeOffset now, bool learning, out long minuteBytes, out long learnedMax)
    {
        minuteBytes = learnedMax = 0;
        var key = peer ?? e.Net.RemoteIp;
        if (key is null || e.Net.BytesOut <= 0)
        {
            return false;
        }

        if (!_peers.TryGetValue(key, out var p))
        {
            if (_peers.Count >= maxPeers || !_memory.TryTake(EntryBytes + (2L * key.Length)))
            {
                return false;
            }

            p = MinuteMax.StartingAt(now);
        }

        // Peers first met after learning are new endpoints (novelty says so); their volume has no history.
        p.Add(e.Net.BytesOut, now, learning);
        var raise = p.Exceeds(learning, Floor + 1, Factor);
        if (raise)
        {
            (minuteBytes, learnedMax) = (p.Total, p.LearnedMax);
        }

        _peers[key] = p;
        return raise;
    }

    internal void WriteState(StateWriter w)
    {
        w.Count(_peers.Count);
        foreach (var (peer, p) in _peers)
        {
            w.String(peer);
            p.Write(w);
        }
    }

    internal void ReadState(StateReader r)
    {
        Clear();
        var n = r.Count(maxPeers, "peers");
        for (var i = 0; i < n; i++)
        {
            var peer = r.String("peer", 1024);
            var entry = MinuteMax.Read(r, "peer");
            if (_memory.TryTake(EntryBytes + (2L * peer.Length)))
            {
                _peers[peer] = entry;
            }
        }
    }
}
