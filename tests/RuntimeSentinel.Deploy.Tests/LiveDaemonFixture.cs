using System.Text.RegularExpressions;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Deploy.Tests;

/// <summary>
/// One real daemon (`sentinel demo`) shared by the tests that need a live /metrics: started once, run until its
/// scenario (attacks, churn, malformed messages) is complete and every kind of series is exposed, killed at the end.
/// </summary>
public sealed partial class LiveDaemonFixture : IAsyncLifetime
{
    private SentinelProcess? _process;

    public string Address { get; private set; } = "";

    public HttpClient Http { get; private set; } = new();

    public async Task InitializeAsync()
    {
        // No --duration: the daemon runs until the tests are done with it. The demo plays its scenario on its own clock
        // and says when detection has processed all of it; then only the metrics refresh (every 2 s) is awaited.
        var env = new Dictionary<string, string> { ["SENTINEL_Detection__MetricsInterval"] = "00:00:02" };
        _process = new SentinelProcess(env, "demo", "--learning", "20", "--speed", "10", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
        Address = await _process.AddressAsync(Ceiling);
        Http = new HttpClient { BaseAddress = new Uri(Address) };
        await _process.LogLineAsync("Demo scenario complete", TimeSpan.FromMinutes(5));
        var since = DateTime.UtcNow;
        while (true)
        {
            var text = await ScrapeAsync();
            if (Exposition.Sum(text, "sentinel_alerts_total") >= 7 && Exposition.Sum(text, "sentinel_dead_lettered_total") >= 1 && text.Contains("sentinel_workload_events_total{", StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow - since > Ceiling)
            {
                throw new TimeoutException($"the demo's scenario was complete, but within {Ceiling.TotalSeconds} s /metrics still lacked alerts, dead letters or workload series:\n" + text + "\n" + _process.Stderr);
            }

            await Task.Delay(250); // polls a signal (the next metrics refresh), with a ceiling
        }
    }

    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(120);

    public Task DisposeAsync()
    {
        _process?.Dispose();
        Http.Dispose();
        return Task.CompletedTask;
    }

    public Task<string> ScrapeAsync() => Http.GetStringAsync("/metrics");

    /// <summary>Metric family names in an exposition (from # TYPE lines).</summary>
    public static HashSet<string> Families(string exposition) =>
        exposition.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet(StringComparer.Ordinal);

    /// <summary>Metric names a PromQL expression refers to (histogram suffixes folded onto their family).</summary>
    public static IEnumerable<string> MetricsIn(string promql) =>
        MetricName().Matches(promql).Select(m => m.Value)
            .Select(n => n.EndsWith("_bucket", StringComparison.Ordinal) ? n[..^7] : n)
            .Select(n => n.EndsWith("_seconds_sum", StringComparison.Ordinal) || n.EndsWith("_seconds_count", StringComparison.Ordinal) ? n[..n.LastIndexOf('_')] : n);

    [GeneratedRegex(@"\b(sentinel|process|dotnet)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}

[CollectionDefinition(Name)]
public sealed class LiveDaemonCollection : ICollectionFixture<LiveDaemonFixture>
{
    public const string Name = "live daemon";
}
