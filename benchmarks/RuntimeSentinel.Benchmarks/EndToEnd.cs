using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Benchmarks;

/// <summary>
/// End-to-end throughput on the embedded Kafka: the same N messages read (1) by a bare Confluent consumer that
/// does nothing with them and (2) by the full pipeline (decode, workload key, sharded baselines, offsets). Prints
/// medians of several rounds and their ratio, measured in one run on one machine: absolute numbers on a shared
/// machine mean little, the ratio says what the pipeline costs over raw consumption.
/// </summary>
public static class EndToEnd
{
    public static int Run(int events, int rounds)
    {
        var raw = new List<double>();
        var pipeline = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            using var cluster = new MockKafkaCluster();
            cluster.CreateTopic("bench", 8);
            cluster.CreateTopic("bench.dlq", 1);
            Produce(cluster, events);
            raw.Add(RawRate(cluster, events));
            pipeline.Add(PipelineRate(cluster, events).GetAwaiter().GetResult());
            Console.WriteLine($"round {round + 1}: raw {raw[^1]:N0} msg/s, pipeline {pipeline[^1]:N0} msg/s");
        }

        var r = Median(raw);
        var p = Median(pipeline);
        Console.WriteLine($"median over {rounds} rounds of {events:N0} events: raw consumption {r:N0} msg/s, full pipeline {p:N0} msg/s, ratio pipeline/raw = {p / r:0.00}");
        return 0;
    }

    private static void Produce(MockKafkaCluster cluster, int events)
    {
        var samples = new List<(byte[] Key, byte[] Value)>();
        for (var w = 0; w < 20; w++)
        {
            var wl = Samples.ExecEvent.Workload with { OwnerName = $"svc{w}-7d9f8b6c5b", Pod = $"svc{w}-7d9f8b6c5b-x2k4p" };
            var key = System.Text.Encoding.UTF8.GetBytes("svc" + w);
            samples.Add((key, EventJsonWriter.ToUtf8(Samples.ExecEvent with { Workload = wl })));
            samples.Add((key, EventJsonWriter.ToUtf8(Samples.FileEvent with { Workload = wl })));
            samples.Add((key, EventJsonWriter.ToUtf8(Samples.ConnectEvent with { Workload = wl })));
            for (var s = 0; s < 5; s++)
            {
                samples.Add((key, EventJsonWriter.ToUtf8(Samples.FileEvent with { Workload = wl, Kind = EventKind.Syscall, FilePath = null, FileFlags = null, SyscallName = "read" })));
            }
        }

        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 20, CompressionType = CompressionType.Lz4, BatchSize = 1_000_000 }).Build();
        for (var i = 0; i < events; i++)
        {
            var (k, v) = samples[i % samples.Count];
            while (true)
            {
                try
                {
                    producer.Produce("bench", new Message<byte[], byte[]> { Key = k, Value = v });
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }

        producer.Flush(TimeSpan.FromSeconds(60));
    }

    private static double RawRate(MockKafkaCluster cluster, int events)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "raw-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
        }).Build();
        consumer.Subscribe("bench");
        var n = 0;
        Stopwatch? sw = null;
        while (n < events)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is not null)
            {
                sw ??= Stopwatch.StartNew(); // from the first message: group join is not throughput
                n++;
            }
        }

        return (n - 1) / sw!.Elapsed.TotalSeconds;
    }

    private static async Task<double> PipelineRate(MockKafkaCluster cluster, int events)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = cluster.BootstrapServers,
            ["Kafka:Topics:0"] = "bench",
            ["Kafka:GroupId"] = "pipeline-" + Guid.NewGuid().ToString("N"),
            ["Kafka:AlertsTopic"] = "",
            ["Kafka:FeedbackTopic"] = "",
            ["Kafka:DefaultFormat"] = "native",
            ["Detection:LearningDuration"] = "00:00:00",
            ["Detection:MinLearningEvents"] = "1000",
            ["Alerting:Console"] = "false",
        });
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        builder.Services.AddSentinelAlerting(builder.Configuration);
        builder.Services.AddSentinelDetection(builder.Configuration);
        builder.Services.AddSentinelKafka(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        var pipeline = host.Services.GetRequiredService<DetectionPipeline>();
        while (ingest.EventsIngested == 0)
        {
            await Task.Delay(1);
        }

        var sw = Stopwatch.StartNew();
        var start = ingest.EventsIngested;
        while (ingest.EventsIngested < events)
        {
            await Task.Delay(5);
        }

        // Count only what detection finished, not just what was queued.
        while ((await pipeline.SnapshotAsync()).Sum(s => s.EventsLearned + s.EventsScored) < events)
        {
            await Task.Delay(5);
        }

        var rate = (events - start) / sw.Elapsed.TotalSeconds;
        await host.StopAsync();
        return rate;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
