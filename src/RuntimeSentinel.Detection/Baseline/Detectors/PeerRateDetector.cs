using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Connections to or from one peer within a minute against the most in a minute while learning (<see cref="PeerRate"/>).</summary>
internal sealed class PeerRateDetector(DetectionOptions options, Models.ModelMemoryBudget? memory) : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.PeerRate];

    // Named after the one category it raises.
    public const string DetectorName = AlertCategories.PeerRate;

    private readonly PeerRate _rate = new(options.MaxItemsPerFeature, memory);

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    public void Learn(in RuntimeEvent e, DetectorContext ctx) => _rate.Observe(e, ctx.Peer, ctx.Now, learning: true, out _, out _, out _);

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (e.Kind is EventKind.NetConnect or EventKind.NetAccept && _rate.Observe(e, ctx.Peer, ctx.Now, learning: false, out var inbound, out var minuteCount, out var learnedRate) && !ctx.Accepts(Feature.Resource))
        {
            var who = ctx.Peer ?? e.Net.RemoteIp!;
            var ratio = minuteCount / (double)Math.Max(1, learnedRate);
            findings.Add(Finding.OfItem(
                Feature.Resource, new FeatureKey((inbound ? "rate:in:" : "rate:out:") + who), AlertCategories.PeerRate, ratio >= 30 ? Severity.High : Severity.Medium, ratio, PeerRate.Factor, learnedRate, _rate.Count,
                inbound
                    ? $"{minuteCount:N0} connections from {who} accepted within a minute; the most in a minute while learning was {learnedRate:N0}"
                    : $"{minuteCount:N0} connections to {who} within a minute; the most in a minute while learning was {learnedRate:N0}"));
        }
    }

    public void Reset(DetectorReset why)
    {
        if (why is DetectorReset.Relearn or DetectorReset.Release)
        {
            _rate.Clear();
        }
    }

    public void WriteState(StateWriter w, int section) => _rate.WriteState(w);

    /// <summary>Checkpoint format 3 added it.</summary>
    public void ReadState(StateReader r, int section)
    {
        if (r.Format >= 3)
        {
            _rate.ReadState(r);
        }
    }
}
