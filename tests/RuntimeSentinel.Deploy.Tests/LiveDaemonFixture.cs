using System.Text.RegularExpressions;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Deploy.Tests;

/// <summary>
/// One real daemon (`sentinel demo`) shared by the tests that need a live /metrics: started once, run until its
/// attacks and malformed messages have produced every kind of series, killed at the end.
/// </summary>
public sealed partial class LiveDaemonFixture : IAsyncLifetime
{
    private SentinelProcess? _process;

    public string Address { get; private set; } = "";

    public HttpClient Http { get; private set; } = new();

    public async Task InitializeAsync()
    {
        var env = new Dictionary<string, string> { ["SENTINEL_Detection__MetricsInterval"] = "00:00:02" };
        _process = new SentinelProcess(env, "demo", "--duration", "240", "--learning", "4", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
        Address = await _process.AddressAsync(TimeSpan.FromSeconds(60));
        Http = new HttpClient { BaseAddress = new Uri(Address) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var text = await ScrapeAsync();
            if (Exposition.Sum(text, "sentinel_alerts_total") >= 5 && Exposition.Sum(text, "sentinel_dead_lettered_total") >= 1 && text.Contains("sentinel_workload_events_total{", StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the demo daemon did not produce alerts, dead letters and workload series in time:\n" + _process.Stderr);
            }

            await Task.Delay(500);
        }
    }

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
