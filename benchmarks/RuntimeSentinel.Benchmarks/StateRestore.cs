using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Benchmarks;

/// <summary>
/// How long a new instance takes to get N workloads back: checkpoints of N learned baselines (a service's programs,
/// files, peers, names and ports; no model) are written to a state topic on the embedded Kafka, then a fresh state
/// store reads the topic to its end (what start-up waits for) and every checkpoint is decoded (what each workload's
/// first event costs). Prints medians of rounds, then one JSON line.
/// </summary>
public static class StateRestore
{
    public static int Run(int workloads, int rounds)
    {
        var options = new DetectionOptions();
        var checkpoints = Enumerable.Range(0, workloads).Select(w => (Key: new WorkloadKey("prod", $"ns{w % 40}", "Deployment", $"svc{w}", "app"), Bytes: Checkpoint(options, w))).ToList();
        var bytes = checkpoints.Sum(c => (long)c.Bytes.Length);
        var reads = new List<double>();
        var decodes = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            using var cluster = new MockKafkaCluster();
            cluster.CreateTopic("sentinel.state", 6);
            using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 20 }).Build())
            {
                foreach (var (key, value) in checkpoints)
                {
                    producer.Produce("sentinel.state", new Message<string, byte[]> { Key = key.Value, Value = value });
                }

                producer.Flush(TimeSpan.FromSeconds(60));
            }

            var kafka = Options.Create(new KafkaOptions { BootstrapServers = cluster.BootstrapServers, Topics = ["events"] });
            using var connection = new KafkaConnection(kafka, NullLogger<KafkaConnection>.Instance);
            using var store = new KafkaStateStore(kafka, connection, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), new Core.Health.HealthRegistry(), NullLogger<KafkaStateStore>.Instance);
            var sw = Stopwatch.StartNew();
            store.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
            reads.Add(sw.Elapsed.TotalMilliseconds);
            if (store.Count != workloads)
            {
                Console.Error.WriteLine($"state table holds {store.Count} of {workloads} checkpoints");
                return 1;
            }

            sw.Restart();
            foreach (var (key, _) in checkpoints)
            {
                _ = WorkloadCheckpoint.Read(store.Find(key)!, options);
            }

            decodes.Add(sw.Elapsed.TotalMilliseconds);
            Console.WriteLine($"round {round + 1}: read the topic to its end in {reads[^1]:N0} ms, decoded every checkpoint in {decodes[^1]:N0} ms");
        }

        var read = Median(reads);
        var decode = Median(decodes);
        Console.WriteLine($"median over {rounds} rounds, {workloads:N0} workloads: {bytes / (double)workloads / 1024:0.0} KiB per checkpoint, table read in {read:N0} ms, all decoded in {decode:N0} ms ({decode * 1000 / workloads:0} µs per workload), on {Environment.ProcessorCount} cores");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "state_restore",
            workloads,
            bytes_per_checkpoint = bytes / workloads,
            table_read_ms = Math.Round(read),
            decode_ms = Math.Round(decode),
            decode_us_per_workload = Math.Round(decode * 1000 / workloads),
            cores = Environment.ProcessorCount,
        }));
        return 0;
    }

    /// <summary>A learned baseline of a typical service: its checkpoint bytes.</summary>
    private static byte[] Checkpoint(DetectionOptions options, int seed)
    {
        var t0 = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var b = new WorkloadBaseline(options, t0);
        var findings = new List<Finding>();
        var wl = Samples.ExecEvent.Workload with { OwnerName = $"svc{seed}-7d9f8b6c5b", Pod = $"svc{seed}-7d9f8b6c5b-x2k4p" };
        for (var i = 0; i < 2000; i++)
        {
            var t = t0.AddSeconds(i * 2);
            RuntimeEvent e = (i % 5) switch
            {
                0 => Samples.ExecEvent with { Workload = wl, Process = Samples.ExecEvent.Process with { Exe = $"/usr/bin/tool{i % 25}" } },
                1 => Samples.FileEvent with { Workload = wl, FilePath = $"/srv/app/{seed % 7}/module{i % 300}.py" },
                2 => Samples.ConnectEvent with { Workload = wl, Net = Samples.ConnectEvent.Net with { RemoteIp = $"10.96.{i % 4}.{i % 40}", RemotePort = 5432 + (i % 3) } },
                3 => Samples.FileEvent with { Workload = wl, Kind = EventKind.DnsQuery, FilePath = null, DnsName = $"svc{i % 30}.ns{seed % 40}.svc.cluster.local" },
                _ => Samples.FileEvent with { Workload = wl, Kind = EventKind.Syscall, FilePath = null, SyscallName = i % 2 == 0 ? "read" : "openat" },
            };
            b.Observe(e, e.FilePath, t, findings);
        }

        return WorkloadCheckpoint.Write($"prod/ns{seed % 40}/Deployment/svc{seed}/app", b, null, t0.AddHours(2));
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s[s.Count / 2];
    }

}
