using System.Text;
using Confluent.Kafka;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// <c>sentinel run</c> is what runs on every node: it loads the pipeline and nothing of the corpus and demo generators
/// or the research code, though the same executable carries them for its other verbs. .NET loads an assembly when a
/// type of it is first used, so a static field, a registration or eager CLI set-up that touches one of their types
/// would load it; the process's memory map shows whether it happened.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class RunAssemblyTests : IDisposable
{
    private readonly MockKafkaCluster _cluster = new();

    public RunAssemblyTests()
    {
        KafkaTestKit.CreateSentinelTopics(_cluster, 1, 1);
    }

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task Run_AfterLearningAndAlerting_MapsDetectionButNeitherGeneratorsNorLab()
    {
        using var sentinel = new SentinelProcess(
            new Dictionary<string, string>
            {
                ["SENTINEL_Kafka__SessionTimeoutMs"] = "3000",
                ["SENTINEL_Kafka__HeartbeatIntervalMs"] = "300",
                ["SENTINEL_Detection__LearningDuration"] = "00:00:00",
                ["SENTINEL_Detection__MinLearningEvents"] = "20",
                ["SENTINEL_Detection__MetricsInterval"] = "00:00:01",
                ["SENTINEL_Alerting__IncidentGroupWait"] = "00:00:00.200",
                ["SENTINEL_Alerting__Console"] = "false",
                ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(Path.GetTempPath(), "sentinel-assemblies-" + Guid.NewGuid().ToString("N")),
            },
            "run", "--bootstrap-servers", _cluster.BootstrapServers, "--group", "assemblies", "--listen", "127.0.0.1:0", "--admin-listen", "");
        using var http = new HttpClient { BaseAddress = new Uri(await sentinel.AddressAsync(KafkaTestKit.Patience)), Timeout = TimeSpan.FromSeconds(10) };

        // The whole run path, not only start-up: events consumed, a workload learned, then an alert on a new program.
        var workload = Some.Workload(owner: "svc0", pod: "svc0-7d9f8b6c5b-x2k4p");
        using var producer = KafkaTestKit.Producer(_cluster);
        for (var i = 0; i < 30; i++)
        {
            producer.Produce("sentinel.events", Event(Some.Exec("/usr/bin/node", "/usr/bin/tini", workload)));
        }

        KafkaTestKit.Flush(producer);
        await UntilAsync(http, m => Exposition.Sum(m, "sentinel_workloads", "active") + Exposition.Sum(m, "sentinel_workloads", "shadow") == 1, "the workload learned", "sentinel_workloads");
        producer.Produce("sentinel.events", Event(Some.Exec("/usr/bin/nc", "/bin/sh", workload)));
        KafkaTestKit.Flush(producer);
        await UntilAsync(http, m => Exposition.Sum(m, "sentinel_alerts_total") >= 1, "an alert on the new program", "sentinel_alerts_total");

        var mapped = MappedFiles(sentinel.Id);
        Assert.Contains("RuntimeSentinel.Detection.dll", mapped);
        Assert.DoesNotContain("RuntimeSentinel.Generators.dll", mapped);
        Assert.DoesNotContain("RuntimeSentinel.Lab.dll", mapped);
    }

    private static Message<byte[]?, byte[]> Event(Core.Events.RuntimeEvent e) => new() { Key = Encoding.UTF8.GetBytes("svc0"), Value = Some.Json(e) };

    /// <summary>The file names of every file mapped into the process (the last column of /proc/&lt;pid&gt;/maps).</summary>
    private static HashSet<string> MappedFiles(int pid) =>
        File.ReadLines($"/proc/{pid}/maps")
            .Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 6 && f[5].StartsWith('/'))
            .Select(f => Path.GetFileName(f[5].Trim()))
            .ToHashSet(StringComparer.Ordinal);

    private static Task<string> UntilAsync(HttpClient http, Func<string, bool> done, string what, string shown) =>
        KafkaTestKit.EventuallyAsync(
            async ct =>
            {
                try
                {
                    return await http.GetStringAsync("/metrics", ct);
                }
                catch (HttpRequestException)
                {
                    return "";
                }
            },
            done,
            KafkaTestKit.Patience,
            what,
            m => $"{shown}={Exposition.Sum(m, shown)}");
}
