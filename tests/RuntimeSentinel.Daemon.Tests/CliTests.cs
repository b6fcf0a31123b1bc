using System.Text.Json;
using RuntimeSentinel.Formats.Native;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

public class CliTests
{
    [SkippableFact]
    public async Task Convert_EverySampleFile_AcceptsAllAndWritesValidNativeEvents()
    {
        var root = Datasets.Require("tool-samples", "tool-samples");
        var files = Directory.GetFiles(root, "*.json*", SearchOption.AllDirectories).Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)).Order().ToArray();
        using var sentinel = new SentinelProcess(["convert", "--from", "auto", .. files]);
        await sentinel.AssertExitsWithAsync(0, TimeSpan.FromSeconds(60));
        var lines = sentinel.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(62 + 30 + 19 + 1916 - 13, lines.Length); // every record but the 13 ignored ones
        var decoder = new EventDecoder();
        Assert.All(lines, l => Assert.True(decoder.TryDecode(System.Text.Encoding.UTF8.GetBytes(l), out _, out var e), e.ToString()));
        Assert.Equal(files.Length, sentinel.Stderr.Split('\n').Count(l => l.Contains(" records: ", StringComparison.Ordinal)));
        Assert.DoesNotContain("rejected:", sentinel.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Convert_CorruptedLine_ReportsLineAndReasonAndExitsNonZero()
    {
        var source = Path.Combine(Datasets.Require("tool-samples", "tool-samples"), "tracee", "tracee_events_from_docs.jsonl");
        var lines = File.ReadAllLines(source).ToList();
        lines[2] = lines[2][..(lines[2].Length / 2)]; // truncate line 3
        var file = Path.Combine(Path.GetTempPath(), $"corrupt-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(file, lines);
        try
        {
            using var sentinel = new SentinelProcess("convert", "--from", "auto", file);
            Assert.Equal(1, await sentinel.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"{file}:3: rejected: malformed_json", sentinel.Stderr, StringComparison.Ordinal);
            Assert.Contains("19 records: 18 events, 0 ignored, 1 rejected", sentinel.Stderr, StringComparison.Ordinal);
            Assert.Equal(18, sentinel.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public async Task Replay_LidDsRecordingIntoEmbeddedDaemon_ReportsAlertsBeforeAndAfterTheExploit()
    {
        var zip = Datasets.Require("lid-ds/aggressive_nightingale_1018.zip", "lid-ds");
        using var sentinel = new SentinelProcess("replay", zip, "--learning", "5", "--json");
        await sentinel.AssertExitsWithAsync(0, TimeSpan.FromSeconds(120));
        var summary = JsonDocument.Parse(sentinel.Stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(12668, summary.GetProperty("published").GetInt64());
        Assert.Equal(0, summary.GetProperty("rejected").GetInt64());

        // The recording's own labelling (datasets/lid-ds/README.md): its metadata puts the exploit at unix time
        // 1631078877.513988 (time.exploit[0].absolute); events before it are normal, events from it on belong to the
        // brute force.
        var exploit = summary.GetProperty("exploit_time").GetDateTimeOffset();
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1631078877513).AddTicks(9880), exploit);
        var scenarios = summary.GetProperty("events_by_scenario");
        Assert.Equal(3355, scenarios.GetProperty("normal").GetInt64());
        Assert.Equal(9313, scenarios.GetProperty("attack:victim_bruteforce").GetInt64());

        // The baseline learns 5 s of the recording, stays quiet on the rest of the normal part and flags the
        // brute force (new syscalls and files of the login storm) within two seconds of its start. Every alert
        // falls on one side of the exploit time or the other.
        var onNormal = summary.GetProperty("alerts_on_normal").GetInt32();
        var onAttack = summary.GetProperty("alerts_on_attack").GetInt32();
        Assert.Equal(0, onNormal);
        Assert.Equal(onNormal + onAttack, summary.GetProperty("alerts").GetInt32());
        Assert.Empty(summary.GetProperty("alerts_on_normal_by_category").EnumerateObject());
        var delay = summary.GetProperty("detection_delay_seconds").GetDouble();
        Assert.InRange(delay, 0, 2);

        // What it raises on the attack (11 alerts today: 9 new syscalls, 2 new files), with margin: the syscall
        // novelty of the login storm carries the detection, file novelty adds to it.
        var byCategory = summary.GetProperty("alerts_on_attack_by_category");
        Assert.True(onAttack >= 6, summary.ToString());
        Assert.True(byCategory.TryGetProperty("unexpected_syscall", out var syscalls) && syscalls.GetInt32() >= 5, summary.ToString());
        Assert.True(byCategory.TryGetProperty("unexpected_file", out var files) && files.GetInt32() >= 1, summary.ToString());
    }

    [SkippableFact]
    public async Task EvaluateAdfaLd_Json_ReportsEveryTraceAndBeatsStide()
    {
        var data = Datasets.Require("adfa-ld", "adfa-ld");
        using var sentinel = new SentinelProcess("evaluate", "adfa-ld", "--data", data, "--json");
        await sentinel.AssertExitsWithAsync(0, TimeSpan.FromSeconds(120));
        var r = JsonDocument.Parse(sentinel.Stdout.Trim()).RootElement;
        Assert.Equal(1830, r.GetProperty("normal").GetInt32());
        Assert.Equal(371, r.GetProperty("attack").GetInt32());

        // The STIDE reference on this subset: AUC 0.815, FPR 0.33 at 90 % detection (datasets/adfa-ld/README.md).
        Assert.True(r.GetProperty("auc").GetDouble() > 0.815, r.ToString());
        Assert.True(r.GetProperty("fpr_at_90_dr").GetDouble() < 0.33, r.ToString());
        var c = r.GetProperty("confusion");
        Assert.Equal(1830, c.GetProperty("fp").GetInt32() + c.GetProperty("tn").GetInt32());
        Assert.Equal(371, c.GetProperty("tp").GetInt32() + c.GetProperty("fn").GetInt32());

        // Per family at the same threshold: the three families of the subset, adding up to the confusion's detections.
        var families = r.GetProperty("detected_by_family").EnumerateObject().ToDictionary(f => f.Name, f => f.Value.GetString()!.Split('/').Select(int.Parse).ToArray());
        Assert.Equal(["Adduser", "Hydra_FTP", "Web_Shell"], families.Keys.Order());
        Assert.Equal(c.GetProperty("tp").GetInt32(), families.Values.Sum(f => f[0]));
        Assert.Equal(371, families.Values.Sum(f => f[1]));
    }
}
