using System.Text.Json;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// A recording gives the same incidents whichever command reads it: <c>evaluate stream</c> (in process) and
/// <c>replay</c> (through the embedded Kafka, a consumer group and the daemon's host), converted to native events or
/// published raw. Both are deterministic, so the comparison is exact: every emission, in order. The cluster shape's
/// recordings are larger than the embedded cluster's 5 MiB per partition, so they also check that a replay never outruns
/// its consumer (it used to, and lost the records the cluster dropped).
/// </summary>
public class RecordingAgreementTests
{
    [Theory]
    [InlineData("shop", 7)]
    [InlineData("shop", 11)]
    [InlineData("shop", 23)]
    [InlineData("cluster", 1)]
    [InlineData("cluster", 2)]
    [InlineData("cluster", 3)]
    [InlineData("cluster", 7)]
    public async Task ReplayAndEvaluateStream_SameCorpus_RaiseTheSameIncidents(string shape, int seed)
    {
        using var temp = new TempFolder("sentinel-agree-");
        await RunAsync("corpus", "--shape", shape, "--out", temp.Path, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string[] files = [Path.Combine(temp.Path, "tetragon.jsonl"), Path.Combine(temp.Path, "hubble.jsonl"), Path.Combine(temp.Path, "falco.jsonl")];
        var labels = Path.Combine(temp.Path, "labels.json");

        var evaluated = Path.Combine(temp.Path, "evaluated.jsonl");
        var evaluateReport = Report(await RunAsync(["evaluate", "stream", .. files, "--labels", labels, "--json", "--incidents", evaluated]));
        var replayed = Path.Combine(temp.Path, "replayed.jsonl");
        var replayReport = Report(await RunAsync(["replay", .. files, "--labels", labels, "--json", "--incidents", replayed, "--listen", "127.0.0.1:0"]));
        var raw = Path.Combine(temp.Path, "raw.jsonl");
        var rawReport = Report(await RunAsync(["replay", .. files, "--raw", "--labels", labels, "--json", "--incidents", raw, "--listen", "127.0.0.1:0"]));

        var expected = Emissions(evaluated);
        Assert.True(expected.Count > 10, $"{expected.Count} emissions");
        Assert.Equal(expected, Emissions(replayed));
        Assert.Equal(expected, Emissions(raw));
        Assert.Equal(evaluateReport, replayReport);
        Assert.Equal(evaluateReport, rawReport);
    }

    /// <summary>What an analyst saw, in order: when, what, where, which emission, how many alerts, the headline.</summary>
    private static List<string> Emissions(string file) =>
        File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(i => $"{i.GetProperty("first_seen").GetString()} {i.GetProperty("category").GetString()} {i.GetProperty("workload").GetProperty("key").GetString()} v{i.GetProperty("version").GetInt32()} n{i.GetProperty("count").GetInt64()} {i.GetProperty("severity").GetString()} {i.GetProperty("summary").GetString()}")
            .ToList();

    /// <summary>The judged report without its wall-clock duration.</summary>
    private static string Report(string stdout)
    {
        var root = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        return JsonSerializer.Serialize(root.EnumerateObject().Where(p => p.Name != "seconds").ToDictionary(p => p.Name, p => p.Value));
    }

    private static async Task<string> RunAsync(params string[] args)
    {
        using var p = new SentinelProcess(args);
        await p.AssertExitsWithAsync(0, TimeSpan.FromMinutes(5));
        return p.Stdout;
    }
}
