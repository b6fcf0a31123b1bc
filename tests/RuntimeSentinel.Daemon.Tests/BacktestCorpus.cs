using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// The corpus (seed 7) and two versions of each workload's model trained on two parts of it, as a data scientist
/// would make a candidate: v1 on the learning half hour (promoted), v2 on the hour before the attacks (learning and the
/// benign churn after it). Made once for the tests that backtest and report on it.
/// </summary>
public sealed class BacktestCorpus : IAsyncLifetime
{
    public const string Api = "local/shop/Deployment/api/api";

    private readonly TempFolder _temp = new("backtest-corpus-");

    public string Dir => _temp["corpus"];

    public string Models => _temp["models"];

    public string Labels => Path.Combine(Dir, "labels.json");

    public string[] Files => new[] { "tetragon.jsonl", "hubble.jsonl", "falco.jsonl" }.Select(f => Path.Combine(Dir, f)).ToArray();

    public string Temp(string name) => _temp[name];

    public async Task InitializeAsync()
    {
        await SentinelAsync("corpus", "--out", Dir, "--seed", "7");
        using var labels = JsonDocument.Parse(await File.ReadAllTextAsync(Labels));
        var learningEnds = DateTimeOffset.Parse(labels.RootElement.GetProperty("learning_ends").GetString()!, CultureInfo.InvariantCulture);
        var attacksStart = DateTimeOffset.Parse(labels.RootElement.GetProperty("attacks_start").GetString()!, CultureInfo.InvariantCulture);
        var first = await SplitAsync("part1", learningEnds);
        var second = await SplitAsync("part2", attacksStart);
        await SentinelAsync(["train", .. first, "--models", Models, "--promote"]);
        await SentinelAsync(["train", .. second, "--models", Models]);
    }

    public Task DisposeAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var p = new SentinelProcess(args);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(240));
        return (code, p.Stdout, p.Stderr);
    }

    public static async Task<string> SentinelAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 0, $"sentinel {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }

    /// <summary>Each sensor file's records stamped before <paramref name="until"/> (Hubble dates a record in its flow).</summary>
    private async Task<string[]> SplitAsync(string name, DateTimeOffset until)
    {
        var result = new List<string>();
        foreach (var file in Files)
        {
            var part = _temp[$"{name}-{Path.GetFileName(file)}"];
            await using var writer = new StreamWriter(part);
            foreach (var line in File.ReadLines(file))
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var time = root.TryGetProperty("time", out var t) ? t : root.GetProperty("flow").GetProperty("time");
                if (DateTimeOffset.Parse(time.GetString()!, CultureInfo.InvariantCulture) < until)
                {
                    await writer.WriteLineAsync(line);
                }
            }

            result.Add(part);
        }

        return [.. result];
    }
}

[CollectionDefinition(Name)]
public sealed class BacktestCorpusCollection : ICollectionFixture<BacktestCorpus>
{
    public const string Name = "backtest corpus";
}
