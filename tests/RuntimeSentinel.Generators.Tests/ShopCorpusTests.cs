using System.Security.Cryptography;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Generators.Corpus;

namespace RuntimeSentinel.Generators.Tests;

public class ShopCorpusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Generate_SameSeed_SameBytesAndTheDocumentedShape()
    {
        static (string Hash, List<(DateTimeOffset, string, byte[])> Records, IReadOnlyList<CorpusLabel> Labels) Generate(int seed)
        {
            var corpus = new ShopCorpus(seed, T0);
            var records = corpus.Generate().ToList();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var (_, _, json) in records)
            {
                sha.AppendData(json);
            }

            return (Convert.ToHexStringLower(sha.GetHashAndReset()), records, corpus.Labels);
        }

        var a = Generate(11);
        var b = Generate(11);
        Assert.Equal(a.Hash, b.Hash);
        Assert.NotEqual(a.Hash, Generate(12).Hash);

        // Time order, every record decodes with its sensor's own decoder, and the corpus has what the issue asks for.
        Assert.True(a.Records.Zip(a.Records.Skip(1)).All(p => p.First.Item1 <= p.Second.Item1));
        var formats = new Dictionary<string, IEventFormat> { ["tetragon"] = EventFormats.Create("tetragon"), ["hubble"] = EventFormats.Create("hubble"), ["falco"] = EventFormats.Create("falco") };
        var events = a.Records.Select(r => formats[r.Item2].Decode(r.Item3, out var e, out var error, out _) == DecodeStatus.Event ? e : throw new InvalidOperationException(error.ToString())).ToList();
        Assert.True(events.Select(e => e.Node).Distinct().Count() >= 3);
        var resolver = new WorkloadResolver("c");
        Assert.True(events.Where(e => e.Workload.Namespace is not null).Select(e => resolver.Resolve(e.Workload).ShortName).Distinct().Count() >= 8);
        Assert.Contains(events, e => e.Labels[EventLabels.Inventory] is not null && e.Timestamp < T0.AddDays(-1));
        Assert.Contains(events, e => e.Kind == EventKind.NetAccept);
        Assert.Contains(events, e => e.Kind == EventKind.NetFlow && e.Net.Direction == NetDirection.Inbound);
        Assert.Contains(events, e => e.Kind == EventKind.DnsQuery && e.DnsAnswers is not null);
        Assert.True(a.Labels.Count(l => l.Kind.StartsWith("attack", StringComparison.Ordinal)) >= 12);
        Assert.True(a.Labels.Count(l => l.Kind == "attack-stealthy") >= 6);
        Assert.Superset(new HashSet<string> { "rollout-frontend", "hpa-api-scale-up", "restart-worker", "dns-rotation-paygate-1" }, a.Labels.Select(l => l.Scenario).ToHashSet());
    }
}
