using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Deploy.Tests;

/// <summary>Incidents delivered to a real Alertmanager, and to a webhook that goes away mid-stream.</summary>
public class AlertDeliveryTests(ITestOutputHelper output)
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static List<JsonElement> Incidents(string file) =>
        File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).GroupBy(i => i.GetProperty("id").GetString()).Select(g => g.Last()).ToList();

    [SkippableFact]
    public async Task Demo_WithAlertmanagerSink_EveryIncidentIsReadableInAlertmanager()
    {
        var alertmanager = Tools.Require("prometheus-alertmanager", "apt-get install prometheus-alertmanager");
        var dir = Directory.CreateTempSubdirectory("sentinel-am-");
        var port = FreePort();
        var config = Path.Combine(dir.FullName, "alertmanager.yml");
        await File.WriteAllTextAsync(config, """
            route:
              receiver: sink
              group_by: [incident]
            receivers:
              - name: sink
            """);
        var psi = new System.Diagnostics.ProcessStartInfo(alertmanager) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--config.file=" + config, "--storage.path=" + Path.Combine(dir.FullName, "data"), $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=" })
        {
            psi.ArgumentList.Add(a);
        }

        using var am = System.Diagnostics.Process.Start(psi)!;
        am.BeginErrorReadLine();
        am.BeginOutputReadLine();
        var alertsFile = Path.Combine(dir.FullName, "alerts.jsonl");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await KafkaTestKit.EventuallyAsync(() => { try { return http.GetAsync("/-/ready").Result.IsSuccessStatusCode; } catch (AggregateException) { return false; } }, TimeSpan.FromSeconds(30), "Alertmanager ready");
            var env = new Dictionary<string, string>
            {
                ["SENTINEL_Alerting__Alertmanager__Url"] = $"http://127.0.0.1:{port}",
                ["SENTINEL_Alerting__RunbookUrlTemplate"] = "https://runbooks.example/sentinel/{category}",
                ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(dir.FullName, "spill"),
            };
            using var sentinel = new SentinelProcess(env, "demo", "--duration", "45", "--learning", "5", "--listen", "127.0.0.1:0", "--alerts-file", alertsFile);
            Assert.Equal(0, await sentinel.WaitForExitAsync(TimeSpan.FromSeconds(120)));

            var incidents = Incidents(alertsFile).Where(i => i.GetProperty("kind").GetString() == "detection").ToList();
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/api/v2/alerts"));
            var inAm = doc.RootElement.EnumerateArray().ToList();
            Assert.True(incidents.Count >= 5, $"{incidents.Count} incidents");
            Assert.Equal(incidents.Select(i => i.GetProperty("id").GetString()).Order(), inAm.Select(a => a.GetProperty("labels").GetProperty("incident").GetString()).Order());
            foreach (var a in inAm)
            {
                var labels = a.GetProperty("labels");
                Assert.StartsWith("RuntimeSentinel", labels.GetProperty("alertname").GetString(), StringComparison.Ordinal);
                Assert.Equal("demo", labels.GetProperty("cluster").GetString());
                Assert.StartsWith("https://runbooks.example/sentinel/", a.GetProperty("annotations").GetProperty("runbook_url").GetString(), StringComparison.Ordinal);
                Assert.False(string.IsNullOrEmpty(a.GetProperty("annotations").GetProperty("summary").GetString()));
            }

            Assert.Contains(inAm, a => a.GetProperty("labels").TryGetProperty("mitre_technique", out var t) && t.GetString() == "T1496");
            Assert.Contains(inAm, a => a.GetProperty("labels").TryGetProperty("mitre_technique", out var t) && t.GetString() == "T1003.008");
        }
        finally
        {
            am.Kill(entireProcessTree: true);
            await am.WaitForExitAsync();
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Demo_WebhookReceiverDownMidStream_EveryIncidentArrivesOnceItReturns()
    {
        var dir = Directory.CreateTempSubdirectory("sentinel-hook-");
        var port = FreePort();
        const string secret = "s3cret";
        var received = new List<JsonElement>();

        // Requests are handled one at a time; the "kill" happens between two of them, like a crash between
        // requests. (Killing an HttpListener inside a request can make it answer for a request it never handed over.)
        var gate = new SemaphoreSlim(1, 1);
        var badSignatures = 0;
        var alertsFile = Path.Combine(dir.FullName, "alerts.jsonl");
        var env = new Dictionary<string, string>
        {
            ["SENTINEL_Alerting__Webhook__Url"] = $"http://127.0.0.1:{port}/hook/",
            ["SENTINEL_Alerting__Webhook__Secret"] = secret,
            ["SENTINEL_Alerting__MaxBackoff"] = "00:00:02",
            ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(dir.FullName, "spill"),
        };

        HttpListener Listen()
        {
            var l = new HttpListener();
            l.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
            l.Start();
            _ = Task.Run(async () =>
            {
                while (l.IsListening)
                {
                    HttpListenerContext ctx;
                    try
                    {
                        ctx = await l.GetContextAsync();
                    }
                    catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                    {
                        return;
                    }

                    await gate.WaitAsync();
                    try
                    {
                        if (!l.IsListening)
                        {
                            ctx.Response.Abort();
                            return;
                        }

                        using var ms = new MemoryStream();
                        await ctx.Request.InputStream.CopyToAsync(ms);
                        var body = ms.ToArray();
                        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
                        lock (received)
                        {
                            if (ctx.Request.Headers["X-Sentinel-Signature"] != expected)
                            {
                                badSignatures++;
                            }

                            received.AddRange(JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone()));
                        }

                        ctx.Response.StatusCode = 200;
                        ctx.Response.Close();
                    }
                    finally
                    {
                        gate.Release();
                    }
                }
            });
            return l;
        }

        var listener = Listen();
        using var sentinel = new SentinelProcess(env, "demo", "--duration", "55", "--learning", "5", "--listen", "127.0.0.1:0", "--alerts-file", alertsFile);

        // Take the receiver away as soon as the first incident is written, for longer than the retries last.
        await KafkaTestKit.EventuallyAsync(() => File.Exists(alertsFile) && new FileInfo(alertsFile).Length > 0, TimeSpan.FromSeconds(60), "first incident");
        await gate.WaitAsync();
        listener.Stop();
        listener.Close();
        gate.Release();

        // While "dead", keep the port: accept and drop every connection, as a crashed receiver behind a load
        // balancer would; no other test's server can take the port over meanwhile.
        var blackHole = new TcpListener(IPAddress.Loopback, port);
        blackHole.Start();
        using var outage = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                using var client = await blackHole.AcceptTcpClientAsync(outage.Token);
                client.Client.LingerState = new LingerOption(true, 0);
                client.Close();
            }
        }
        catch (OperationCanceledException)
        {
        }

        blackHole.Stop();
        int receivedDuringOutage;
        lock (received)
        {
            receivedDuringOutage = received.Count;
        }

        listener = Listen();
        Assert.Equal(0, await sentinel.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        listener.Stop();

        var written = Incidents(alertsFile);
        List<string?> ids;
        lock (received)
        {
            ids = received.Select(r => r.GetProperty("id").GetString()).Distinct().ToList();
        }

        Assert.True(written.Count >= 5, $"{written.Count} incidents written");
        Assert.True(written.Count > receivedDuringOutage, "incidents were raised during the outage");
        output.WriteLine(string.Join("\n", sentinel.Stderr.Split('\n').Where(l => l.Contains("webhook", StringComparison.OrdinalIgnoreCase))));
        Assert.Equal(written.Select(i => i.GetProperty("id").GetString()).Order(), ids.Order()); // zero lost
        Assert.Equal(0, badSignatures);
        Assert.Contains("Sink webhook: delivery of", sentinel.Stderr, StringComparison.Ordinal); // the outage was real
        Assert.Contains("Sink webhook recovered", sentinel.Stderr, StringComparison.Ordinal);
        output.WriteLine($"incidents written: {written.Count}; received before the outage ended: {receivedDuringOutage}; received in total: {ids.Count} distinct ({received.Count} deliveries)");
        dir.Delete(recursive: true);
    }
}
