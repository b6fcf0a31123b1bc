using System.Collections.Concurrent;
using System.Security.Cryptography;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Generators.Corpus;

namespace RuntimeSentinel.Generators.Tests;

public class CorpusShapeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 1, 0, 0, TimeSpan.Zero);

    /// <summary>One generated corpus: its records, labels, the cluster it drew, and every record decoded.</summary>
    private sealed record Generated(string Hash, List<(DateTimeOffset Time, string Sensor, byte[] Json)> Records, IReadOnlyList<CorpusLabel> Labels, string Shape, List<(string Sensor, DecodeStatus Status, RuntimeEvent Event)> Decoded);

    // Generating and decoding a corpus takes seconds: each seed is made once for all the tests.
    private static readonly ConcurrentDictionary<int, Lazy<Generated>> Cache = new();

    private static Generated Corpus(int seed) => Cache.GetOrAdd(seed, s => new Lazy<Generated>(() => Make(s))).Value;

    private static Generated Make(int seed)
    {
        var corpus = new ClusterCorpus(seed, T0);
        var records = corpus.Generate().ToList();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (_, sensor, json) in records)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(sensor));
            sha.AppendData(json);
        }

        var formats = new Dictionary<string, IEventFormat>(StringComparer.Ordinal) { ["tetragon"] = EventFormats.Create("tetragon"), ["hubble"] = EventFormats.Create("hubble"), ["falco"] = EventFormats.Create("falco") };
        var decoded = records.Select(r => (r.Sensor, formats[r.Sensor].Decode(r.Json, out var e, out _, out _), e)).ToList();
        return new Generated(Convert.ToHexStringLower(sha.GetHashAndReset()), records, corpus.Labels, corpus.DescribeShape(), decoded);
    }

    private static string ShortName(RuntimeEvent e) => new WorkloadResolver("c").Resolve(e.Workload).ShortName;

    [Fact]
    public void Generate_TwoSeeds_DifferentClusterShapes()
    {
        var a = Corpus(1);
        var b = Corpus(2);
        Assert.NotEqual(a.Shape, b.Shape);
        Assert.NotEqual(
            a.Decoded.Where(d => d.Sensor == "tetragon").Select(d => ShortName(d.Event)).ToHashSet(),
            b.Decoded.Where(d => d.Sensor == "tetragon").Select(d => ShortName(d.Event)).ToHashSet());
    }

    [Fact]
    public void Pools_AtLeast14NewAnd8StealthyAttacksAnd12Archetypes()
    {
        var pools = new ClusterAttacks(new ClusterWorld(1, T0)).Pools;
        Assert.True(pools.Count(p => !p.Stealthy) >= 14);
        Assert.True(pools.Count(p => p.Stealthy) >= 8);
        Assert.Equal(pools.Count, pools.Select(p => p.Name).Distinct().Count());
        Assert.True(Archetypes.All.Count >= 12);
        Assert.Equal(Archetypes.All.Count, Archetypes.All.Select(a => a.Key).Distinct().Count());
    }

    [Fact]
    public void Generate_SameSeed_ByteIdenticalOutput()
    {
        var again = Make(3);
        Assert.Equal(Corpus(3).Hash, again.Hash);
        Assert.Equal(Corpus(3).Labels.Select(l => (l.Scenario, l.Start, l.End)), again.Labels.Select(l => (l.Scenario, l.Start, l.End)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Generate_EveryRecord_DecodesWithItsSensorsDecoderInTimeOrder(int seed)
    {
        var c = Corpus(seed);
        Assert.InRange(c.Records.Count, 40_000, 140_000);
        Assert.All(c.Decoded, d => Assert.Equal(DecodeStatus.Event, d.Status));
        foreach (var sensor in new[] { "tetragon", "hubble", "falco" })
        {
            // Per file, records are written in time order (the inventory first: found at sensor start).
            var times = c.Records.Where(r => r.Sensor == sensor).Select(r => r.Time).ToList();
            Assert.NotEmpty(times);
            Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second), sensor);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Labels_EveryWorkloadInTheStreamAndEveryAttackWindowHoldsItsEvents(int seed)
    {
        var c = Corpus(seed);
        var events = c.Decoded.Where(d => d.Sensor == "tetragon" && d.Event.Labels[EventLabels.Inventory] is null).Select(d => (Name: ShortName(d.Event), d.Event.Timestamp)).ToList();
        var names = events.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(c.Labels, l => Assert.Contains(l.Workload, names));
        Assert.All(c.Labels.SelectMany(l => l.Related), r => Assert.Contains(r, names));
        Assert.All(c.Labels, l => Assert.True(l.Kind is "attack-new" or "attack-stealthy" || l.Kind.StartsWith("churn-", StringComparison.Ordinal), l.Kind));
        Assert.All(c.Labels, l => Assert.True(l.Start <= l.End, l.Scenario));
        foreach (var attack in c.Labels.Where(l => l.Kind.StartsWith("attack", StringComparison.Ordinal)))
        {
            Assert.True(events.Any(e => e.Name == attack.Workload && e.Timestamp >= attack.Start && e.Timestamp <= attack.End), attack.Scenario);
        }

        var window = c.Labels.Where(l => l.Start >= T0.AddMinutes(ClusterCorpus.NormalMinutes)).ToList();
        Assert.True(window.Count(l => l.Kind == "attack-new") >= 8);
        Assert.True(window.Count(l => l.Kind == "attack-stealthy") >= 5);
        Assert.Contains(c.Labels, l => l.Kind.StartsWith("attack", StringComparison.Ordinal) && l.End < T0.AddMinutes(ClusterCorpus.LearningMinutes));
        Assert.Equal(c.Labels.Count, c.Labels.Select(l => l.Scenario).Distinct().Count());
    }

    [Fact]
    public void Generate_SomeSeed_HasTokenRefreshPathsInventoryRescheduleEphemeralContainerAndSidecar()
    {
        var seeds = new[] { 1, 2, 3, 4 }.Select(Corpus).ToList();
        var tetragon = seeds.SelectMany(c => c.Decoded.Where(d => d.Sensor == "tetragon").Select(d => d.Event)).ToList();

        // Projected tokens read through ..data: the path names the atomic writer's timestamped directory.
        Assert.Contains(tetragon, e => e.FilePath is { } p && p.Contains("/secrets/kubernetes.io/serviceaccount/..2026_", StringComparison.Ordinal) && p.EndsWith("/token", StringComparison.Ordinal));
        Assert.Contains(tetragon, e => e.Labels[EventLabels.Inventory] is not null && e.Timestamp < T0.AddHours(-1) && e.Process.ParentExe == "/usr/bin/containerd-shim-runc-v2");
        Assert.Contains(seeds.SelectMany(c => c.Labels), l => l.Kind == "churn-reschedule");
        Assert.Contains(tetragon, e => e.Workload.Container is { } name && name.StartsWith("debugger-", StringComparison.Ordinal));

        // A sidecar: a second container name in a pod whose main container is seen too.
        var containers = tetragon.Where(e => e.Workload.Pod is not null).GroupBy(e => e.Workload.Pod!).Select(g => g.Select(e => e.Workload.Container).Distinct().ToList());
        Assert.Contains(containers, c => c.Any(n => n is "istio-proxy" or "envoy" or "nginx") && c.Count >= 2);
    }
}
