using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;

namespace RuntimeSentinel.Benchmarks;

/// <summary>
/// An attacker floods the detector: N events, a third each with a unique file path, a unique peer, and a unique
/// workload key. Resident memory (after a full GC) is sampled every tenth of the way; with the per-workload caps,
/// MaxWorkloads and the node's memory budget it must level off instead of growing with N. Prints the samples, then
/// one JSON line.
/// </summary>
public static class Flood
{
    public static int Run(int events, int budgetMiB)
    {
        var metrics = new DetectionMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions { MemoryBudgetMiB = budgetMiB, Models = new Detection.Models.ModelOptions { MemoryBudgetMiB = Math.Min(256, budgetMiB) } });
        var pipeline = new DetectionPipeline(options, new Discard(), metrics, TimeProvider.System, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("bench");
        var samples = new List<(int Events, long Rss, long Budget)>();
        var t0 = DateTimeOffset.UtcNow;
        for (var i = 0; i < events; i++)
        {
            var e = (i % 3) switch
            {
                0 => Samples.FileEvent with { Workload = Wl(i / 3 % 100), FilePath = $"/srv/uploads/{Name(i)}/{Name(i / 7)}.bin", Timestamp = t0 },
                1 => Samples.ConnectEvent with { Workload = Wl(i / 3 % 100), Net = Samples.ConnectEvent.Net with { RemoteIp = $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", RemotePort = 1024 + (i % 5000) }, Timestamp = t0 },
                _ => Samples.ExecEvent with { Workload = Wl(1000 + i), Timestamp = t0 },
            };
            pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), null, i, Stopwatch.GetTimestamp()), default).AsTask().GetAwaiter().GetResult();
            if ((i + 1) % (events / 10) == 0)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                var rss = Process.GetCurrentProcess().WorkingSet64;
                samples.Add((i + 1, rss, pipeline.NodeMemory.Used));
                Console.WriteLine($"{i + 1,10:N0} events: resident {rss / 1048576.0,7:N1} MiB, node budget used {pipeline.NodeMemory.Used / 1048576.0,7:N1} MiB, workloads evicted {metrics.WorkloadsEvicted.Value:N0}");
            }
        }

        pipeline.CompleteAsync().GetAwaiter().GetResult();
        var half = samples.Skip(samples.Count / 2).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "flood",
            events,
            budget_mib = budgetMiB,
            rss_mib_at_half = Math.Round(half[0].Rss / 1048576.0, 1),
            rss_mib_at_end = Math.Round(samples[^1].Rss / 1048576.0, 1),
            rss_mib_max_second_half = Math.Round(half.Max(s => s.Rss) / 1048576.0, 1),
            budget_used_mib_at_end = Math.Round(samples[^1].Budget / 1048576.0, 1),
            workloads_evicted = metrics.WorkloadsEvicted.Value,
            cores = Environment.ProcessorCount,
        }));
        return 0;
    }

    private static WorkloadRef Wl(int n) => Samples.ExecEvent.Workload with { OwnerName = $"svc{n}-7d9f8b6c5b", Pod = $"svc{n}-7d9f8b6c5b-x2k4p" };

    private static string Name(int n)
    {
        Span<char> c = stackalloc char[7];
        c[0] = 'f';
        for (var i = 1; i < c.Length; i++, n /= 26)
        {
            c[i] = (char)('a' + (n % 26));
        }

        return new string(c);
    }

    private sealed class Discard : IAlertPublisher
    {
        public void Publish(Alert alert) => alert.Receipt?.Settle();
    }
}
