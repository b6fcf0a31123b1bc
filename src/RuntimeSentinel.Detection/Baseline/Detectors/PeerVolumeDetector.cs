using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Bytes sent to one peer within a minute against the most it was sent in a minute while learning (<see cref="PeerVolume"/>).</summary>
internal sealed class PeerVolumeDetector(DetectionOptions options, Models.ModelMemoryBudget? memory) : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.PeerVolume];

    // Named after the one category it raises.
    public const string DetectorName = AlertCategories.PeerVolume;

    private readonly PeerVolume _volume = new(options.MaxItemsPerFeature, memory);

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    public void Learn(in RuntimeEvent e, DetectorContext ctx)
    {
        if (e.Net.BytesOut > 0)
        {
            _volume.Observe(e, ctx.Peer, ctx.Now, learning: true, out _, out _);
        }
    }

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (e.Net.BytesOut > 0 && _volume.Observe(e, ctx.Peer, ctx.Now, learning: false, out var minuteBytes, out var learnedMax) && !ctx.Accepts(Feature.Resource))
        {
            var who = ctx.Peer ?? e.Net.RemoteIp!;
            var ratio = minuteBytes / (double)Math.Max(1, learnedMax);
            findings.Add(Finding.OfItem(
                Feature.Resource, new FeatureKey("peer:" + who), AlertCategories.PeerVolume, ratio >= 20 ? Severity.High : Severity.Medium, ratio, PeerVolume.Factor, learnedMax, _volume.Count,
                $"{minuteBytes:N0} bytes to {who} within a minute; the most it was sent in a minute while learning was {learnedMax:N0}"));
        }
    }

    public void Reset(DetectorReset why)
    {
        if (why is DetectorReset.Relearn or DetectorReset.Release)
        {
            _volume.Clear();
        }
    }

    public void WriteState(StateWriter w, int section) => _volume.WriteState(w);

    public void ReadState(StateReader r, int section) => _volume.ReadState(r);
}
