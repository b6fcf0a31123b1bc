using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Generators.Corpus;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Benchmarks;

/// <summary>
/// End-to-end on the embedded Kafka: the same N messages read (1) by a bare Confluent consumer that does nothing with
/// them and (2) by the full pipeline (decode, workload key, peers, sharded baselines and models, offsets); then, at
/// half the measured pipeline throughput, how long injected attacks take from produce to incident. Medians of rounds,
/// measured in one run on one machine: absolute numbers on a shared machine mean little, the ratio says what the
/// pipeline costs over raw consumption. The last line printed is one JSON object with every figure.
/// <para>
/// The default message mix is Tetragon's: the normal traffic of the team's shop corpus (exec, exit and kprobes:
/// client- and server-side sockets, file access, median 2.1 KB a message), its namespaces replicated until there are
/// the asked number of workloads. <c>--format native</c> uses small native events instead.
/// </para>
/// </summary>
public static class EndToEnd
{
    private const string Topic = "bench";

    // The embedded cluster keeps about 5 MB of compressed batches per partition and drops the oldest beyond that:
    // 32 partitions hold the default run (about 1M Tetragon messages fit).
    private const int Partitions = 64;

    public static int Run(string[] args)
    {
        var o = Options.Parse(args);
        var mix = o.Format == "native" ? NativeMix(o.Workloads) : TetragonMix(o.Workloads);
        Console.WriteLine($"mix: {o.Format}, {mix.Workloads:N0} workloads, {mix.Templates:N0} distinct messages, median {mix.MedianBytes:N0} bytes");
        var raw = new List<double>();
        var rawCpu = new List<double>();
        var pipelineCpu = new List<double>();
        var decode = new List<double>();
        var pipeline = new List<double>();
        var inMemory = new List<(double Rate, double Bytes)>();
        var perWorkload = new List<double>();
        var learnedShare = new List<double>();
        for (var round = 0; round < o.Rounds; round++)
        {
            using var cluster = new MockKafkaCluster();
            cluster.CreateTopic(Topic, Partitions);
            cluster.CreateTopic(Topic + ".dlq", 1);
            Produce(cluster, mix, o.Events);
            var (rawRate, rawCost) = RawRate(cluster, o.Events);
            raw.Add(rawRate);
            rawCpu.Add(rawCost);
            decode.Add(DecodeRate(cluster, o).Rate);
            inMemory.Add(InMemoryDecodeRate(mix, o));
            Console.WriteLine($"round {round + 1}: raw {raw[^1]:N0} msg/s, consume and decode {decode[^1]:N0} msg/s, decode alone {inMemory[^1].Rate:N0} msg/s ({inMemory[^1].Bytes:N0} B/msg); pipeline (pid {Environment.ProcessId}) ...");
            var (rate, cost, bytes, learned) = PipelineRate(cluster, o, mix).GetAwaiter().GetResult();
            learnedShare.Add(learned);
            pipeline.Add(rate);
            pipelineCpu.Add(cost);
            perWorkload.Add(bytes);
            Console.WriteLine($"round {round + 1}: pipeline {pipeline[^1]:N0} msg/s ({cost:0.0} CPU µs a message, raw {rawCost:0.0}), {bytes / 1024:N1} KiB managed heap per workload");
        }

        var r = Median(raw);
        var p = Median(pipeline);
        var offered = o.Offered > 0 ? o.Offered : p / 2;
        var (p50, p99, attacks, incidents) = Latency(o, mix, offered).GetAwaiter().GetResult();
        Console.WriteLine($"median over {o.Rounds} rounds of {o.Events:N0} events: raw consumption {r:N0} msg/s, full pipeline {p:N0} msg/s, ratio pipeline/raw = {p / r:0.00}");
        Console.WriteLine($"event to incident at {offered:N0} msg/s offered ({(o.Offered > 0 ? "--offered" : "half the pipeline's rate")}): p50 {p50:0.0} ms, p99 {p99:0.0} ms ({incidents} of {attacks} injected attacks raised an incident; Alerting:IncidentGroupWait {o.GroupWait.TotalMilliseconds:0} ms)");
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["raw_events_per_s"] = Math.Round(r),
            ["pipeline_events_per_s"] = Math.Round(p),

            // Where the gap is: consuming with the pipeline's decoder and nothing after it.
            ["decode_events_per_s"] = Math.Round(Median(decode)),

            // The decoder alone on one thread, no Kafka: what a message costs to decode, and what it allocates.
            ["decoder_events_per_s"] = Math.Round(Median(inMemory.Select(m => m.Rate).ToList())),
            ["decoder_bytes_per_event"] = Math.Round(Median(inMemory.Select(m => m.Bytes).ToList()), 1),
            ["ratio"] = Math.Round(p / r, 3),

            // CPU time of the whole process (consumer, embedded broker, pipeline) per message while each phase ran: what
            // a message costs whatever the core count; 1e6 / pipeline_cpu_us_per_event is events/s per core.
            ["raw_cpu_us_per_event"] = Math.Round(Median(rawCpu), 2),
            ["pipeline_cpu_us_per_event"] = Math.Round(Median(pipelineCpu), 2),
            ["pipeline_events_per_core_s"] = Math.Round(1e6 / Median(pipelineCpu)),
            ["p50_ms"] = Math.Round(p50, 1),
            ["p99_ms"] = Math.Round(p99, 1),
            ["offered_events_per_s"] = Math.Round(offered),
            ["attacks"] = attacks,
            ["attacks_with_incident"] = incidents,
            ["group_wait_ms"] = o.GroupWait.TotalMilliseconds,
            ["bytes_per_workload"] = Math.Round(Median(perWorkload)),

            // Of the workloads tracked at the end, the share past learning (active or shadow): what bytes_per_workload covers.
            ["learned_share"] = Math.Round(Median(learnedShare), 3),
            ["format"] = o.Format,
            ["models"] = o.Models,
            ["events"] = o.Events,
            ["workloads"] = mix.Workloads,
            ["rounds"] = o.Rounds,
            ["cores"] = Environment.ProcessorCount,
        }));
        // Figures, not a gate: a missed incident shows in attacks_with_incident (detection has its own tests).
        return 0;
    }

    private sealed record Options(int Events, int Rounds, string Format, int Workloads, TimeSpan GroupWait, double LatencySeconds, bool Models, double Offered)
    {
        public static Options Parse(string[] args)
        {
            // Positional `e2e [events] [rounds]` (the old form) and named options.
            // A value that follows a named option is that option's, not a positional one.
            var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).ToList();
            string? Named(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
            int Int(string? s, int fallback) => s is null ? fallback : int.Parse(s, CultureInfo.InvariantCulture);
            var format = Named("--format") ?? "tetragon";
            if (format is not ("tetragon" or "native"))
            {
                throw new ArgumentException("--format is tetragon or native");
            }

            return new Options(
                Int(Named("--events") ?? positional.ElementAtOrDefault(0), 600_000),
                Int(Named("--rounds") ?? positional.ElementAtOrDefault(1), 3),
                format,
                Int(Named("--workloads"), 200),
                TimeSpan.FromMilliseconds(Int(Named("--group-wait-ms"), 0)),
                Int(Named("--latency-seconds"), 10),
                Named("--models") != "off",
                Int(Named("--offered"), 0));
        }
    }

    /// <summary>The messages to produce: message i is <see cref="Get"/>(i); <see cref="Attack"/> makes an injected attack.</summary>
    private sealed class Mix(int workloads, int templates, int medianBytes, Func<int, (byte[] Key, byte[] Value)> get, Func<int, (byte[] Key, byte[] Value, string Exe)> attack)
    {
        public int Workloads => workloads;

        public int Templates => templates;

        public int MedianBytes => medianBytes;

        public (byte[] Key, byte[] Value) Get(int i) => get(i);

        /// <summary>Attack i: an execution from /tmp in workload i (modulo the mix's): the built-in catalogue raises it at once.</summary>
        public (byte[] Key, byte[] Value, string Exe) Attack(int i) => attack(i);
    }

    private static Mix TetragonMix(int workloads)
    {
        // The corpus's normal hour (its attacks come after it), Tetragon's export only.
        var corpus = new ShopCorpus(7, new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero));
        var lines = corpus.Generate().Where(r => r.Sensor == "tetragon" && r.Time < corpus.AttacksStart).Select(r => Encoding.UTF8.GetString(r.Json)).ToList();
        var namespaces = lines.Select(l => NamespaceOf(l)).OfType<string>().Distinct().ToList();
        var perCopy = Math.Max(1, lines.Select(WorkloadOf).OfType<string>().Distinct().Count());
        var copies = Math.Max(1, (workloads + perCopy - 1) / perCopy);
        // One exec per workload of the corpus to dress attacks in: each attack lands in a workload of its own, so each
        // is its own incident (attacks in one workload fold into one incident, re-emitted at the group interval).
        var execTemplates = lines.Where(l => l.StartsWith("{\"process_exec\"", StringComparison.Ordinal)).GroupBy(WorkloadOf).Select(g => g.First()).ToList();
        string Copy(string line, int copy) => copy == 0 ? line : namespaces.Aggregate(line, (l, ns) => l.Replace($"\"namespace\":\"{ns}\"", $"\"namespace\":\"{ns}-{copy}\"", StringComparison.Ordinal));
        var sizes = lines.Select(l => l.Length).Order().ToList();
        return new Mix(
            copies * perCopy,
            lines.Count * copies,
            sizes[sizes.Count / 2],
            i =>
            {
                var copy = i % copies;
                var line = Copy(lines[i / copies % lines.Count], copy);
                return (Encoding.UTF8.GetBytes(NamespaceOf(line) ?? "node"), Encoding.UTF8.GetBytes(line));
            },
            i =>
            {
                var exe = $"/tmp/.bench-{i}";
                var line = Copy(ReplaceFirstBinary(execTemplates[i % execTemplates.Count], exe), i / execTemplates.Count % copies);
                return (Encoding.UTF8.GetBytes(NamespaceOf(line) ?? "node"), Encoding.UTF8.GetBytes(line), exe);
            });
    }

    private static Mix NativeMix(int workloads)
    {
        var samples = new List<(byte[] Key, byte[] Value)>();
        for (var w = 0; w < workloads; w++)
        {
            var wl = Samples.ExecEvent.Workload with { OwnerName = $"svc{w}-7d9f8b6c5b", Pod = $"svc{w}-7d9f8b6c5b-x2k4p" };
            var key = Encoding.UTF8.GetBytes("svc" + w);
            samples.Add((key, EventJsonWriter.ToUtf8(Samples.ExecEvent with { Workload = wl })));
            samples.Add((key, EventJsonWriter.ToUtf8(Samples.FileEvent with { Workload = wl })));
            samples.Add((key, EventJsonWriter.ToUtf8(Samples.ConnectEvent with { Workload = wl })));
            for (var s = 0; s < 5; s++)
            {
                samples.Add((key, EventJsonWriter.ToUtf8(Samples.FileEvent with { Workload = wl, Kind = EventKind.Syscall, FilePath = null, FileFlags = null, SyscallName = "read" })));
            }
        }

        return new Mix(
            workloads,
            samples.Count,
            samples.Select(s => s.Value.Length).Order().ElementAt(samples.Count / 2),
            i => samples[i % samples.Count],
            i =>
            {
                var exe = $"/tmp/.bench-{i}";
                var w = i % workloads;
                var wl = Samples.ExecEvent.Workload with { OwnerName = $"svc{w}-7d9f8b6c5b", Pod = $"svc{w}-7d9f8b6c5b-x2k4p" };
                return (Encoding.UTF8.GetBytes("svc" + w), EventJsonWriter.ToUtf8(Samples.ExecEvent with { Workload = wl, Process = Samples.ExecEvent.Process with { Exe = exe } }), exe);
            });
    }

    private static string? NamespaceOf(string line)
    {
        const string marker = "\"namespace\":\"";
        var i = line.IndexOf(marker, StringComparison.Ordinal);
        if (i < 0)
        {
            return null;
        }

        var end = line.IndexOf('"', i + marker.Length);
        return line[(i + marker.Length)..end];
    }

    private static string? WorkloadOf(string line)
    {
        const string marker = "\"workload\":\"";
        var i = line.IndexOf(marker, StringComparison.Ordinal);
        return i < 0 ? null : NamespaceOf(line) + "/" + line[(i + marker.Length)..line.IndexOf('"', i + marker.Length)];
    }

    /// <summary>
    /// The template's process becomes a new execution of <paramref name="exe"/>: a new process (its own pid and exec id)
    /// started at run time, so never in Tetragon's procFS inventory of processes found at sensor start. A template
    /// taken as it was made the attack the workload's own long-running process, found by the inventory.
    /// </summary>
    private static string ReplaceFirstBinary(string line, string exe)
    {
        line = ReplaceFirst(line, "\"binary\":\"", exe);
        line = ReplaceFirst(line, "\"exec_id\":\"", Convert.ToBase64String(Encoding.UTF8.GetBytes("bench:" + exe)));
        line = ReplaceNumber(line, "\"pid\":", 60_000 + int.Parse(exe[(exe.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture));
        return ReplaceFirst(line, "\"flags\":\"", "execve clone");
    }

    private static string ReplaceNumber(string line, string marker, int value)
    {
        var i = line.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        var end = line.IndexOfAny([',', '}'], i);
        return string.Concat(line.AsSpan(0, i), value.ToString(CultureInfo.InvariantCulture), line.AsSpan(end));
    }

    private static string ReplaceFirst(string line, string marker, string value)
    {
        var i = line.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        var end = line.IndexOf('"', i);
        return string.Concat(line.AsSpan(0, i), value, line.AsSpan(end));
    }

    private static IProducer<byte[], byte[]> Producer(MockKafkaCluster cluster, int lingerMs) =>
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = lingerMs, CompressionType = CompressionType.Lz4, BatchSize = 1_000_000 }).Build();

    // Deliveries the embedded cluster refused: a run on messages that are not all there would measure nothing.
    private static int _undelivered;
    private static string? _undeliveredReason;

    private static void Send(IProducer<byte[], byte[]> producer, (byte[] Key, byte[] Value) m)
    {
        while (true)
        {
            try
            {
                producer.Produce(Topic, new Message<byte[], byte[]> { Key = m.Key, Value = m.Value }, r =>
                {
                    if (r.Error.IsError)
                    {
                        Interlocked.Increment(ref _undelivered);
                        _undeliveredReason = r.Error.ToString();
                    }
                });
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }

    private static void Produce(MockKafkaCluster cluster, Mix mix, int events)
    {
        using var producer = Producer(cluster, 20);
        for (var i = 0; i < events; i++)
        {
            Send(producer, mix.Get(i));
        }

        var left = producer.Flush(TimeSpan.FromSeconds(120));
        if (left > 0 || _undelivered > 0)
        {
            throw new InvalidOperationException($"{left + _undelivered:N0} of {events:N0} messages not delivered to the embedded cluster ({_undeliveredReason ?? "not within 2 min"})");
        }
    }

    /// <summary>The consume thread's share alone: a consumer with the pipeline's deserializer (the topic's decoder), nothing after it.</summary>
    private static (double Rate, double CpuMicroseconds) DecodeRate(MockKafkaCluster cluster, Options o)
    {
        using var consumer = new ConsumerBuilder<Ignore, DecodedMessage>(ReferenceConsumer(cluster, "decode"))
            .SetValueDeserializer(new EventDeserializer(_ => o.Format)).Build();
        return ReadAll(consumer, o.Events, r => r.Message.Value.Ok ? true : throw new InvalidOperationException(r.Message.Value.Error.ToString()));
    }

    /// <summary>The topic's decoder alone over the mix's messages (distinct, as produced), on this thread: rate and bytes allocated per message.</summary>
    private static (double Rate, double BytesPerEvent) InMemoryDecodeRate(Mix mix, Options o)
    {
        var messages = Enumerable.Range(0, Math.Min(o.Events, 50_000)).Select(i => mix.Get(i).Value).ToArray();
        var decoder = new EventDeserializer(_ => o.Format);
        var context = new SerializationContext(MessageComponentType.Value, Topic);
        foreach (var m in messages)
        {
            _ = decoder.Deserialize(m, false, context); // warm: JIT and caches, as a running consumer has them
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var n = 0;
        for (var pass = 0; pass < 3; pass++)
        {
            foreach (var m in messages)
            {
                n += decoder.Deserialize(m, false, context).Ok ? 1 : 0;
            }
        }

        return (n / sw.Elapsed.TotalSeconds, (GC.GetAllocatedBytesForCurrentThread() - before) / (double)n);
    }

    /// <summary>A phase that waits for messages that never come (the embedded cluster lost some) fails instead of hanging.</summary>
    private static void StopIfStalled(Stopwatch idle, int consumed, int expected)
    {
        if (idle.Elapsed > TimeSpan.FromSeconds(30))
        {
            throw new InvalidOperationException($"no message for 30 s after {consumed:N0} of {expected:N0}: the embedded cluster did not keep every produced message: it keeps about 5 MB of compressed batches per partition; run fewer --events");
        }
    }

    private static (double Rate, double CpuMicroseconds) RawRate(MockKafkaCluster cluster, int events)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(ReferenceConsumer(cluster, "raw")).Build();
        return ReadAll(consumer, events, _ => true);
    }

    /// <summary>
    /// The reference consumers get the pipeline's fetch settings: with librdkafka's 1 s default a consumer idles whenever
    /// its prefetch queue fills, and the raw rate swung between 70k and 290k msg/s from run to run.
    /// </summary>
    private static ConsumerConfig ReferenceConsumer(MockKafkaCluster cluster, string name) => new()
    {
        BootstrapServers = cluster.BootstrapServers,
        GroupId = name + "-" + Guid.NewGuid().ToString("N"),
        FetchQueueBackoffMs = new KafkaOptions().FetchQueueBackoffMs,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = true,
    };

    /// <summary>Reads <paramref name="events"/> messages; the rate counts from the first one (group join is not throughput).</summary>
    private static (double Rate, double CpuMicroseconds) ReadAll<T>(IConsumer<Ignore, T> consumer, int events, Func<ConsumeResult<Ignore, T>, bool> check)
    {
        consumer.Subscribe(Topic);
        var n = 0;
        Stopwatch? sw = null;
        var cpu = TimeSpan.Zero;
        var idle = Stopwatch.StartNew();
        while (n < events)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { } r)
            {
                if (sw is null)
                {
                    cpu = ProcessCpu();
                    sw = Stopwatch.StartNew();
                }

                n += check(r) ? 1 : 0;
                idle.Restart();
            }
            else
            {
                StopIfStalled(idle, n, events);
            }
        }

        return ((n - 1) / sw!.Elapsed.TotalSeconds, (ProcessCpu() - cpu).TotalMicroseconds / (n - 1));
    }

    private static TimeSpan ProcessCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static IHost Pipeline(MockKafkaCluster cluster, Options o, IIncidentObserver? observer = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = cluster.BootstrapServers,
            ["Kafka:Topics:0"] = Topic,
            ["Kafka:GroupId"] = "pipeline-" + Guid.NewGuid().ToString("N"),
            ["Kafka:AlertsTopic"] = "",
            ["Kafka:FeedbackTopic"] = "",
            ["Kafka:StateTopic"] = "",
            ["Kafka:DefaultFormat"] = o.Format,

            // The embedded cluster's setting (this harness starts its own mock cluster, so it is not "embedded" by
            // configuration): the mock answers a fetch only when fetch.wait.max.ms is over, a real broker as soon as
            // data arrives.
            ["Kafka:FetchWaitMaxMs"] = KafkaOptions.EmbeddedFetchWaitMaxMs.ToString(CultureInfo.InvariantCulture),
            ["Detection:LearningDuration"] = "00:00:00",
            ["Detection:MinLearningEvents"] = "50",
            ["Detection:MaxWorkloads"] = Math.Max(5000, o.Workloads * 2).ToString(CultureInfo.InvariantCulture),
            ["Detection:Models:Enabled"] = o.Models ? "true" : "false",
            ["Detection:Models:TrainInBackground"] = "true", // as the daemon runs (appsettings.json)
            ["Alerting:Console"] = "false",
            ["Alerting:IncidentGroupWait"] = o.GroupWait.ToString("c", CultureInfo.InvariantCulture),
        });
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        if (observer is not null)
        {
            builder.Services.AddSingleton(observer);
        }

        builder.Services.AddSentinelAlerting(builder.Configuration);
        builder.Services.AddSentinelDetection(builder.Configuration);
        builder.Services.AddSentinelKafka(builder.Configuration);
        return builder.Build();
    }

    private static async Task<(double Rate, double CpuMicroseconds, double BytesPerWorkload, double LearnedShare)> PipelineRate(MockKafkaCluster cluster, Options o, Mix mix)
    {
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        using var host = Pipeline(cluster, o);
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        var pipeline = host.Services.GetRequiredService<DetectionPipeline>();
        while (ingest.EventsIngested + ingest.MessagesRejected == 0)
        {
            await Task.Delay(1);
        }

        var cpu = ProcessCpu();
        var sw = Stopwatch.StartNew();
        var start = ingest.EventsIngested + ingest.MessagesRejected;
        while (ingest.EventsIngested + ingest.MessagesRejected < o.Events)
        {
            await Task.Delay(5);
        }

        // Count only what detection finished, not just what was queued.
        while ((await pipeline.SnapshotAsync()).Sum(s => s.EventsLearned + s.EventsScored) < ingest.EventsIngested)
        {
            await Task.Delay(5);
        }

        var rate = (o.Events - start) / sw.Elapsed.TotalSeconds;
        var cost = (ProcessCpu() - cpu).TotalMicroseconds / (o.Events - start);

        // What the learned workloads hold, on the managed heap (baselines, models, caches), per workload tracked.
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var workloads = await pipeline.SnapshotAsync();
        var tracked = workloads.Count;
        var learned = workloads.Count(w => w.Phase is BaselinePhase.Active or BaselinePhase.Shadow);
        await host.StopAsync();
        return (rate, cost, (heapAfter - heapBefore) / (double)Math.Max(1, tracked), learned / (double)Math.Max(1, tracked));
    }

    private sealed class IncidentClock : IIncidentObserver
    {
        public ConcurrentDictionary<string, long> Raised { get; } = new(StringComparer.Ordinal);

        public void OnIncident(Incident incident)
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var alert in incident.Samples)
            {
                foreach (var e in alert.Evidence)
                {
                    if (e.Process.Exe is { } exe && exe.StartsWith("/tmp/.bench-", StringComparison.Ordinal))
                    {
                        Raised.TryAdd(exe, now);
                    }
                }
            }
        }
    }

    /// <summary>Offers the mix at a fixed rate with attacks spread over the period, each in its own workload; the time from produce to its incident.</summary>
    private static async Task<(double P50, double P99, int Attacks, int Incidents)> Latency(Options o, Mix mix, double rate)
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic(Topic, Partitions);
        cluster.CreateTopic(Topic + ".dlq", 1);
        var clock = new IncidentClock();
        using var host = Pipeline(cluster, o, clock);
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        // Batches of up to 10 ms (they count in the latency: the clock starts at Produce). A request per message cost the
        // generator and the embedded broker more CPU than the pipeline had left on a small machine; 2 ms batches spread
        // over 64 partitions made one-message sets, and the embedded broker looks sets up linearly: at 20k messages/s
        // latency then grew from 10 to 800 ms within 10 s, with 10 ms batches it stays flat.
        using var producer = Producer(cluster, 10);

        // Made before the warm-up: on a small machine the load generator shares the cores with the pipeline, and building
        // each message while pacing both slowed the pipeline and made the generator fall behind its rate. At most 20,000
        // distinct messages, sent round: building all (400k at 40k/s, 800 MB) left the collector busy for the first
        // seconds of the measurement.
        var attacks = Math.Max(1, Math.Min(mix.Workloads, (int)(o.LatencySeconds * 10)));
        var offered = Enumerable.Range(0, (int)Math.Clamp(rate * o.LatencySeconds, 1, 20_000)).Select(i => mix.Get(WarmUpEvents(o, mix) + i)).ToArray();
        var attackMessages = Enumerable.Range(0, attacks).Select(mix.Attack).ToArray();

        // Warm up: every workload of the mix seen and learned before the clock starts.
        var warm = WarmUpEvents(o, mix);
        for (var i = 0; i < warm; i++)
        {
            Send(producer, mix.Get(i));
        }

        producer.Flush(TimeSpan.FromSeconds(120));
        var deadline = Stopwatch.StartNew();
        while (ingest.EventsIngested + ingest.MessagesRejected < warm && deadline.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(10);
        }

        // Then until detection has processed the warm-up and the models it started training are in service (no new
        // model for a second; some workloads never get one, too little data): otherwise the first seconds measure the
        // warm-up's backlog and training, not the offered load.
        var pipeline = host.Services.GetRequiredService<DetectionPipeline>();
        var settle = Stopwatch.StartNew();
        var (models, stable) = (-1, Stopwatch.StartNew());
        while (settle.Elapsed < TimeSpan.FromMinutes(1))
        {
            var workloads = await pipeline.SnapshotAsync();
            var inService = workloads.Count(w => w.ModelVersion is not null);
            if (inService != models)
            {
                (models, stable) = (inService, Stopwatch.StartNew());
            }

            if (workloads.Sum(w => w.EventsLearned + w.EventsScored) >= ingest.EventsIngested && (!o.Models || stable.Elapsed >= TimeSpan.FromSeconds(1)))
            {
                break;
            }

            await Task.Delay(50);
        }

        // One attack per workload at most, spread over the measured period.
        var every = o.LatencySeconds * 1000 / attacks;
        var sent = new Dictionary<string, long>(StringComparer.Ordinal);
        var sw = Stopwatch.StartNew();
        var produced = 0L;
        var next = 0;
        while (sw.Elapsed.TotalSeconds < o.LatencySeconds)
        {
            // Paced: as many messages as the offered rate allows by now, one attack every 100 ms.
            var due = (long)(sw.Elapsed.TotalSeconds * rate);
            for (; produced < due; produced++)
            {
                Send(producer, offered[next++ % offered.Length]);
            }

            if (sent.Count < attacks && sw.ElapsedMilliseconds >= sent.Count * every)
            {
                var (key, value, exe) = attackMessages[sent.Count];
                Send(producer, (key, value));
                sent[exe] = Stopwatch.GetTimestamp();
            }

            producer.Poll(TimeSpan.Zero);
            await Task.Delay(1);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        var wait = Stopwatch.StartNew();
        while (clock.Raised.Count < sent.Count && wait.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        await host.StopAsync();
        var latencies = sent.Where(s => clock.Raised.ContainsKey(s.Key)).Select(s => Stopwatch.GetElapsedTime(s.Value, clock.Raised[s.Key]).TotalMilliseconds).Order().ToList();
        double Q(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        return (Q(0.5), Q(0.99), sent.Count, latencies.Count);
    }

    /// <summary>Messages sent before the latency clock starts: enough for every workload of the mix to be learned.</summary>
    private static int WarmUpEvents(Options o, Mix mix) => Math.Min(o.Events, Math.Max(20_000, mix.Workloads * 60));

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
