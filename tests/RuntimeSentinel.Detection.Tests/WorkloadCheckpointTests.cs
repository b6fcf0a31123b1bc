using System.Buffers.Binary;
using System.IO.Compression;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class WorkloadCheckpointTests
{
    private const string Workload = "prod/shop/Deployment/cart/cart";

    private static DetectionOptions Options() => new()
    {
        LearningDuration = TimeSpan.FromMinutes(5),
        MinLearningEvents = 10,
        AlertCooldown = TimeSpan.FromMinutes(10),
        Models = new ModelOptions { ShadowDuration = TimeSpan.Zero },
    };

    private static List<Finding> Observe(WorkloadBaseline b, RuntimeEvent e, DateTimeOffset now)
    {
        var findings = new List<Finding>();
        b.Observe(e, e.FilePath is { } p ? PathNormalizer.Normalize(p) : null, now, findings);
        return findings;
    }

    private static RuntimeEvent Sent(string ip, long bytes) =>
        Some.Event(EventKind.NetFlow) with { Net = new NetInfo("tcp", "10.244.1.12", 5432, ip, 44000, 0, bytes) { Direction = NetDirection.Inbound } };

    private static RuntimeEvent Dial(int localPort) =>
        Some.Connect("10.96.0.5", 5432) with { Net = new NetInfo("tcp", "10.0.0.5", localPort, "10.96.0.5", 5432, 0, 0) { Direction = NetDirection.Outbound } };

    private static RuntimeEvent HangUp(int localPort) =>
        Some.Event(EventKind.NetFlow) with { SyscallName = "close", Net = new NetInfo("tcp", "10.0.0.5", localPort, "10.96.0.5", 5432, 0, 0) { Direction = NetDirection.Outbound } };

    /// <summary>A cart service that learned for ten minutes, went active and already alerted once.</summary>
    private static (WorkloadBaseline Baseline, DateTimeOffset Now) Learned(DetectionOptions o)
    {
        var t0 = Some.Time;
        var b = new WorkloadBaseline(o, t0);
        for (var i = 0; i < 600; i++)
        {
            var t = t0.AddSeconds(i);
            Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t);
            Observe(b, Some.FileOpen($"/srv/uploads/u{i % 40}.png"), t);
            Observe(b, Some.FileOpen("/etc/hosts"), t);
            Observe(b, Some.Syscall(i % 2 == 0 ? "read" : "write"), t);
            Observe(b, Some.Connect("10.96.0.5", 5432), t);
            Observe(b, Some.Dns("db.shop.svc.cluster.local."), t);
            Observe(b, Some.Listen(8080), t);
            Observe(b, Some.Resource(0.2 + (0.01 * (i % 3)), (100 << 20) + (i % 5 << 20)), t);
            Observe(b, Sent("10.244.1.10", 20_000), t);
            Observe(b, Dial(40000), t); // a pooled connection: the database's minutes pass with no failures
        }

        var now = t0.AddMinutes(11);
        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.NotEmpty(Observe(b, Some.Exec("/bin/sh", "/usr/bin/node"), now)); // a cooldown that must survive
        b.Absorb(Feature.Dns, null, now.AddHours(1)); // an analyst accepted new DNS names for an hour
        return (b, now);
    }

    /// <summary>What an analyst would see: every finding's category, item and severity, in order.</summary>
    private static List<string> Probe(WorkloadBaseline b, DateTimeOffset now)
    {
        RuntimeEvent[] probes =
        [
            Some.Exec("/usr/bin/node", "/usr/bin/tini"),
            Some.Exec("/bin/sh", "/usr/bin/node"), // cooling down since the alert above
            Some.Exec("/usr/bin/curl", "/usr/bin/node"),
            Some.Exec("/usr/bin/node", "/bin/bash"),
            Some.FileOpen("/srv/uploads/new-name.png"), // a directory of many learned names
            Some.FileOpen("/etc/shadow"),
            Some.Connect("10.96.0.5", 5432),
            Some.Connect("203.0.113.9", 4444),
            Some.Dns("exfil.example.org."), // accepted by the analyst
            Some.Listen(31337),
            Some.Resource(3.5, 100 << 20),
            Some.Syscall("ptrace"),
        ];
        var seen = new List<string>();
        foreach (var e in probes)
        {
            seen.AddRange(Observe(b, e, now).Select(f => $"{f.Category} {f.Item} {f.Severity} {f.Score:0.###}/{f.Threshold:0.###}"));
        }

        for (var i = 0; i < 12; i++)
        {
            // Password guessing: each connection closed at once.
            seen.AddRange(Observe(b, Dial(50000 + i), now.AddSeconds(i)).Concat(Observe(b, HangUp(50000 + i), now.AddSeconds(i).AddMilliseconds(4))).Select(f => $"{f.Category} {f.Item} {f.Severity}"));
        }

        for (var i = 0; i < 200; i++)
        {
            seen.AddRange(Observe(b, Sent("10.244.1.10", 65_536), now.AddMilliseconds(100 * i)).Select(f => $"{f.Category} {f.Item} {f.Severity}"));
        }

        return seen;
    }

    [Fact]
    public void Read_AfterWrite_RestoredBaselineAnswersEveryProbeLikeTheOriginal()
    {
        var o = Options();
        var (original, now) = Learned(o);
        var bytes = WorkloadCheckpoint.Write(Workload, original, null, now);

        var restored = WorkloadCheckpoint.Read(bytes, o);

        Assert.Equal(Workload, restored.Workload);
        Assert.Equal(now, restored.WrittenAt);
        Assert.Equal(now, WorkloadCheckpoint.WrittenAt(bytes));
        var b = restored.Baseline;
        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.Equal((original.FirstSeen, original.LearningSince, original.ActiveSince, original.EventsLearned, original.EventsScored),
            (b.FirstSeen, b.LearningSince, b.ActiveSince, b.EventsLearned, b.EventsScored));
        foreach (var f in Enum.GetValues<Feature>())
        {
            Assert.Equal(original.Counter(f).Items.OrderBy(i => i.Key.ToString()), b.Counter(f).Items.OrderBy(i => i.Key.ToString()));
            Assert.Equal(original.Counter(f).Total, b.Counter(f).Total);
        }

        var expected = Probe(original, now.AddMinutes(1));
        Assert.Contains(expected, s => s.StartsWith("unexpected_process /usr/bin/curl", StringComparison.Ordinal));
        Assert.Contains(expected, s => s.StartsWith("resource_anomaly cpu", StringComparison.Ordinal));
        Assert.Contains(expected, s => s.StartsWith("peer_volume", StringComparison.Ordinal));
        Assert.Contains(expected, s => s.StartsWith("failed_sessions", StringComparison.Ordinal));
        Assert.DoesNotContain(expected, s => s.Contains("/bin/sh", StringComparison.Ordinal) || s.Contains("uploads", StringComparison.Ordinal) || s.Contains("exfil", StringComparison.Ordinal));
        Assert.Equal(expected, Probe(b, now.AddMinutes(1)));
    }

    [Fact]
    public void Read_WorkloadStillLearning_GoesOnLearningWhereItStopped()
    {
        var o = Options();
        var b = new WorkloadBaseline(o, Some.Time);
        for (var i = 0; i < 120; i++)
        {
            Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddSeconds(i));
        }

        var restored = WorkloadCheckpoint.Read(WorkloadCheckpoint.Write(Workload, b, null, Some.Time.AddMinutes(2)), o).Baseline;

        Assert.Equal(BaselinePhase.Learning, restored.Phase);
        Observe(restored, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddMinutes(4));
        Assert.Equal(BaselinePhase.Learning, restored.Phase);
        Observe(restored, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddMinutes(5).AddSeconds(1));
        Assert.Equal(BaselinePhase.Active, restored.Phase); // five minutes after it began, not after the restore
    }

    [Fact]
    public void Read_ModelInService_ComesBackThroughTheModelLoader()
    {
        var o = Options();
        var (baseline, now) = Learned(o);
        var (model, workload) = WorkloadModelTests.Trained(seed: 31, version: "v7");
        var models = new ModelRuntime(workload, o.Models, 1);
        Assert.True(models.Swap(model, promoted: true));

        var bytes = WorkloadCheckpoint.Write(workload, baseline, models, now);
        var restored = WorkloadCheckpoint.Read(bytes, o);

        Assert.NotNull(restored.Model);
        Assert.True(restored.ModelPromoted);
        Assert.Equal("v7", restored.Model.Card.Version);
        Assert.Equal(model.Card.Thresholds, restored.Model.Card.Thresholds);
        Assert.True(bytes.Length < 1 << 20, $"checkpoint with model: {bytes.Length} bytes");
    }

    [Fact]
    public void Read_FormatOrMagicOfSomethingElse_RefusedWithTheReason()
    {
        var (b, now) = Learned(Options());
        var bytes = WorkloadCheckpoint.Write(Workload, b, null, now);

        Assert.Contains("no magic", Assert.Throws<CheckpointRejectedException>(() => WorkloadCheckpoint.Read("{\"a\":1}"u8, Options())).Message, StringComparison.Ordinal);
        bytes[4] = 9;
        Assert.Contains("format 9", Assert.Throws<CheckpointRejectedException>(() => WorkloadCheckpoint.Read(bytes, Options())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DecompressionBomb_RefusedBeforeItGrows()
    {
        using var output = new MemoryStream();
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x43575352);
        header[4] = WorkloadCheckpoint.FormatVersion;
        output.Write(header);
        using (var brotli = new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 64; i++)
            {
                brotli.Write(zeros);
            }
        }

        Assert.True(output.Length < 100_000);
        var ex = Assert.Throws<CheckpointRejectedException>(() => WorkloadCheckpoint.Read(output.ToArray(), Options()));
        Assert.Contains("after decompression", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_CountsBeyondThisBuildsCaps_Refused()
    {
        // Written with a generous cap, read by a build whose cap is smaller: refused, never grown past the cap.
        var wide = Options();
        wide.MaxItemsPerFeature = 4096;
        var b = new WorkloadBaseline(wide, Some.Time);
        for (var i = 0; i < 300; i++)
        {
            // 300 names that stay distinct after normalisation (letters only).
            Observe(b, Some.FileOpen($"/data/{(char)('g' + (i % 20))}{(char)('g' + (i / 20))}"), Some.Time);
        }

        var narrow = Options();
        narrow.MaxItemsPerFeature = 100;
        var ex = Assert.Throws<CheckpointRejectedException>(() => WorkloadCheckpoint.Read(WorkloadCheckpoint.Write(Workload, b, null, Some.Time), narrow));
        Assert.Contains("file items", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MutatedCheckpoints_EitherRestoreOrRefuseWithAReasonNeverAnythingElse()
    {
        var o = Options();
        var (b, now) = Learned(o);
        var valid = WorkloadCheckpoint.Write(Workload, b, null, now);

        // Mutate the decompressed body too, so the reader's own checks are reached, not only Brotli's.
        var body = Body(valid);
        var random = new Random(1234);
        int restored = 0, refused = 0;
        for (var i = 0; i < 3000; i++)
        {
            var mutated = (byte[])body.Clone();
            switch (i % 3)
            {
                case 0:
                    mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    mutated = mutated[..random.Next(mutated.Length)];
                    break;
                default:
                    for (var k = 0; k < 8; k++)
                    {
                        mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                    }

                    break;
            }

            var bytes = i % 10 == 9 ? Flip(valid, random) : Wrap(mutated);
            try
            {
                // What restores must also work: the probes run on it without throwing.
                Probe(WorkloadCheckpoint.Read(bytes, o).Baseline, now.AddMinutes(1));
                restored++;
            }
            catch (CheckpointRejectedException)
            {
                refused++;
            }
        }

        Assert.Equal(3000, restored + refused);
        Assert.True(refused > 1000, $"refused {refused}, restored {restored}");
    }

    private static byte[] Flip(byte[] valid, Random random)
    {
        var copy = (byte[])valid.Clone();
        copy[13 + random.Next(copy.Length - 13)] ^= 0x20;
        return copy;
    }

    private static byte[] Body(byte[] checkpoint)
    {
        using var input = new MemoryStream(checkpoint, 13, checkpoint.Length - 13);
        using var brotli = new BrotliStream(input, CompressionMode.Decompress);
        using var body = new MemoryStream();
        brotli.CopyTo(body);
        return body.ToArray();
    }

    private static byte[] Wrap(byte[] body)
    {
        using var output = new MemoryStream();
        output.Write([0x52, 0x53, 0x57, 0x43, WorkloadCheckpoint.FormatVersion, 0, 0, 0, 0, 0, 0, 0, 0]);
        using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            brotli.Write(body);
        }

        return output.ToArray();
    }
}
