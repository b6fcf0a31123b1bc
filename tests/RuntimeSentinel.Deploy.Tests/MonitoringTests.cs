using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Deploy.Tests;

[Collection(LiveDaemonCollection.Name)]
public class MonitoringTests(LiveDaemonFixture daemon)
{
    private static string Repo(string relative) => Path.Combine(Datasets.RepoRoot, relative);

    [SkippableFact]
    public async Task PromtoolCheckMetrics_LiveScrape_ReportsNothing()
    {
        var promtool = Tools.Require("promtool", "apt-get install prometheus");
        var exposition = await daemon.ScrapeAsync();
        var (code, stdout, stderr) = await Tools.RunAsync(promtool, ["check", "metrics"], exposition);
        Assert.True(code == 0 && stdout.Trim().Length == 0 && stderr.Trim().Length == 0, $"promtool check metrics: exit {code}\n{stdout}\n{stderr}");
    }

    [SkippableFact]
    public async Task PromtoolCheckMetrics_BadExposition_IsReported()
    {
        // The check above can fail: promtool does flag convention breaks.
        var promtool = Tools.Require("promtool", "apt-get install prometheus");
        var (code, stdout, stderr) = await Tools.RunAsync(promtool, ["check", "metrics"], "# HELP sentinel_x_count a gauge\n# TYPE sentinel_x_count gauge\nsentinel_x_count 1\n");
        Assert.NotEqual(0, code);
        Assert.Contains("_count", stdout + stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task PromtoolRules_CheckAndUnitTests_Pass()
    {
        var promtool = Tools.Require("promtool", "apt-get install prometheus");
        var dir = Repo("deploy/prometheus");
        var check = await Tools.RunAsync(promtool, ["check", "rules", "runtime-sentinel-rules.yml"], workingDirectory: dir);
        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
        var test = await Tools.RunAsync(promtool, ["test", "rules", "runtime-sentinel-rules.test.yml"], workingDirectory: dir);
        Assert.True(test.ExitCode == 0, test.Stdout + test.Stderr);
    }

    [Fact]
    public async Task Rules_EveryExpression_NamesAMetricWeExport()
    {
        var families = LiveDaemonFixture.Families(await daemon.ScrapeAsync());
        var exprs = File.ReadAllLines(Repo("deploy/prometheus/runtime-sentinel-rules.yml")).Where(l => l.TrimStart().StartsWith("expr:", StringComparison.Ordinal)).ToList();
        Assert.True(exprs.Count >= 10);
        foreach (var name in exprs.SelectMany(LiveDaemonFixture.MetricsIn).Distinct())
        {
            Assert.True(families.Contains(name), $"rule uses {name}, which /metrics does not export");
        }
    }

    [Fact]
    public async Task Dashboard_EveryQuery_NamesAMetricWeExport()
    {
        var families = LiveDaemonFixture.Families(await daemon.ScrapeAsync());
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(Repo("deploy/grafana/runtime-sentinel-dashboard.json")));
        var root = doc.RootElement;
        var exprs = root.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .Concat(root.GetProperty("templating").GetProperty("list").EnumerateArray()
                .Where(v => v.GetProperty("type").GetString() == "query")
                .Select(v => v.GetProperty("definition").GetString()!))
            .ToList();
        Assert.True(exprs.Count >= 30, $"{exprs.Count} queries");
        var variables = root.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Superset(new HashSet<string?> { "cluster", "namespace", "node" }, variables.ToHashSet());
        foreach (var expr in exprs)
        {
            var names = LiveDaemonFixture.MetricsIn(expr).ToList();
            Assert.True(names.Count > 0, $"query names no metric: {expr}");
            foreach (var name in names)
            {
                Assert.True(families.Contains(name), $"dashboard query uses {name}, which /metrics does not export: {expr}");
            }
        }
    }

    [SkippableFact]
    public async Task Prometheus_ScrapesTheDaemon_SeriesAreQueryable()
    {
        var prometheus = Tools.Require("prometheus", "apt-get install prometheus");
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("sentinel-prometheus-");
        var target = new Uri(daemon.Address).Authority;
        var config = Path.Combine(dir.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {Repo("deploy/prometheus/runtime-sentinel-rules.yml")}
            scrape_configs:
              - job_name: runtime-sentinel
                static_configs:
                  - targets: ["{target}"]
            """);
        var psi = new System.Diagnostics.ProcessStartInfo(prometheus)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(dir.FullName, "data"), $"--web.listen-address=127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            async Task<double?> Query(string q)
            {
                try
                {
                    using var r = JsonDocument.Parse(await http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(q)));
                    var result = r.RootElement.GetProperty("data").GetProperty("result");
                    return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (HttpRequestException)
                {
                    return null; // not up yet
                }
            }

            await KafkaTestKit.EventuallyAsync(() => Query("sum(sentinel_events_consumed_total)").Result > 0, TimeSpan.FromSeconds(60), "Prometheus has scraped sentinel_events_consumed_total");
            Assert.Equal(1, await Query("up{job=\"runtime-sentinel\"}"));
            Assert.True(await Query("sum(sentinel_alerts_total)") >= 7);
            Assert.Equal(1, await Query("sentinel_ready"));
            Assert.True(await Query("count(sentinel_workload_events_total)") >= 3);
            Assert.True(await Query("sentinel_model_memory_budget_bytes") > 0);
            Assert.True(await Query("sentinel_model_memory_bytes") < await Query("sentinel_model_memory_budget_bytes"));

            // The rules loaded and evaluate against real series (the daemon is healthy, so nothing fires).
            using var rules = JsonDocument.Parse(await http.GetStringAsync("/api/v1/rules"));
            var loaded = rules.RootElement.GetProperty("data").GetProperty("groups")[0].GetProperty("rules").GetArrayLength();
            var written = File.ReadAllLines(Repo("deploy/prometheus/runtime-sentinel-rules.yml")).Count(l => l.TrimStart().StartsWith("- alert:", StringComparison.Ordinal));
            Assert.True(written >= 13, $"{written} rules in the file");
            Assert.Equal(written, loaded);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            dir.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
